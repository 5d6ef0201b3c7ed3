import type { Redis } from 'ioredis'
import type { Log } from '../log.js'

/** What the hand-over asks of a subscriber, on a single server or on a cluster. */
export interface Subscriber {
  /** True while the subscription is live. */
  readonly live: boolean
  /** Sets the listeners for reply keys and for the end of a reconnect (or a move). */
  listen: (onKey: (key: string) => void, onResubscribed: () => void) => void
  /** Connects and subscribes. */
  start: () => Promise<void>
  /** Resolves true when a `set` event for `key` arrives within `timeout` ms, false otherwise. */
  expect: (key: string, timeout: number) => Promise<boolean>
  close: () => Promise<void>
}

/**
 * One subscriber connection per instance, subscribed to the keyspace events of this instance's
 * keys only. Each `set` event names a key that now holds a reply for one of our calls.
 *
 * Pub/sub is at-most-once: events sent while the connection is down are lost. So after every
 * reconnect the waiter subscribes again and then calls onResubscribed, for the owner to sweep the
 * keys of every pending call.
 */
export class KeyspaceWaiter implements Subscriber {
  readonly #subscriber: Redis
  readonly #pattern: string
  readonly #channelPrefix: string
  readonly #log: Log
  readonly #probes = new Map<string, () => void>()
  #onKey: (key: string) => void = () => {}
  #onResubscribed: () => void = () => {}
  #onDown: () => void = () => {}
  #subscribed = false

  /**
   * `subscriber` is a connection of its own (a subscribed connection can run no other command),
   * made with subscriberOptions and not connected yet.
   */
  constructor (subscriber: Redis, db: number, pattern: string, log: Log) {
    this.#subscriber = subscriber
    this.#pattern = pattern
    this.#channelPrefix = `__keyspace@${db}__:`
    this.#log = log
    this.#subscriber.on('pmessage', (_pattern: string, channel: string, event: string) => {
      if (event !== 'set') return
      const key = channel.slice(this.#channelPrefix.length)
      const probe = this.#probes.get(key)
      if (probe !== undefined) probe()
      else this.#onKey(key)
    })
    this.#subscriber.on('ready', () => {
      if (this.#subscribed) this.#resubscribe() // a reconnect: the first subscription is start()'s
    })
    this.#subscriber.on('error', (err: Error) => this.#log.warn({ err }, 'Redis subscriber connection error'))
    this.#subscriber.on('close', () => { if (this.#subscribed) this.#onDown() })
  }

  /** Options of a subscriber connection: named, so that an operator can tell it in CLIENT LIST. */
  static subscriberOptions (connectionName: string) {
    return { autoResubscribe: false, lazyConnect: true, connectionName }
  }

  /** True while the subscription is live. */
  get live (): boolean {
    return this.#subscribed && this.#subscriber.status === 'ready'
  }

  /** Sets the listeners for reply keys and for the end of a reconnect. */
  listen (onKey: (key: string) => void, onResubscribed: () => void): void {
    this.#onKey = onKey
    this.#onResubscribed = onResubscribed
  }

  /** Sets a listener for the connection dropping. */
  onDown (listener: () => void): void {
    this.#onDown = listener
  }

  /** Connects and subscribes. */
  async start (): Promise<void> {
    await this.#subscriber.connect()
    await this.#subscriber.psubscribe(this.#pattern)
    this.#subscribed = true
  }

  /** Resolves true when a `set` event for `key` arrives within `timeout` ms, false otherwise. */
  expect (key: string, timeout: number): Promise<boolean> {
    return new Promise(resolve => {
      const done = (arrived: boolean) => {
        clearTimeout(timer)
        this.#probes.delete(key)
        resolve(arrived)
      }
      const timer = setTimeout(done, timeout, false)
      this.#probes.set(key, () => done(true))
    })
  }

  async close (): Promise<void> {
    this.#subscribed = false
    if (this.#subscriber.status !== 'ready') {
      this.#subscriber.disconnect()
      return
    }
    try {
      await this.#subscriber.quit()
    } catch {
      this.#subscriber.disconnect()
    }
  }

  #resubscribe (): void {
    this.#subscriber.psubscribe(this.#pattern).then(() => {
      this.#log.info({ pattern: this.#pattern }, 'Redis subscriber reconnected: sweeping pending replies')
      this.#onResubscribed()
    }, (err: Error) => this.#log.warn({ err }, 'Redis subscriber could not subscribe again'))
  }
}
