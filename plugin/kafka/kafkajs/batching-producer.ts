import { Partitioners, type ICustomPartitioner, type Kafka, type Message, type Producer, type RecordMetadata, type TopicMessages } from 'kafkajs'
import { PRODUCER_RETRY } from './client.js'
import { failureScope, recordSize } from './produce-errors.js'
import type { SendScope } from '../transport.js'

interface Queued {
  topic: string
  message: Message
  scope: SendScope | undefined
  bytes: number
  resolve: () => void
  reject: (error: Error) => void
  /** Sends that came back without this record's partition (see #sendIsolated). */
  resent: number
}

/** Options of BatchingProducer.create. */
export interface BatchingOptions {
  /** Most bytes (values, keys, headers) one coalesced send carries; a single record may exceed it. */
  maxBatchBytes?: number
  /** Whether a send to a missing topic asks the broker to create it (kafkajs's allowAutoTopicCreation; default false). */
  createTopics?: boolean
}

/** Produce requests in flight at once: one waiting on a dead leader leaves the others going. */
const MAX_FLIGHTS = 4
/** How often a record left out of a send's result is sent again before its caller is told. */
const MAX_RESENDS = 3
/**
 * Retries of the producer that writes a topic's first records: a topic the broker does not know
 * after them (well under a second) fails its calls, where PRODUCER_RETRY would take 10 s.
 */
const PROBE_RETRY = { ...PRODUCER_RETRY, retries: 3 }
/** How long a topic that could not be written is not probed again: calls to it fail at once meanwhile. */
const UNWRITABLE_RECHECK_MS = 1000

/**
 * kafkajs has no linger: every send() is its own produce request. This coalesces the messages of
 * concurrent callers: what arrives in one event-loop turn, or while MAX_FLIGHTS produce requests
 * are in flight, goes out as one sendBatch().
 *
 * One caller's record must not fail the others': when a coalesced send fails for a reason that
 * belongs to some records (too large) or a topic (missing, forbidden), the batch is sent again per
 * topic, and a topic that still fails per record, so only the culprits fail. A record the broker
 * wrote before the failure may then be written twice (the consumer side is at-least-once anyway).
 * A topic is first written through the probe producer (few retries): a missing topic fails soon,
 * alone, without holding up the others' records.
 */
export class BatchingProducer {
  readonly #producer: Producer
  readonly #probe: Producer
  readonly #partitionOf: (message: Message) => number | undefined
  readonly #maxBatchBytes: number
  #queue: Queued[] = []
  #scheduled = false
  #flights = 0
  #probes = 0
  #idle: Array<() => void> = []
  /** Topics written at least once: their records go into the coalesced send. */
  readonly #known = new Set<string>()
  /** Topics being probed, with the records that arrived meanwhile. */
  readonly #probing = new Map<string, Queued[]>()
  /** Topics that could not be written just now, with why and until when that answer holds. */
  readonly #unwritable = new Map<string, { error: Error, until: number }>()

  /**
   * The plugin's and the responder's producers: acks=all (kafkajs's default), not idempotent, quick
   * retries (PRODUCER_RETRY), and `createPartitioner` made to keep each record on the partition it
   * first chose, so that the result of a send tells which records reached the broker.
   */
  static create (kafka: Kafka, createPartitioner: ICustomPartitioner = Partitioners.DefaultPartitioner, options: BatchingOptions = {}): BatchingProducer {
    const chosen = new WeakMap<Message, number>()
    const pinned: ICustomPartitioner = () => {
      const partitioner = createPartitioner()
      return args => {
        let partition = chosen.get(args.message)
        if (partition === undefined) chosen.set(args.message, partition = partitioner(args))
        return partition
      }
    }
    const allowAutoTopicCreation = options.createTopics ?? false
    const producer = kafka.producer({ retry: PRODUCER_RETRY, createPartitioner: pinned, allowAutoTopicCreation })
    const probe = kafka.producer({ retry: PROBE_RETRY, createPartitioner: pinned, allowAutoTopicCreation })
    return new BatchingProducer(producer, message => chosen.get(message) ?? message.partition, probe, options)
  }

  /** `partitionOf` tells where a record went; without it only records with a partition are checked. */
  constructor (producer: Producer, partitionOf: (message: Message) => number | undefined = message => message.partition, probe: Producer = producer, options: BatchingOptions = {}) {
    this.#producer = producer
    this.#probe = probe
    this.#partitionOf = partitionOf
    this.#maxBatchBytes = options.maxBatchBytes ?? 1_000_000
  }

  get producer (): Producer {
    return this.#producer
  }

  /** Connects the producer (and the probe producer). */
  async connect (): Promise<void> {
    await Promise.all([this.#producer.connect(), this.#probe === this.#producer ? undefined : this.#probe.connect()])
  }

  /** Disconnects the producer (and the probe producer). */
  async disconnect (): Promise<void> {
    await Promise.all([this.#producer.disconnect(), this.#probe === this.#producer ? undefined : this.#probe.disconnect()])
  }

  /**
   * Resolves once nothing is queued or in flight. Wait for it before disconnecting: kafkajs retries
   * a failed send after a pause, and a retry after disconnect() opens a new connection that
   * nothing closes.
   */
  idle (): Promise<void> {
    if (this.#isIdle()) return Promise.resolve()
    return new Promise(resolve => this.#idle.push(resolve))
  }

  /**
   * Resolves when the broker acknowledged the message. A message with a `scope` goes out in a
   * sendBatch() of its own, called inside that scope: for an instrumentation of kafkajs that takes
   * its parent span from the context active at sendBatch.
   */
  send (topic: string, message: Message, scope?: SendScope): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ topic, message, scope, bytes: recordSize(message), resolve, reject, resent: 0 })
      this.#schedule()
    })
  }

  #isIdle (): boolean {
    return !this.#scheduled && this.#flights === 0 && this.#probes === 0 && this.#queue.length === 0
  }

