/**
 * @internal
 * The reply store: how a reply consumed by one instance reaches the instance that waits for it.
 * RedisReplyStore is the plugin's; the benchmarks inject others (a polling baseline) through
 * kCreateReplyStore. Not part of the public API: it grows with the plugin.
 */
import type { Correlation } from '../correlation.js'
import type { Log } from '../log.js'
import type { ReplyOutcome } from '../protocol.js'
import type { StatsCounters } from '../stats.js'
import type { RedisOption } from './client.js'
import type { IdempotencyRecords } from './idempotency-records.js'

/** How a reply that crossed the store was found by the instance that waited for it. */
export type FoundBy = 'notification' | 'sweep' | 'lastLook'

/** What became of a reply handed over for another instance. */
export type HandOverOutcome = 'written' | 'duplicate' | 'late'

/** One reply consumed for another instance. */
export interface HandOver {
  correlation: Correlation
  outcome: ReplyOutcome
  /** The reply as JSON text, stored as it is (for an `invalid` outcome, the reason as a JSON string). */
  json: string
  /** ms the stored reply lives. */
  ttl: number
}

/** A reply read back from the store. */
export interface StoredReply {
  outcome: ReplyOutcome
  /** The instance that consumed the reply record. */
  consumedBy: string
}

/** A reply found for a call of this instance; `reply` undefined when what was stored is not one. */
export interface Arrival {
  id: string
  reply: StoredReply | undefined
  foundBy: FoundBy
}

/** What the store reads of the calls waiting in this instance. */
export interface PendingView {
  /** Whether a call with this id waits. */
  has: (id: string) => boolean
  /** The calls waiting now. */
  calls: () => Iterable<{ correlation: Correlation }>
}

/** Where and how the store reaches Redis. */
export interface StoreSettings {
  /** A redis:// URL or `{ cluster: [...] }` (the store creates and closes the client), or an ioredis Redis or Cluster it borrows. */
  redis: RedisOption
  keyPrefix: string
  instanceId: string
  configureKeyspaceEvents: boolean
  /** ms an idempotent call's outcome is kept. */
  idempotencyTtl: number
}

/** The Redis side of one instance. */
export interface ReplyStore {
  /** Connects what the store needs to hand replies over. */
  connect: () => Promise<void>
  /**
   * Starts finding the replies handed over to this instance; each is passed to `arrived`, which
   * returns whether a call took it. Resolves once replies can be found.
   */
  listen: (arrived: (arrival: Arrival) => boolean) => Promise<void>
  /** True while replies can be handed over and found. */
  readonly live: boolean
  /**
   * Stores replies for other instances. Resolves with one outcome per reply; rejects when a reply
   * could not be stored, so the batch's offsets are not committed.
   */
  handOver: (replies: HandOver[]) => Promise<HandOverOutcome[]>
  /** The deadline of a call passed: looks once more for its reply (a notification may have been lost). */
  lastLook: (correlation: Correlation) => Promise<Arrival | undefined>
  /** The records of calls with an idempotency key, on the store's client. */
  readonly idempotency: IdempotencyRecords
  /** Closes what the store opened. */
  close: () => Promise<PromiseSettledResult<unknown>[]>
}

/** Makes the reply store of an instance. */
export type CreateReplyStore = (settings: StoreSettings, pending: PendingView, stats: StatsCounters, log: Log) => ReplyStore

/**
 * The options key under which the benchmarks pass another CreateReplyStore (a symbol, so no user
 * sets it by accident; not in the public types).
 */
export const kCreateReplyStore = Symbol.for('fastify-kafka-reply.createReplyStore')
