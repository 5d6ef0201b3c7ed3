import { Redis } from 'ioredis'
import type { Log } from '../log.js'
import { keyspacePattern, replyKey, type Correlation } from '../correlation.js'
import { KeyspaceWaiter } from './keyspace-waiter.js'
import { configureKeyspaceEvents, probeNotifications } from './notifications.js'

const PROBE_TIMEOUT = 2000
const LAST_LOOK_TIMEOUT = 500

/** How a reply that crossed Redis was found by the instance that waited for it. */
export type FoundBy = 'notification' | 'sweep' | 'lastLook'

/** What the hand-over needs to know of the calls waiting in this instance. */
export interface WaitingCalls {
  /** Whether a call with this id still waits. */
  has: (id: string) => boolean
  /** The calls waiting now. */
  list: () => Correlation[]
  /** A stored reply was taken for call `id`; false when no call took it. */
  settle: (id: string, stored: string, foundBy: FoundBy) => boolean
  /** A reply key showed up that no call waits for (any more): it was deleted. */
  unclaimed: () => void
}

/** Where and how the hand-over reaches Redis. */
export interface HandOverSettings {
  /** A redis:// URL (the hand-over creates and closes the client) or an ioredis client it borrows. */
  redis: string | Redis
  keyPrefix: string
  instanceId: string
  configureKeyspaceEvents: boolean
  /** CLIENT SETNAME of the subscriber connection. */
  subscriberName: string
}

/** One reply for another instance, to be written to Redis. */
export interface HandOverWrite {
  correlation: Correlation
  value: string
  /** ms the key lives. */
  ttl: number
}

/** Makes the Redis side of an instance; a seam for benchmarks that measure other ways of waiting. */
export type CreateHandOver = (settings: HandOverSettings, calls: WaitingCalls, log: Log) => RedisHandOver

/**
 * The options key (a symbol, so no user sets it by accident) under which the benchmarks pass
 * another CreateHandOver (plugin/baseline.ts); not exported from the package.
 */
export const kCreateHandOver = Symbol('fastify-kafka-reply.createHandOver')

/**
 * The Redis side of the plugin: writes replies for other instances, and finds the replies written
 * for this one. The subscriber listens for the keyspace events of this instance's keys; each event
 * is taken with GETDEL. Pub/sub is at-most-once, so after a reconnect every pending key is swept,
 * and a call whose deadline passes gets a last look.
 */
export class RedisHandOver {
  protected readonly calls: WaitingCalls
  protected readonly log: Log
  readonly #settings: HandOverSettings
  readonly #keyBase: string
  #redis: Redis | undefined
  #ownsRedis = false
  #waiter: KeyspaceWaiter | undefined
  /** Reply keys announced by keyspace events, to be taken in one pipeline. */
  #toTake: Array<{ id: string, key: string }> = []

  constructor (settings: HandOverSettings, calls: WaitingCalls, log: Log) {
    this.#settings = settings
    this.calls = calls
    this.log = log
    this.#keyBase = `${settings.keyPrefix}:{${settings.instanceId}}`
  }

  /** Connects the command client when the hand-over creates it; a borrowed client is used as it is. */
  async connect (): Promise<void> {
    const { redis } = this.settings
    if (typeof redis !== 'string') {
      this.#redis = redis
      return
    }
    this.#redis = new Redis(redis, { lazyConnect: true })
    this.#ownsRedis = true
    this.#redis.on('error', (err: Error) => this.log.warn({ err }, 'Redis connection error'))
    await this.#redis.connect()
  }

