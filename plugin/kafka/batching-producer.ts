import { Partitioners, type ICustomPartitioner, type Kafka, type Message, type Producer, type RecordMetadata, type TopicMessages } from 'kafkajs'
import { PRODUCER_RETRY } from './client.js'

/** Runs a function in some context (a trace context): see send(). */
export type SendScope = <T>(fn: () => T) => T

interface Queued {
  topic: string
  message: Message
  scope: SendScope | undefined
  resolve: () => void
  reject: (error: Error) => void
  /** Sends that came back without this record's partition (see #flush). */
  resent: number
}

/** Produce requests in flight at once: one waiting on a dead leader leaves the others going. */
const MAX_FLIGHTS = 4
/** How often a record left out of a send's result is sent again before its caller is told. */
const MAX_RESENDS = 3

/**
 * kafkajs has no linger: every send() is its own produce request. This coalesces the messages of
 * concurrent callers: what arrives in one event-loop turn, or while MAX_FLIGHTS produce requests
 * are in flight, goes out as one sendBatch().
 */
export class BatchingProducer {
  readonly #producer: Producer
  readonly #partitionOf: (message: Message) => number | undefined
  #queue: Queued[] = []
  #scheduled = false
  #flights = 0
  #idle: Array<() => void> = []

  /**
   * The plugin's and the responder's producer: acks=all (kafkajs's default), not idempotent, quick
   * retries (PRODUCER_RETRY), and `createPartitioner` made to keep each record on the partition it
   * first chose, so that the result of a send tells which records reached the broker.
   */
  static create (kafka: Kafka, createPartitioner: ICustomPartitioner = Partitioners.DefaultPartitioner): BatchingProducer {
    const chosen = new WeakMap<Message, number>()
    const producer = kafka.producer({
      retry: PRODUCER_RETRY,
      createPartitioner: () => {
        const partitioner = createPartitioner()
        return args => {
          let partition = chosen.get(args.message)
          if (partition === undefined) chosen.set(args.message, partition = partitioner(args))
          return partition
        }
      }
    })
    return new BatchingProducer(producer, message => chosen.get(message) ?? message.partition)
  }

  /** `partitionOf` tells where a record went; without it only records with a partition are checked. */
  constructor (producer: Producer, partitionOf: (message: Message) => number | undefined = message => message.partition) {
    this.#producer = producer
    this.#partitionOf = partitionOf
  }

  get producer (): Producer {
    return this.#producer
  }

  /**
   * Resolves once nothing is queued or in flight. Wait for it before disconnecting: kafkajs retries
   * a failed send after a pause, and a retry after disconnect() opens a new connection that
   * nothing closes.
   */
  idle (): Promise<void> {
    if (!this.#scheduled && this.#flights === 0 && this.#queue.length === 0) return Promise.resolve()
    return new Promise(resolve => this.#idle.push(resolve))
  }

  /**
   * Resolves when the broker acknowledged the message. A message with a `scope` goes out in a
   * sendBatch() of its own, called inside that scope: for an instrumentation of kafkajs that takes
   * its parent span from the context active at sendBatch.
   */
  send (topic: string, message: Message, scope?: SendScope): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ topic, message, scope, resolve, reject, resent: 0 })
      this.#schedule()
    })
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
    const batch = this.#queue
    if (batch.length === 0) return
    this.#queue = []
    this.#flights++
    try {
      if (batch.every(item => item.scope === undefined)) await this.#send(batch)
      else {
        const plain = batch.filter(item => item.scope === undefined)
        await Promise.all([
          ...batch.filter(item => item.scope !== undefined).map(item => item.scope!(() => this.#send([item]))),
          plain.length > 0 ? this.#send(plain) : undefined
        ])
      }
    } finally {
      this.#flights--
      if (this.#queue.length > 0) this.#schedule()
      else if (this.#flights === 0 && !this.#scheduled) for (const resolve of this.#idle.splice(0)) resolve()
    }
  }

  async #send (batch: Queued[]): Promise<void> {
    try {
      const sent = await this.#producer.sendBatch({ topicMessages: byTopic(batch) })
      // kafkajs retries only the brokers that failed, and a partition that moved meanwhile to a
      // broker that had already answered is not sent at all, yet the send resolves (kafkajs#1303):
      // a record whose partition is missing from the result is sent again.
      const reached = new Set(sent.map(reachedKey))
      for (const item of batch) {
        const partition = this.#partitionOf(item.message)
        if (partition === undefined || reached.has(`${item.topic}\u0000${partition}`)) item.resolve()
        else if (item.resent++ < MAX_RESENDS) this.#queue.push(item)
        else item.reject(new Error(`Kafka did not take the record for ${item.topic}[${partition}] after ${MAX_RESENDS} sends`))
      }
    } catch (error) {
      for (const item of batch) item.reject(error as Error)
    }
  }
}

function reachedKey (record: RecordMetadata): string {
  return `${record.topicName}\u0000${record.partition}`
}

function byTopic (batch: Queued[]): TopicMessages[] {
  const topics = new Map<string, Message[]>()
  for (const { topic, message } of batch) {
    const messages = topics.get(topic)
    if (messages === undefined) topics.set(topic, [message])
    else messages.push(message)
  }
  return [...topics].map(([topic, messages]) => ({ topic, messages }))
}
