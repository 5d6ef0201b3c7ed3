/**
 * The busy-polling design this plugin replaces, as a reply store, so that the benchmarks can
 * measure the difference: no keyspace notifications; every `interval` ms, each waiting call's
 * reply key is read with GETDEL until its call settles. Hand-overs are written as the plugin
 * writes them (SET PX NX). A single Redis server only.
 */
import { Redis } from 'ioredis'
import type { Correlation } from '../../plugin/correlation.js'
import type { Log } from '../../plugin/log.js'
import { IdempotencyRecords } from '../../plugin/redis/idempotency-records.js'
import { InstanceKeys } from '../../plugin/redis/keys.js'
import { decodeStored, encodeStored } from '../../plugin/redis/stored-reply.js'
import { kCreateReplyStore, type Arrival, type CreateReplyStore, type HandOver, type HandOverOutcome, type PendingView, type ReplyStore, type StoreSettings } from '../../plugin/redis/store.js'
import type { KafkaReplyOptions } from '../../plugin/index.js'

class PollingReplyStore implements ReplyStore {
  readonly #settings: StoreSettings
  readonly #pending: PendingView
  readonly #interval: number
  readonly #keys: InstanceKeys
  readonly #log: Log
  readonly idempotency: IdempotencyRecords
  #client: Redis | undefined
  #timer: NodeJS.Timeout | undefined

  constructor (interval: number, settings: StoreSettings, pending: PendingView, log: Log) {
    if (typeof settings.redis !== 'string') throw new Error('the polling baseline takes a redis:// URL')
    this.#interval = interval
    this.#settings = settings
    this.#pending = pending
    this.#log = log
    this.#keys = new InstanceKeys(settings.keyPrefix, settings.instanceId)
    this.idempotency = new IdempotencyRecords(() => this.#client!, settings.keyPrefix, settings.idempotencyTtl)
  }

  async connect (): Promise<void> {
    this.#client = new Redis(this.#settings.redis as string, { lazyConnect: true })
    this.#client.on('error', (err: Error) => this.#log.warn({ err }, 'Redis connection error'))
    await this.#client.connect()
  }

  async listen (arrived: (arrival: Arrival) => boolean): Promise<void> {
    const client = this.#client!
    this.#timer = setInterval(() => {
      for (const { correlation } of this.#pending.calls()) {
        client.getdel(this.#keys.reply(correlation)).then(stored => {
          if (stored !== null) arrived({ id: correlation.id, reply: decodeStored(stored), foundBy: 'sweep' })
        }, () => {})
      }
    }, this.#interval).unref()
  }

  get live (): boolean {
    return this.#client?.status === 'ready'
  }

  async handOver (replies: HandOver[]): Promise<HandOverOutcome[]> {
    if (replies.length === 0) return []
    const pipeline = this.#client!.pipeline()
    for (const { correlation, outcome, json, ttl } of replies) {
      pipeline.set(this.#keys.reply(correlation), encodeStored(outcome, this.#settings.instanceId, json), 'PX', ttl, 'NX')
    }
    const results = (await pipeline.exec()) ?? []
    return results.map(([err, result]) => {
      if (err !== null) throw err
      return result === 'OK' ? 'written' : 'duplicate'
    })
  }

  async lastLook (correlation: Correlation): Promise<Arrival | undefined> {
    const stored = await this.#client?.getdel(this.#keys.reply(correlation)).catch(() => null)
    return stored === null || stored === undefined ? undefined : { id: correlation.id, reply: decodeStored(stored), foundBy: 'lastLook' }
  }

  async close (): Promise<PromiseSettledResult<unknown>[]> {
    clearInterval(this.#timer)
    return await Promise.allSettled([this.#client?.quit()])
  }
}

/** Options to spread into the plugin's options: wait by polling every `interval` ms. */
export function pollingBaseline (interval: number): Partial<KafkaReplyOptions> {
  const create: CreateReplyStore = (settings, pending, _stats, log) => new PollingReplyStore(interval, settings, pending, log)
  return { [kCreateReplyStore]: create } as Partial<KafkaReplyOptions>
}
