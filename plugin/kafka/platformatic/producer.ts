import { murmur2, ProduceAcks, producerSendsChannel, Producer, type MessageToProduce, type ProduceResult } from '@platformatic/kafka'
import { ProduceError, type OutgoingRecord, type ProducerOptions, type RecordProducer, type SendScope } from '../transport.js'
import type { PlatformaticKafkaOption } from '../options.js'
import { clientOptions, PROBE_RETRIES, PRODUCER_RETRIES, retryDelay } from './options.js'
import { isRetriable, isRetriableBrokerError, partitionKey, partitionOutcomes, RECORD_ERRORS, TOPIC_ERRORS, toProduceError, unknownTopic } from './produce-errors.js'

/** What the library's producer takes: string keys and header values are made Buffers by `serializers`. */
type Outgoing = MessageToProduce<string, string | Buffer, string, string | Buffer>
/** The library's producer as this folder makes it. */
export type LibraryProducer = Producer<string, string | Buffer, string, string | Buffer>

interface Queued {
  topic: string
  record: OutgoingRecord
  scope: SendScope | undefined
  bytes: number
  resolve: () => void
  reject: (error: Error) => void
  /** Failed attempts so far (see #retry). */
  attempts: number
}

/** Produce requests in flight at once: one waiting on a dead leader leaves the others going. */
const MAX_FLIGHTS = 4
/** How long a topic that could not be written is not probed again: calls to it fail at once meanwhile. */
const UNWRITABLE_RECHECK_MS = 1000
/** Kafka's (and kafkajs's) key hash: murmur2, sign bit cleared (the library's default partitioner keeps it). */
const POSITIVE = 0x7fffffff

const toBuffer = (data?: string | Buffer | null): Buffer | undefined =>
  data === undefined || data === null ? undefined : typeof data === 'string' ? Buffer.from(data) : data

/** Creates the library's producer for the plugin's option. */
export function createLibraryProducer (option: PlatformaticKafkaOption, createTopics: boolean): LibraryProducer {
  const settings = option.platformatic ?? {}
  return new Producer<string, string | Buffer, string, string | Buffer>({
    // No retries by the library (see PlatformaticProducer): it would send a broker's whole request
    // again, partitions already written included.
    ...clientOptions(option, 0),
    repeatOnStaleMetadata: false,
    // acks given here is not applied by the library (only a send's acks is): see #sendBatch.
    // A missing topic is created only when asked (the plugin's createTopics), whatever the broker allows.
    autocreateTopics: settings.autocreateTopics ?? createTopics,
    ...(settings.compression === undefined ? {} : { compression: settings.compression }),
    // Headers and keys are Buffers on the wire and in the library; the plugin's are strings or Buffers.
    serializers: { key: toBuffer, value: toBuffer, headerKey: toBuffer, headerValue: toBuffer }
  })
}

/**
 * The library's Producer.send() is one produce request per leader, sent at once: it has no linger
 * (its ProducerStream batches, but one failed record destroys the stream and every write in it).
 * So, as the kafkajs transport does, records that arrive in one event-loop turn, or while MAX_FLIGHTS
 * sends are in flight, go out in one send(), every one with acks=all.
 *
 * One record must not fail another's, nor be written twice for another's fault: a topic's first
 * records wait for a metadata lookup with few retries (a missing topic fails soon and alone);
 * partitions are chosen here, so a failed send's responses tell which records were written; the
 * library retries nothing (on a partition's error it would send the whole request to that broker
 * again, partitions already written included: measured right after a topic's creation); so
 * after a failed send the records of written partitions resolve, a too-large partition's records
 * are sent again one by one, records whose error may pass are sent again after a backoff (about
 * 10 s in all, as the kafkajs transport's retries), and only the culprits fail.
 */
