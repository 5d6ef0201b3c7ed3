import type { Consumer, ConsumerConfig, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs'
import type { Log } from '../../log.js'
import { COMMIT_INTERVAL_MS, CONSUMER_AUTHORIZATION_ERRORS, CONSUMER_DEFAULTS, consumerNotAuthorized, type CommitOffset, type ConsumedBatch, type ConsumedRecord, type GroupConsumer, type GroupConsumerOptions, type GroupMembers } from '../transport.js'
import { brokerErrorType } from './produce-errors.js'
import { memberInstanceId, replyAssigner } from './assigner.js'
import { CONSUMER_METADATA_MAX_AGE, CONSUMER_RETRY } from './client.js'

/**
 * The kafkajs consumer config of every group member the plugin and the responder make: quick
 * retries for about a minute (CONSUMER_RETRY), fresh metadata, the project's assignment when the
 * member announces an instance id, then the user's settings.
 */
export function consumerConfig (options: GroupConsumerOptions): ConsumerConfig {
  return {
    groupId: options.groupId,
    ...(options.instanceId === undefined ? {} : { partitionAssigners: [replyAssigner(options.instanceId)] }),
    retry: CONSUMER_RETRY,
    metadataMaxAge: CONSUMER_METADATA_MAX_AGE,
    ...CONSUMER_DEFAULTS,
    ...options.settings
  }
}

/** A kafkajs consumer in its group, as the transport's GroupConsumer. */
export class KafkajsGroupConsumer implements GroupConsumer {
  readonly #consumer: Consumer
  readonly #options: GroupConsumerOptions
  readonly #log: Log
  readonly #joined: Promise<void>
  readonly #lookups = new Set<Promise<unknown>>()
  #onJoin: Array<() => void> = []
  #healthy = false
  #assignment: Record<string, number[]> = {}
  #closed = false

  constructor (kafka: Kafka, options: GroupConsumerOptions, log: Log) {
    this.#options = options
    this.#log = log
    const consumer = this.#consumer = kafka.consumer(consumerConfig(options))
    this.#joined = new Promise((resolve, reject) => {
      // A consumer refused by an ACL would crash and restart until readyTimeout: fail its start now.
      consumer.on(consumer.events.CRASH, (event) => {
        const { error } = event.payload
        const code = brokerErrorType(error)
        if (code !== undefined && CONSUMER_AUTHORIZATION_ERRORS.has(code)) reject(consumerNotAuthorized(code, options.groupId, options.topics))
        // kafkajs reports FindCoordinator's GROUP_AUTHORIZATION_FAILED as this, the broker's code lost.
        else if (error.name === 'KafkaJSGroupCoordinatorNotFound') reject(consumerNotAuthorized('GROUP_AUTHORIZATION_FAILED', options.groupId, options.topics, 'kafkajs found no coordinator for it, as it reports GROUP_AUTHORIZATION_FAILED'))
      })
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        resolve()
        this.#healthy = true
        this.#assignment = event.payload.memberAssignment
        this.#log.debug({ groupId: options.groupId, assignment: event.payload.memberAssignment }, 'consumer joined its group')
        for (const listener of this.#onJoin) listener()
      })
    })
    // Awaited by start(); a refusal before that is not an unhandled rejection.
    this.#joined.catch(() => {})
    consumer.on(consumer.events.STOP, () => {
      this.#healthy = false
      this.#assignment = {}
    })
    consumer.on(consumer.events.CRASH, (event) => {
      this.#healthy = false
      this.#log.error({ err: event.payload.error, restart: event.payload.restart, groupId: options.groupId }, 'consumer crashed')
    })
  }

  get healthy (): boolean {
    return this.#healthy
  }

  partitions (topic: string): readonly number[] {
    return this.#assignment[topic] ?? []
  }

  onJoin (listener: () => void): void {
    this.#onJoin.push(listener)
  }

  async start (onBatch: (batch: ConsumedBatch) => Promise<void>): Promise<void> {
    const { topics, fromBeginning, commits } = this.#options
    await this.#consumer.connect()
    await this.#consumer.subscribe({ topics, fromBeginning })
    await this.#consumer.run({
      // kafkajs's auto-commit sends an OffsetCommit after every batch, and the next fetch waits for
      // it. With `handled`, what was handled is committed at most every COMMIT_INTERVAL_MS, which
      // keeps that round trip off the reply path; `manual` leaves commits to the owner.
      autoCommit: false,
      autoCommitInterval: COMMIT_INTERVAL_MS,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        const { batch, resolveOffset, commitOffsetsIfNecessary, isRunning, isStale } = payload
        if (batch.messages.length === 0) return
        if (commits === 'handled' && (!isRunning() || isStale())) return
        await onBatch(consumedBatch(payload))
        if (commits === 'manual') return
        resolveOffset(batch.lastOffset())
        await commitOffsetsIfNecessary()
      }
    })
    await this.#joined
  }

  async members (): Promise<GroupMembers> {
    // A lookup after close would open a new broker connection that nothing closes.
    if (this.#closed) throw new Error('the consumer is closed')
    const lookup = this.#consumer.describeGroup()
    this.#lookups.add(lookup)
    const group = await lookup.finally(() => this.#lookups.delete(lookup))
    const instanceIds = group.members.map(m => memberInstanceId(m.memberMetadata)).filter(id => id !== undefined)
    return { stable: group.state === 'Stable', instanceIds }
  }

  async commit (offsets: CommitOffset[]): Promise<void> {
    if (offsets.length > 0) await this.#consumer.commitOffsets(offsets)
  }

  async stop (): Promise<void> {
    await this.#consumer.stop()
  }

  async close (): Promise<void> {
    this.#closed = true
    await Promise.allSettled(this.#lookups)
    await this.#consumer.disconnect()
  }
}

function consumedBatch ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): ConsumedBatch {
  return {
    topic: batch.topic,
    partition: batch.partition,
    records: batch.messages.map(consumedRecord),
    lastOffset: batch.lastOffset(),
    stillOwned: () => isRunning() && !isStale(),
    taken: resolveOffset,
    heartbeat
  }
}

function consumedRecord (message: KafkaMessage): ConsumedRecord {
  return { offset: message.offset, timestamp: message.timestamp, key: message.key ?? null, value: message.value, headers: message.headers ?? {} }
}
