import type { TSchema } from '@sinclair/typebox'
import type { KafkaMessage, Producer } from 'kafkajs'
import { Partitioners } from 'kafkajs'
import { Redis, type ChainableCommander } from 'ioredis'
import { errors } from './errors.js'
import type { ResolvedOptions } from './options.js'
import type { Log } from './log.js'
import { keyspacePattern, newCorrelation, replyKey, type Correlation } from './correlation.js'
import { HEADERS, decodeStored, encodeStored, type RemoteError, type ReplyRoute, type Settled } from './protocol.js'
import { decodeReply } from './reply-record.js'
import { PendingCalls, type PendingCall } from './pending.js'
import { StatsCounters, type KafkaReplyStats } from './stats.js'
import { InstanceDirectory } from './instances.js'
import { checkReply } from './reply-schema.js'
import { createKafka } from './kafka/client.js'
import { BatchingProducer } from './kafka/batching-producer.js'
import { ReplyConsumer } from './kafka/reply-consumer.js'
import { ensureTopic } from './kafka/topics.js'
import { KeyspaceWaiter } from './redis/keyspace-waiter.js'
import { configureKeyspaceEvents, probeNotifications } from './redis/notifications.js'

/** Options of one call. */
export interface RequestOptions {
  /** Deadline of this call in ms (default: the plugin's `timeout`, at most `maxTimeout`). */
  timeout?: number
  /** Kafka record key of the request, e.g. to keep one customer's requests in order. */
  key?: string
  /** Extra Kafka headers for the request. */
  headers?: Record<string, string>
  /** Aborts the wait (the call rejects with FST_KAFKA_REPLY_CANCELLED). */
  signal?: AbortSignal
  /** A TypeBox schema the reply must match (FST_KAFKA_REPLY_INVALID_REPLY otherwise). */
  schema?: TSchema
  /** Told how the reply arrived (in memory or through Redis, and which instance consumed it). */
  onRoute?: (route: ReplyRoute) => void
}

/**
 * Filled in by request() with a function that cancels the call: how reply.awaitKafka stops a wait
 * when the client disconnects, without an AbortController per request.
 */
export interface CancelHandle {
  cancel?: () => void
}

/** Whether the parts the plugin depends on work right now. */
export interface KafkaReplyHealth {
  ready: boolean
  kafka: boolean
  redis: boolean
}

const PROBE_TIMEOUT = 2000
const PRODUCER_DRAIN_MS = 10_000
const LAST_LOOK_TIMEOUT = 500
/** How far in the future a reply's deadline may lie beyond maxTimeout (clock skew between hosts). */
const CLOCK_SKEW = 5000

type State = 'new' | 'starting' | 'ready' | 'closing' | 'closed'

/**
 * Request-reply over Kafka for one instance: publishes requests, consumes its share of the shared
 * reply group, and hands replies over in memory or through Redis. Usable without Fastify.
 */
export class KafkaReply {
  /** This instance's id: part of every correlation id and of its Redis keys. */
  readonly instanceId: string
  readonly #options: ResolvedOptions
  readonly #log: Log
  readonly #stats = new StatsCounters()
  readonly #pending = new PendingCalls(call => this.#onDeadline(call))
  readonly #keyBase: string
  readonly #localRoute: ReplyRoute
  #state: State = 'new'
  #redis: Redis | undefined
  #ownsRedis = false
  #producer: Producer | undefined
  #batcher: BatchingProducer | undefined
  #consumer: ReplyConsumer | undefined
  #waiter: KeyspaceWaiter | undefined
  #instances: InstanceDirectory | undefined
  #nextPartition = 0
  /** Reply keys announced by keyspace events, to be taken in one pipeline. */
  #toTake: Array<{ id: string, key: string }> = []

  /** Benchmark baseline only (see baseline.ts): poll every this many ms instead of notifications. */
  readonly #pollInterval: number | undefined