export class PlatformaticProducer implements RecordProducer {
  readonly #producer: LibraryProducer
  readonly #maxBatchBytes: number
  readonly #ignoreMissingPartition: boolean
  readonly instrumented: boolean
  #queue: Queued[] = []
  #scheduled = false
  #flights = 0
  #probes = 0
  #idle: Array<() => void> = []
  /** Records waiting out a backoff before they are sent again. */
  readonly #waiting = new Map<NodeJS.Timeout, Queued>()
  /** Topics whose metadata was found: their records go into the coalesced send. */
  readonly #known = new Set<string>()
  /** Topics being looked up, with the records that arrived meanwhile. */
  readonly #probing = new Map<string, Queued[]>()
  /** Topics that could not be written just now, with why and until when that answer holds. */
  readonly #unwritable = new Map<string, { error: Error, until: number }>()
  /** The next partition of each topic for records without key or partition. */
  readonly #roundRobin = new Map<string, number>()
  #closed = false

  constructor (producer: LibraryProducer, options: ProducerOptions) {
    this.#producer = producer
    this.#maxBatchBytes = options.maxBatchBytes
    this.#ignoreMissingPartition = options.ignoreMissingPartition === true
    // @platformatic/kafka-opentelemetry (the library's only known instrumentation) subscribes to
    // this tracing channel: it starts a PRODUCER span per record, a child of the context active at
    // send(), and writes its traceparent into the record's headers. Any other subscriber counts
    // too: wrongly true costs only coalescing (scoped records go out alone), wrongly false would
    // parent that span to whatever context a coalesced send ran in.
    this.instrumented = producerSendsChannel.hasSubscribers
  }

  /** The library's producer, for the transport's bookkeeping. */
  get client (): LibraryProducer {
    return this.#producer
  }

  /** The library connects on first use; this looks up the cluster once, so a wrong address fails here. */
  async connect (): Promise<void> {
    await this.#producer.metadata({ topics: [], retries: PROBE_RETRIES })
  }

