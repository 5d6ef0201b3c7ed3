import type { Message, Producer, TopicMessages } from 'kafkajs'

interface Queued {
  topic: string
  message: Message
  resolve: () => void
  reject: (error: Error) => void
}

/**
 * kafkajs has no linger: every send() is its own produce request. This coalesces the messages of
 * concurrent callers: what arrives in one event-loop turn, or while the previous produce request is
 * in flight, goes out as one sendBatch().
 */
export class BatchingProducer {
  readonly #producer: Producer
  #queue: Queued[] = []
  #scheduled = false
  #inFlight = false
  #idle: Array<() => void> = []

  constructor (producer: Producer) {
    this.#producer = producer
  }

  /**
   * Resolves once nothing is queued or in flight. Wait for it before disconnecting: kafkajs retries
   * a failed send after a pause, and a retry after disconnect() opens a new connection that
   * nothing closes.
   */
  idle (): Promise<void> {
    if (!this.#scheduled && !this.#inFlight && this.#queue.length === 0) return Promise.resolve()
    return new Promise(resolve => this.#idle.push(resolve))
  }

  /** Resolves when the broker acknowledged the message. */
  send (topic: string, message: Message): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ topic, message, resolve, reject })
      this.#schedule()
    })
  }

  #schedule (): void {
    if (this.#scheduled || this.#inFlight) return
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
    this.#inFlight = true
    try {
      await this.#producer.sendBatch({ topicMessages: byTopic(batch) })
      for (const item of batch) item.resolve()
    } catch (error) {
      for (const item of batch) item.reject(error as Error)
    } finally {
      this.#inFlight = false
      if (this.#queue.length > 0) this.#schedule()
      else for (const resolve of this.#idle.splice(0)) resolve()
    }
  }
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