  /**
   * Subscribes to this instance's keyspace events, sets the notification flags where allowed, and
   * proves that notifications arrive (a probe key and its event).
   */
  async listen (): Promise<void> {
    const { settings, redis } = this
    const db = redis.options.db ?? 0
    const pattern = keyspacePattern(db, settings.keyPrefix, settings.instanceId)
    const waiter = this.#waiter = new KeyspaceWaiter(redis, db, pattern, settings.subscriberName, this.log)
    waiter.listen(key => this.onKey(key), () => { this.#afterReconnect().catch(() => {}) })
    await waiter.start()
    if (settings.configureKeyspaceEvents) await configureKeyspaceEvents(redis)
    await probeNotifications(redis, waiter, this.#keyBase, PROBE_TIMEOUT)
  }

  /** True while replies can be written and notifications can arrive. */
  get live (): boolean {
    return this.#redis?.status === 'ready' && this.#waiter?.live === true
  }

  /**
   * Writes replies for other instances (`SET key value PX ttl NX`) in one pipeline. Resolves with
   * one entry per reply: true when written, false when the key was there already (a duplicate).
   * Rejects when a write failed, so the batch's offsets are not committed.
   */
  async write (replies: HandOverWrite[]): Promise<boolean[]> {
    if (replies.length === 0) return []
    const pipeline = this.redis.pipeline()
    for (const { correlation, value, ttl } of replies) {
      pipeline.set(replyKey(this.settings.keyPrefix, correlation), value, 'PX', ttl, 'NX')
    }
    const results = await pipeline.exec()
    return (results ?? []).map(([err, result]) => {
      if (err !== null) throw err
      return result === 'OK'
    })
  }

  /**
   * Called for every call this instance starts to wait for; returns what to do when the wait
   * ends. Notifications cover every key of the instance, so there is nothing to do per call.
   */
  watch (_correlation: Correlation): (() => void) | undefined {
    return undefined
  }

  /** The deadline passed: looks in Redis once more (an event may have been lost). */
  async lastLook (correlation: Correlation): Promise<boolean> {
    const redis = this.#redis
    if (redis === undefined || redis.status !== 'ready' || !this.calls.has(correlation.id)) return false
    let timer: NodeJS.Timeout | undefined
    const giveUp = new Promise<null>(resolve => { timer = setTimeout(resolve, LAST_LOOK_TIMEOUT, null) })
    try {
      const stored = await Promise.race([redis.getdel(replyKey(this.settings.keyPrefix, correlation)), giveUp])
      return stored !== null && this.calls.settle(correlation.id, stored, 'lastLook')
    } catch {
      return false
    } finally {
      clearTimeout(timer)
    }
  }

  /** Closes the subscriber, and the client when the hand-over created it. */
  async close (): Promise<PromiseSettledResult<unknown>[]> {
    const results: PromiseSettledResult<unknown>[] = await Promise.allSettled([this.#waiter?.close()])
    if (this.#ownsRedis && this.#redis !== undefined) {
      // quit() lets queued commands finish; a connection that is not up has nothing to finish.
      if (this.#redis.status === 'ready') results.push(...await Promise.allSettled([this.#redis.quit()]))
      else this.#redis.disconnect()
    }
    return results
  }

  protected get settings (): HandOverSettings {
    return this.#settings
  }

  /** The command client (set by start()). */
  protected get redis (): Redis {
    return this.#redis!
  }

  /**
   * A keyspace event: one of our keys holds a reply. Take it (GETDEL evicts it) and resolve. The
   * events of one read from the subscriber arrive together: their GETDELs go out as one pipeline.
   */
  protected onKey (key: string): void {
    const id = `${this.settings.instanceId}.${key.slice(this.#keyBase.length + 1)}`
    if (!this.calls.has(id)) {
      // No call waits for it (any more): evict it now rather than at its TTL. Ids are never reused,
      // so no call can come to wait for it later.
      this.calls.unclaimed()
      this.redis.del(key).catch((err: Error) => this.log.debug({ err }, 'could not delete an unclaimed reply'))
      return
    }
    if (this.#toTake.length === 0) queueMicrotask(() => this.#take())
    this.#toTake.push({ id, key })
  }

  #take (): void {
    const taking = this.#toTake
    this.#toTake = []
    const redis = this.redis
    const failed = (err: Error) => this.log.warn({ err }, 'could not read a handed-over reply')
    const settle = (id: string, stored: string | null) => { if (stored !== null) this.calls.settle(id, stored, 'notification') }
    if (taking.length === 1) {
      redis.getdel(taking[0].key).then(stored => settle(taking[0].id, stored), failed)
      return
    }
    const pipeline = redis.pipeline()
    for (const { key } of taking) pipeline.getdel(key)
    pipeline.exec().then(results => {
      results?.forEach(([err, stored], i) => {
        if (err === null) settle(taking[i].id, stored as string | null)
        else failed(err)
      })
    }, failed)
  }

  /** After the subscriber reconnected: events may have been lost, so look up every pending key. */
  async #afterReconnect (): Promise<void> {
    // A restarted Redis has forgotten a CONFIG SET: set the flags again (where the plugin may)
    // before looking for the replies that were written while no event could reach us.
    if (this.settings.configureKeyspaceEvents) {
      await configureKeyspaceEvents(this.redis).catch((err: Error) => this.log.error({ err }, 'could not set notify-keyspace-events again'))
    }
    this.#sweep()
  }

  #sweep (): void {
    const calls = this.calls.list()
    if (calls.length === 0) return
    const pipeline = this.redis.pipeline()
    for (const correlation of calls) pipeline.getdel(replyKey(this.settings.keyPrefix, correlation))
    pipeline.exec().then(results => {
      results?.forEach(([err, stored], i) => {
        if (err === null && stored !== null) this.calls.settle(calls[i].id, stored as string, 'sweep')
      })
    }, (err: Error) => this.log.warn({ err }, 'could not sweep pending replies'))
  }
}