  #schedule (): void {
    if (this.#scheduled || this.#flights >= MAX_FLIGHTS) return
    this.#scheduled = true
    setImmediate(() => {
      this.#scheduled = false
      this.#flush().catch(() => {}) // errors reach each sender through its own promise
    })
  }

  async #flush (): Promise<void> {
    const batch = this.#take()
    if (batch.length === 0) return this.#settled()
    this.#flights++
    try {
      // A message with a `scope` goes out in a sendBatch() of its own, called inside that scope.
      const plain = batch.filter(item => item.scope === undefined)
      await Promise.all([
        ...batch.filter(item => item.scope !== undefined).map(item => item.scope!(() => this.#sendIsolated(this.#producer, [item]))),
        plain.length > 0 ? this.#sendIsolated(this.#producer, plain) : undefined
      ])
    } finally {
      this.#flights--
      if (this.#queue.length > 0) this.#schedule()
      else this.#settled()
    }
  }

  /** Takes the next coalesced send off the queue; records of topics not known yet go to their probe. */
  #take (): Queued[] {
    const batch: Queued[] = []
    const rest: Queued[] = []
    let bytes = 0
    const now = Date.now()
    for (const item of this.#queue) {
      const unwritable = this.#unwritable.get(item.topic)
      if (unwritable !== undefined && unwritable.until > now) {
        item.reject(unwritable.error)
      } else if (!this.#known.has(item.topic)) {
        this.#toProbe(item)
      } else if (batch.length > 0 && bytes + item.bytes > this.#maxBatchBytes) {
        rest.push(item) // the next send takes it
      } else {
        batch.push(item)
        bytes += item.bytes
      }
    }
    this.#queue = rest
    return batch
  }

  #toProbe (item: Queued): void {
    const waiting = this.#probing.get(item.topic)
    if (waiting !== undefined) {
      waiting.push(item)
      return
    }
    this.#probing.set(item.topic, [])
    this.#probes++
    // A scoped record (see send()) is probed inside its scope too: the first call to a topic is traced like the rest.
    const probe = () => this.#sendIsolated(this.#probe, [item])
    const probing = item.scope === undefined ? probe() : item.scope(probe)
    probing.finally(() => {
      this.#probes--
      const arrived = this.#probing.get(item.topic) ?? []
      this.#probing.delete(item.topic)
      // Known now, or refused for a while: either way the queue knows what to do with them.
      this.#queue.push(...arrived)
      if (this.#queue.length > 0) this.#schedule()
      else this.#settled()
    })
  }

  /**
   * Sends the records; when that fails for a reason of some records' own, sends them again per
   * topic, then per record, and fails only those that fail alone. Never rejects.
   */
  async #sendIsolated (producer: Producer, batch: Queued[]): Promise<void> {
    try {
      const sent = await producer.sendBatch({ topicMessages: byTopic(batch) })
      // kafkajs retries only the brokers that failed, and a partition that moved meanwhile to a
      // broker that had already answered is not sent at all, yet the send resolves (kafkajs#1303):
      // a record whose partition is missing from the result is sent again.
      const reached = new Set(sent.map(reachedKey))
      for (const item of batch) {
        this.#known.add(item.topic)
        const partition = this.#partitionOf(item.message)
        if (partition === undefined || reached.has(`${item.topic}\u0000${partition}`)) item.resolve()
        else if (item.resent++ < MAX_RESENDS) this.#queue.push(item)
        else item.reject(new Error(`Kafka did not take the record for ${item.topic}[${partition}] after ${MAX_RESENDS} sends`))
      }
      return
    } catch (error) {
      const cause = failureScope(error as Error)
      const topics = new Set(batch.map(item => item.topic))
      if (cause === 'topic' && topics.size === 1) {
        // Only when one topic was in the send: the error does not say which topic it was.
        const [topic] = topics
        this.#known.delete(topic)
        this.#unwritable.set(topic, { error: error as Error, until: Date.now() + UNWRITABLE_RECHECK_MS })
        for (const item of batch) item.reject(error as Error)
        return
      }
      if (batch.length === 1 || cause === 'shared') {
        for (const item of batch) item.reject(error as Error)
        return
      }
    }
    const groups = groupBy(batch, item => item.topic)
    if (groups.size > 1) {
      await Promise.all([...groups.values()].map(records => this.#sendIsolated(producer, records)))
      return
    }
    await Promise.all(batch.map(item => this.#sendIsolated(producer, [item])))
  }

  #settled (): void {
    if (this.#isIdle()) for (const resolve of this.#idle.splice(0)) resolve()
  }
}

function reachedKey (record: RecordMetadata): string {
  return `${record.topicName}\u0000${record.partition}`
}

function groupBy<T> (items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const group = groups.get(key(item))
    if (group === undefined) groups.set(key(item), [item])
    else group.push(item)
  }
  return groups
}

function byTopic (batch: Queued[]): TopicMessages[] {
  return [...groupBy(batch, item => item.topic)].map(([topic, items]) => ({ topic, messages: items.map(item => item.message) }))
}