  send (topic: string, record: OutgoingRecord, scope?: SendScope): Promise<void> {
    if (this.#closed) return Promise.reject(new ProduceError('retriable', undefined, new Error('the producer is closed')))
    return new Promise((resolve, reject) => {
      this.#queue.push({ topic, record, scope, bytes: recordSize(record), resolve, reject, attempts: 0 })
      this.#schedule()
    })
  }

  /** Resolves once nothing is queued, waiting out a backoff or in flight: wait for it before close(). */
  idle (): Promise<void> {
    if (this.#isIdle()) return Promise.resolve()
    return new Promise(resolve => this.#idle.push(resolve))
  }

  /** Closes the library's producer; records still waiting out a backoff fail (retriable). */
  async close (): Promise<void> {
    this.#closed = true
    for (const [timer, item] of this.#waiting) {
      clearTimeout(timer)
      item.reject(new ProduceError('retriable', undefined, new Error('the producer closed before the record could be sent again')))
    }
    this.#waiting.clear()
    await this.#producer.close()
    this.#settled()
  }

  #isIdle (): boolean {
    return !this.#scheduled && this.#flights === 0 && this.#probes === 0 && this.#queue.length === 0 && this.#waiting.size === 0
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
      // A record with a `scope` goes out in a send() of its own, called inside that scope.
      const plain = batch.filter(item => item.scope === undefined)
      await Promise.all([
        ...batch.filter(item => item.scope !== undefined).map(item => item.scope!(() => this.#sendBatch([item]))),
        plain.length > 0 ? this.#sendBatch(plain) : undefined
      ])
    } finally {
      this.#flights--
      if (this.#queue.length > 0) this.#schedule()
      else this.#settled()
    }
  }

  /** Takes the next coalesced send off the queue; records of topics not known yet go to their lookup. */
  #take (): Queued[] {
    const batch: Queued[] = []
    const rest: Queued[] = []
    let bytes = 0
    const now = Date.now()
    for (const item of this.#queue) {
      const unwritable = this.#unwritable.get(item.topic)
      if (this.#closed) {
        item.reject(new ProduceError('retriable', undefined, new Error('the producer is closed')))
      } else if (unwritable !== undefined && unwritable.until > now) {
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

  /**
   * Looks a topic up before its first records are sent, with few retries: a send looks up all its
   * topics in one request, and one missing topic would fail the others' records with it.
   */
  #toProbe (item: Queued): void {
    const waiting = this.#probing.get(item.topic)
    if (waiting !== undefined) {
      waiting.push(item)
      return
    }
    const arrived = [item]
    this.#probing.set(item.topic, arrived)
    this.#probes++
    this.#producer.metadata({ topics: [item.topic], retries: PROBE_RETRIES }).then(
      () => {
        this.#known.add(item.topic)
        this.#unwritable.delete(item.topic)
        this.#queue.push(...arrived)
      },
      (error: unknown) => {
        const failure = toProduceError(error)
        this.#unwritable.set(item.topic, { error: failure, until: Date.now() + UNWRITABLE_RECHECK_MS })
        for (const one of arrived) one.reject(failure)
      }
    ).finally(() => {
      this.#probes--
      this.#probing.delete(item.topic)
      if (this.#queue.length > 0) this.#schedule()
      else this.#settled()
    })
  }

  /** Sends the records and settles every one of them (never rejects). */
  async #sendBatch (batch: Queued[]): Promise<void> {
    const counts = await this.#partitionCounts(batch)
    const messages: Outgoing[] = []
    const sent: Queued[] = []
    for (const item of batch) {
      const count = counts.get(item.topic)!
      if (typeof count !== 'number') {
        this.#failed(item, count)
        continue
      }
      const partition = this.#partitionOf(item, count)
      if (partition instanceof Error) {
        item.reject(partition)
        continue
      }
      const { key, value, headers } = item.record
      messages.push({ topic: item.topic, partition, key: key ?? undefined, value: value ?? undefined, headers })
      sent.push(item)
    }
    if (sent.length === 0) return
    let result: ProduceResult | undefined
    let failure: unknown
    try {
      // The producer's own `acks` is not applied by the library: a send's is.
      result = await this.#producer.send({ messages, acks: ProduceAcks.ALL })
    } catch (error) {
      failure = error
    }
    await this.#settle(sent, messages, result, failure)
  }

  /**
   * The partition count of each topic of the batch, from the library's metadata (looked up again,
   * one topic at a time, when the library dropped it after an error), or why it is unknown.
   */
  async #partitionCounts (batch: Queued[]): Promise<Map<string, number | { error: unknown }>> {
    const counts = new Map<string, number | { error: unknown }>()
    const lookups: Array<Promise<void>> = []
    for (const { topic } of batch) {
      if (counts.has(topic)) continue
      const known = this.#producer.currentMetadata?.topics.get(topic)?.partitionsCount
      if (known !== undefined && known > 0) {
        counts.set(topic, known)
        continue
      }
      counts.set(topic, { error: new Error(`no partitions known for ${topic}`) })
      lookups.push(this.#producer.metadata({ topics: [topic], retries: 0 }).then(
        metadata => {
          const count = metadata.topics.get(topic)?.partitionsCount ?? 0
          if (count > 0) counts.set(topic, count)
        },
        (error: unknown) => { counts.set(topic, { error }) }
      ))
    }
    await Promise.all(lookups)
    return counts
  }

  /**
   * Settles the records of one send: written ones resolve; when the send failed, a record fails
   * alone for its topic's or its own fault, the records of a too-large partition are sent again
   * one by one, and records whose failure may pass are sent again after a backoff.
   */
  async #settle (sent: Queued[], messages: Outgoing[], result: ProduceResult | undefined, failure: unknown): Promise<void> {
    if (failure === undefined) {
      const written = new Set((result?.offsets ?? []).map(({ topic, partition }) => partitionKey(topic, partition)))
      for (let i = 0; i < sent.length; i++) {
        // A partition missing from a successful send's result was not written: send it again.
        if (written.has(partitionKey(sent[i].topic, messages[i].partition!))) sent[i].resolve()
        else this.#retry(sent[i], new Error(`Kafka did not acknowledge the record for ${sent[i].topic}[${messages[i].partition}]`))
      }
      return
    }
    const outcomes = partitionOutcomes(failure)
    const perPartition = new Map<string, number>()
    for (const message of messages) {
      const key = partitionKey(message.topic, message.partition!)
      perPartition.set(key, (perPartition.get(key) ?? 0) + 1)
    }
    let stale = false
    const alone: Queued[] = []
    for (let i = 0; i < sent.length; i++) {
      const item = sent[i]
      const key = partitionKey(item.topic, messages[i].partition!)
      if (!outcomes.has(key)) {
        // No broker answered for this partition (metadata lookup, connection, timeout).
        stale = true
        this.#failed(item, failure)
        continue
      }
      const error = outcomes.get(key)
      if (error === undefined) {
        item.resolve()
      } else if (TOPIC_ERRORS.has(error)) {
        this.#unwritableTopic(item.topic, toProduceError(failure, error))
        item.reject(toProduceError(failure, error))
      } else if (RECORD_ERRORS.has(error) && perPartition.get(key)! > 1) {
        alone.push(item)
      } else if (isRetriableBrokerError(error)) {
        stale = true // NOT_LEADER_OR_FOLLOWER and the like: the leader moved
        this.#retry(item, toProduceError(failure, error))
      } else {
        item.reject(toProduceError(failure, error))
      }
    }
    // The next attempt looks the leaders up again.
    if (stale) this.#producer.clearMetadata()
    // A partition's records are one batch on the wire, refused whole: alone, only the culprit fails.
    // None of them was written, so this writes nothing twice.
    if (alone.length > 0) await Promise.all(alone.map(item => this.#sendBatch([item])))
  }

  /** A record that failed with no broker answer of its own: its topic's fault, or maybe passing later. */
  #failed (item: Queued, failure: unknown): void {
    const missing = unknownTopic(failure)
    if (missing === item.topic) {
      const error = toProduceError(failure, 'UNKNOWN_TOPIC_OR_PARTITION')
      this.#unwritableTopic(item.topic, error)
      item.reject(error)
    } else if (missing !== undefined || isRetriable(failure)) {
      // Another topic of the same send was missing, or the failure may pass: this record is sent again.
      this.#retry(item, failure)
    } else {
      item.reject(toProduceError(failure))
    }
  }

  #unwritableTopic (topic: string, error: ProduceError): void {
    this.#known.delete(topic)
    this.#unwritable.set(topic, { error, until: Date.now() + UNWRITABLE_RECHECK_MS })
  }

  /** Sends the record again after a backoff (100 ms doubling, at most 1 s), PRODUCER_RETRIES times at most. */
  #retry (item: Queued, failure: unknown): void {
    if (this.#closed || item.attempts >= PRODUCER_RETRIES) {
      item.reject(toProduceError(failure))
      return
    }
    item.attempts++
    const timer = setTimeout(() => {
      this.#waiting.delete(timer)
      this.#queue.push(item)
      this.#schedule()
    }, retryDelay(this.#producer, 'produce', item.attempts, PRODUCER_RETRIES, failure as Error))
    this.#waiting.set(timer, item)
  }

  /**
   * The record's partition, chosen here rather than by the library: the library would put a record
   * asking for a partition its topic lacks on another one (modulo the count) without a word, and
   * the partition of each record must be known to read a failed send's responses. Keys hash as in
   * Kafka's and kafkajs's default partitioner, so a key lands where their producers put it.
   */
  #partitionOf (item: Queued, count: number): number | Error {
    const { partition, key } = item.record
    if (partition !== undefined) {
      if (Number.isInteger(partition) && partition >= 0 && partition < count) return partition
      if (!this.#ignoreMissingPartition) {
        return new ProduceError('topicMissing', 'UNKNOWN_TOPIC_OR_PARTITION', new Error(`${item.topic} has no partition ${partition} (it has ${count})`))
      }
    }
    if (key !== undefined && key !== null) return (murmur2(Buffer.from(key)) & POSITIVE) % count
    const next = this.#roundRobin.get(item.topic) ?? Math.floor(Math.random() * count)
    this.#roundRobin.set(item.topic, (next + 1) % count)
    return next % count
  }

  #settled (): void {
    if (this.#isIdle()) for (const resolve of this.#idle.splice(0)) resolve()
  }
}

/** Bytes a record takes in a produce request, near enough: value, key and headers. */
function recordSize ({ key, value, headers }: OutgoingRecord): number {
  let bytes = byteLength(value) + byteLength(key)
  for (const [name, one] of Object.entries(headers)) bytes += Buffer.byteLength(name) + byteLength(one)
  return bytes
}

function byteLength (value: string | Buffer | null | undefined): number {
  if (value === null || value === undefined) return 0
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length
}