  constructor (options: ResolvedOptions, log: Log, pollInterval?: number) {
    this.#options = options
    this.#log = log
    this.#pollInterval = pollInterval
    this.instanceId = options.instanceId
    this.#keyBase = `${options.keyPrefix}:{${options.instanceId}}`
    this.#localRoute = { path: 'memory', consumedBy: options.instanceId }
  }

  /**
   * Connects everything and resolves once calls can be answered: producer connected, subscriber
   * listening, notifications proven to arrive, reply consumer in its group. On failure, closes what
   * it opened.
   */
  async start (): Promise<void> {
    if (this.#state !== 'new') throw new Error('start() may be called once')
    this.#state = 'starting'
    const { readyTimeout } = this.#options
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`fastify-kafka-reply was not ready within readyTimeout (${readyTimeout} ms)`)), readyTimeout)
    })
    try {
      await Promise.race([this.#connect(), timedOut])
      this.#state = 'ready'
    } catch (err) {
      await this.close()
      throw err
    } finally {
      clearTimeout(timer)
    }
  }

  async #connect (): Promise<void> {
    const options = this.#options
    const { kafka } = createKafka(options.kafka, this.#log)

    if (typeof options.redis === 'string') {
      this.#redis = new Redis(options.redis, { lazyConnect: true })
      this.#ownsRedis = true
      this.#redis.on('error', (err: Error) => this.#log.warn({ err }, 'Redis connection error'))
      await this.#redis.connect()
      this.#stillStarting()
    } else {
      this.#redis = options.redis
    }
    const redis = this.#redis
    const db = redis.options.db ?? 0

    await ensureTopic(kafka, options.replyTopic, options.createTopics, options.replyTopicPartitions)
    this.#stillStarting()

    this.#producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
    await this.#producer.connect()
    this.#stillStarting()
    this.#batcher = new BatchingProducer(this.#producer)

    const pattern = keyspacePattern(db, options.keyPrefix, this.instanceId)
    const waiter = this.#waiter = new KeyspaceWaiter(redis, db, pattern, this.subscriberName, this.#log)
    waiter.listen(key => { if (this.#pollInterval === undefined) this.#onKey(key) }, () => { this.#afterReconnect().catch(() => {}) })
    await waiter.start()
    if (options.configureKeyspaceEvents) await configureKeyspaceEvents(redis)
    await probeNotifications(redis, waiter, this.#keyBase, PROBE_TIMEOUT)
    this.#stillStarting()

    const consumer = this.#consumer = new ReplyConsumer(kafka, options, this.#log)
    const instances = this.#instances = new InstanceDirectory(() => consumer.members(), this.#log)
    consumer.onJoin(() => { instances.refresh().catch(() => {}) })
    await consumer.start(messages => this.#onReplies(messages))
  }

  /** After readyTimeout, start() closes what is open: a step still under way must not open more. */
  #stillStarting (): void {
    if (this.#state !== 'starting') throw new errors.CLOSING()
  }

  /**
   * Publishes `payload` to `topic` and resolves with the worker's reply. Rejects with an error
   * carrying a `statusCode`: 504 on timeout, 502 (or the worker's 4xx) on a worker error, 503 when
   * overloaded, closing or unable to publish.
   */
  async request<T = unknown> (topic: string, payload: unknown, options: RequestOptions = {}, cancelHandle?: CancelHandle): Promise<T> {
    if (this.#state !== 'ready') throw new errors.CLOSING()
    // Without Redis a reply consumed by another instance could not reach this one: refuse now
    // rather than let the caller wait for its deadline.
    if (this.#redis!.status !== 'ready' || !this.#waiter!.live) {
      this.#stats.add('unavailable')
      throw new errors.REDIS_UNAVAILABLE()
    }
    const timeout = options.timeout ?? this.#options.timeout
    if (typeof topic !== 'string' || topic.length === 0) throw new errors.INVALID_CALL('topic must be a non-empty string')
    if (!Number.isInteger(timeout) || timeout < 1 || timeout > this.#options.maxTimeout) {
      throw new errors.INVALID_CALL(`timeout must be an integer from 1 to maxTimeout (${this.#options.maxTimeout} ms)`)
    }
    if (this.#pending.size >= this.#options.maxPending) {
      this.#stats.add('overloaded')
      throw new errors.OVERLOADED(this.#options.maxPending)
    }
    const value = JSON.stringify(payload)
    if (value === undefined) throw new errors.INVALID_CALL('payload must be JSON-serialisable')
    const { signal } = options
    if (signal?.aborted === true) throw new errors.CANCELLED()

    const correlation = newCorrelation(this.instanceId, Date.now() + timeout)
    const waiting = this.#pending.add(correlation, timeout)
    const onAbort = () => {
      if (this.#pending.fail(correlation.id, new errors.CANCELLED())) this.#stats.add('cancelled')
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    if (cancelHandle !== undefined) cancelHandle.cancel = onAbort
    this.#publish(topic, value, correlation, options)
    const poll = this.#pollInterval === undefined ? undefined : this.#poll(correlation, this.#pollInterval)

    let settled: Settled
    try {
      settled = await waiting
    } finally {
      signal?.removeEventListener('abort', onAbort)
      clearInterval(poll)
    }
    options.onRoute?.(settled.route)
    const { outcome } = settled
    if (!outcome.ok) {
      this.#stats.add('remoteErrors')
      throw remoteError(outcome.error)
    }
    if (options.schema !== undefined) checkReply(options.schema, outcome.value)
    return outcome.value as T
  }

  /** CLIENT SETNAME of this instance's subscriber connection. */
  get subscriberName (): string {
    return `${this.#options.keyPrefix}:subscriber:${this.instanceId}`
  }

  /** Seconds a 503 answer asks the client to wait (Retry-After). */
  get retryAfter (): number {
    return this.#options.retryAfter
  }

  /** Counters since start, and the calls waiting now. */
  stats (): KafkaReplyStats {
    return this.#stats.snapshot(this.#pending.size)
  }

  /** What a readiness check should report. */
  health (): KafkaReplyHealth {
    const redis = this.#redis?.status === 'ready' && this.#waiter?.live === true
    const kafka = this.#consumer?.healthy === true
    return { ready: this.#state === 'ready' && redis && kafka, kafka, redis }
  }

  /** Refuses new calls and fails the waiting ones at once (503), so no caller hangs on shutdown. */
  stopAccepting (): void {
    if (this.#state === 'closed') return
    this.#state = 'closing'
    this.#pending.failAll(() => new errors.CLOSING())
  }

  /** Leaves the reply group and closes the connections the plugin opened. Safe to call twice. */
  async close (): Promise<void> {
    if (this.#state === 'closed') return
    this.stopAccepting()
    const results: PromiseSettledResult<unknown>[] = await Promise.allSettled([
      this.#consumer?.close(),
      this.#closeProducer(),
      this.#waiter?.close()
    ])
    if (this.#ownsRedis && this.#redis !== undefined) {
      // quit() lets queued commands finish; a connection that is not up has nothing to finish.
      if (this.#redis.status === 'ready') results.push(...await Promise.allSettled([this.#redis.quit()]))
      else this.#redis.disconnect()
    }
    this.#state = 'closed'
    for (const result of results) {
      if (result.status === 'rejected') this.#log.warn({ err: result.reason }, 'error while closing fastify-kafka-reply')
    }
  }

  async #closeProducer (): Promise<void> {
    if (this.#producer === undefined) return
    // A send still retrying (the broker away) would reconnect after disconnect(): let it end first,
    // but not for longer than a retry round takes when the broker does not come back.
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.#batcher?.idle(), new Promise(resolve => { timer = setTimeout(resolve, PRODUCER_DRAIN_MS) })])
    clearTimeout(timer)
    await this.#producer.disconnect()
  }

  #publish (topic: string, value: string, correlation: Correlation, options: RequestOptions): void {
    const headers = {
      ...options.headers,
      [HEADERS.correlationId]: correlation.id,
      [HEADERS.replyTopic]: this.#options.replyTopic,
      [HEADERS.deadline]: String(correlation.deadline),
      ...this.#affinityHeader()
    }
    this.#batcher!.send(topic, { key: options.key, value, headers }).then(
      () => this.#stats.add('sent'),
      (err: Error) => {
        this.#log.error({ err, topic }, 'could not publish a request to Kafka')
        this.#pending.fail(correlation.id, new errors.PUBLISH_FAILED({ cause: err }))
      }
    )
  }

  /**
   * Affinity: ask the worker to reply to a partition this instance consumes, so that the reply
   * usually resolves in memory. Rebalances and instances without partitions fall back to Redis.
   */
  #affinityHeader (): Record<string, string> | undefined {
    const partitions = this.#consumer?.partitions
    if (!this.#options.affinity || partitions === undefined || partitions.length === 0) return undefined
    return { [HEADERS.replyPartition]: String(partitions[this.#nextPartition++ % partitions.length]) }
  }

  /**
   * One consumed batch of replies: ours are resolved in memory, others' are written to Redis in
   * one pipeline. Resolves only when every write succeeded, so the batch's offsets are committed
   * after the hand-over (at-least-once; `NX` makes a repeated write harmless).
   */
  async #onReplies (messages: KafkaMessage[]): Promise<void> {
    const now = Date.now()
    let pipeline: ChainableCommander | undefined
    for (const message of messages) {
      const reply = decodeReply(message, this.#options.maxReplyBytes)
      if (reply === undefined) {
        this.#stats.add('malformed')
        continue
      }
      const { correlation } = reply
      if (correlation.instanceId === this.instanceId) {
        if (this.#pending.settle(correlation.id, { outcome: reply.outcome, route: this.#localRoute })) this.#stats.add('resolvedLocal')
        else this.#stats.add(correlation.deadline <= now ? 'late' : 'duplicates')
        continue
      }
      if (correlation.deadline <= now) {
        this.#stats.add('late')
        continue
      }
      // A forged far-future deadline would keep a key alive for long; an unknown instance never reads it.
      if (correlation.deadline > now + this.#options.maxTimeout + CLOCK_SKEW ||
          !(this.#instances!.knows(correlation.instanceId) || await this.#instances!.isKnown(correlation.instanceId))) {
        this.#stats.add('malformed')
        continue
      }
      const ttl = correlation.deadline - now + this.#options.replyGrace
      pipeline ??= this.#redis!.pipeline()
      pipeline.set(replyKey(this.#options.keyPrefix, correlation), encodeStored(reply.outcome.ok, this.instanceId, reply.json), 'PX', ttl, 'NX')
    }
    if (pipeline === undefined) return
    const results = await pipeline.exec()
    for (const [err, result] of results ?? []) {
      if (err !== null) throw err
      this.#stats.add(result === 'OK' ? 'handedOver' : 'duplicates')
    }
  }

  /**
   * A keyspace event: one of our keys holds a reply. Take it (GETDEL evicts it) and resolve. The
   * events of one read from the subscriber arrive together: their GETDELs go out as one pipeline.
   */
  #onKey (key: string): void {
    const id = `${this.instanceId}.${key.slice(this.#keyBase.length + 1)}`
    if (!this.#pending.has(id)) {
      // No call waits for it (any more): evict it now rather than at its TTL. Ids are never reused,
      // so no call can come to wait for it later.
      this.#stats.add('unclaimed')
      this.#redis!.del(key).catch((err: Error) => this.#log.debug({ err }, 'could not delete an unclaimed reply'))
      return
    }
    if (this.#toTake.length === 0) queueMicrotask(() => this.#take())
    this.#toTake.push({ id, key })
  }

  #take (): void {
    const taking = this.#toTake
    this.#toTake = []
    const redis = this.#redis!
    const failed = (err: Error) => this.#log.warn({ err }, 'could not read a handed-over reply')
    if (taking.length === 1) {
      redis.getdel(taking[0].key).then(stored => this.#settleStored(taking[0].id, stored), failed)
      return
    }
    const pipeline = redis.pipeline()
    for (const { key } of taking) pipeline.getdel(key)
    pipeline.exec().then(results => {
      results?.forEach(([err, stored], i) => {
        if (err === null) this.#settleStored(taking[i].id, stored as string | null)
        else failed(err)
      })
    }, failed)
  }

  /** The benchmark baseline: GETDEL the call's key every `interval` ms until it settles. */
  #poll (correlation: Correlation, interval: number): NodeJS.Timeout {
    const key = replyKey(this.#options.keyPrefix, correlation)
    return setInterval(() => {
      this.#redis!.getdel(key).then(stored => this.#settleStored(correlation.id, stored), () => {})
    }, interval).unref()
  }

  /** After the subscriber reconnected: events may have been lost, so look up every pending key. */
  async #afterReconnect (): Promise<void> {
    // A restarted Redis has forgotten a CONFIG SET: set the flags again (where the plugin may)
    // before looking for the replies that were written while no event could reach us.
    if (this.#options.configureKeyspaceEvents) {
      await configureKeyspaceEvents(this.#redis!).catch((err: Error) => this.#log.error({ err }, 'could not set notify-keyspace-events again'))
    }
    this.#sweep()
  }

  #sweep (): void {
    const calls = this.#pending.calls()
    if (calls.length === 0) return
    const pipeline = this.#redis!.pipeline()
    for (const call of calls) pipeline.getdel(replyKey(this.#options.keyPrefix, call.correlation))
    pipeline.exec().then(results => {
      results?.forEach(([err, stored], i) => {
        if (err === null) this.#settleStored(calls[i].correlation.id, stored as string | null)
      })
    }, (err: Error) => this.#log.warn({ err }, 'could not sweep pending replies'))
  }

  /** The deadline passed: look in Redis once more (a lost event), then answer 504. */
  #onDeadline (call: PendingCall): void {
    const { correlation } = call
    this.#lastLook(correlation).then(stored => {
      if (stored !== null && this.#settleStored(correlation.id, stored)) return
      if (this.#pending.fail(correlation.id, new errors.TIMEOUT(call.timeout))) this.#stats.add('timeouts')
    })
  }

  async #lastLook (correlation: Correlation): Promise<string | null> {
    const redis = this.#redis
    if (redis === undefined || redis.status !== 'ready' || !this.#pending.has(correlation.id)) return null
    let timer: NodeJS.Timeout | undefined
    const giveUp = new Promise<null>(resolve => { timer = setTimeout(resolve, LAST_LOOK_TIMEOUT, null) })
    try {
      return await Promise.race([redis.getdel(replyKey(this.#options.keyPrefix, correlation)), giveUp])
    } catch {
      return null
    } finally {
      clearTimeout(timer)
    }
  }

  #settleStored (id: string, stored: string | null): boolean {
    if (stored === null) return false
    const decoded = decodeStored(stored)
    if (decoded === undefined) {
      this.#stats.add('malformed')
      return false
    }
    const settled = this.#pending.settle(id, { outcome: decoded.outcome, route: { path: 'redis', consumedBy: decoded.consumedBy } })
    if (settled) this.#stats.add('resolvedViaRedis')
    return settled
  }
}

function remoteError (remote: RemoteError): Error {
  const error = new errors.REMOTE_ERROR(remote.message) as Error & { statusCode: number, remoteCode?: string }
  if (remote.statusCode !== undefined) error.statusCode = remote.statusCode
  if (remote.code !== undefined) error.remoteCode = remote.code
  return error
}
