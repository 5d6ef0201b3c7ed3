import type { Consumer, Kafka, KafkaMessage } from 'kafkajs'
import type { ResolvedOptions } from '../options.js'
import type { Log } from '../log.js'
import { memberInstanceId, replyAssigner } from './assigner.js'
import { CONSUMER_METADATA_MAX_AGE, CONSUMER_RETRY } from './client.js'

/** How often the offsets of handed-over replies are committed, at most. */
export const COMMIT_INTERVAL_MS = 200

/** Receives each consumed batch; its offsets are committed only once the promise resolves. */
export type BatchHandler = (messages: KafkaMessage[]) => Promise<void>

type ConsumerOptions = Pick<ResolvedOptions, 'groupId' | 'replyTopic' | 'instanceId' | 'consumer'>

/**
 * This instance's member of the shared reply group. Any member may consume any reply; the
 * handler decides where each one goes.
 */
export class ReplyConsumer {
  readonly #consumer: Consumer
  readonly #topic: string
  readonly #log: Log
  #joined: Promise<void>
  #onJoin: () => void = () => {}
  #healthy = false
  #partitions: number[] = []
  #closed = false
  readonly #lookups = new Set<Promise<unknown>>()

  constructor (kafka: Kafka, options: ConsumerOptions, log: Log) {
    this.#topic = options.replyTopic
    this.#log = log
    this.#consumer = kafka.consumer({
      groupId: options.groupId,
      partitionAssigners: [replyAssigner(options.instanceId)],
      retry: CONSUMER_RETRY,
      metadataMaxAge: CONSUMER_METADATA_MAX_AGE,
      ...options.consumer
    })
    this.#joined = new Promise(resolve => {
      this.#consumer.on(this.#consumer.events.GROUP_JOIN, (event) => {
        resolve()
        this.#healthy = true
        this.#partitions = event.payload.memberAssignment[this.#topic] ?? []
        this.#log.debug({ assignment: event.payload.memberAssignment }, 'reply consumer joined its group')
        this.#onJoin()
      })
    })
    this.#consumer.on(this.#consumer.events.STOP, () => {
      this.#healthy = false
      this.#partitions = []
    })
    this.#consumer.on(this.#consumer.events.CRASH, (event) => {
      this.#healthy = false
      this.#log.error({ err: event.payload.error, restart: event.payload.restart }, 'reply consumer crashed')
    })
  }

  /** True once the member has joined its group, until it stops or crashes. */
  get healthy (): boolean {
    return this.#healthy
  }

  /** The reply partitions this member was assigned at the last rebalance. */
  get partitions (): readonly number[] {
    return this.#partitions
  }

  /** Called after every (re)join of the group, when membership may have changed. */
  onJoin (listener: () => void): void {
    this.#onJoin = listener
  }

  /** Connects, subscribes and resolves once this member has joined the group and got its partitions. */
  async start (handle: BatchHandler): Promise<void> {
    await this.#consumer.connect()
    // A group that never committed starts at the beginning, not at "latest": a reply produced before
    // a new member's first fetch is then still consumed. Old replies are past their deadline and
    // are dropped as late without touching Redis.
    await this.#consumer.subscribe({ topics: [this.#topic], fromBeginning: true })
    await this.#consumer.run({
      // kafkajs's auto-commit sends an OffsetCommit after every batch, and the next fetch waits for
      // it. Committing what was handed over at most every COMMIT_INTERVAL_MS keeps that round trip
      // off the reply path; a reply consumed again after a crash or rebalance is harmless (NX).
      autoCommit: false,
      autoCommitInterval: COMMIT_INTERVAL_MS,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return
        await handle(batch.messages)
        resolveOffset(batch.lastOffset())
        await commitOffsetsIfNecessary()
      }
    })
    await this.#joined
  }

  /** The instance ids of the group's members, as announced in their metadata. */
  async members (): Promise<{ stable: boolean, instanceIds: string[] }> {
    // A lookup after close would open a new broker connection that nothing closes.
    if (this.#closed) throw new Error('the reply consumer is closed')
    const lookup = this.#consumer.describeGroup()
    this.#lookups.add(lookup)
    const group = await lookup.finally(() => this.#lookups.delete(lookup))
    const instanceIds = group.members.map(m => memberInstanceId(m.memberMetadata)).filter(id => id !== undefined)
    return { stable: group.state === 'Stable', instanceIds }
  }

  /** Leaves the group (a prompt rebalance for the others) and disconnects. */
  async close (): Promise<void> {
    this.#closed = true
    await Promise.allSettled(this.#lookups)
    await this.#consumer.disconnect()
  }
}
