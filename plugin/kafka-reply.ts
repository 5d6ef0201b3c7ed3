import type { KafkaMessage, Producer } from 'kafkajs'
import type { Span } from '@opentelemetry/api'
import { errors } from './errors.js'
import type { ResolvedOptions } from './options.js'
import type { Log } from './log.js'
import { newCorrelation, type Correlation } from './correlation.js'
import { HEADERS, decodeStored, encodeStored, outcomeKind, type RemoteError, type ReplyRoute, type Settled } from './protocol.js'
import { decodeReply } from './reply-record.js'
import { PendingCalls, type PendingCall } from './pending.js'
import { StatsCounters, type KafkaReplyStats } from './stats.js'
import { InstanceDirectory } from './instances.js'
import { checkReply, type ReplySchema, type StaticOf } from './reply-schema.js'
import { createKafka, type KafkaClient } from './kafka/client.js'
import { BatchingProducer } from './kafka/batching-producer.js'
import { brokerErrorType, isTooLarge, isTopicUnwritable } from './kafka/produce-errors.js'
import { ReplyConsumer } from './kafka/reply-consumer.js'
import { ensureTopic } from './kafka/topics.js'
import { RedisHandOver, type CreateHandOver, type FoundBy, type HandOverWrite, type WaitingCalls } from './redis/hand-over.js'
import { CallTelemetry, endSpan, type CallTrace } from './telemetry/calls.js'
import { sendBatchIsWrapped } from './telemetry/attributes.js'

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
  schema?: ReplySchema
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

const PRODUCER_DRAIN_MS = 10_000
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
  readonly #localRoute: ReplyRoute
  readonly #handOver: RedisHandOver
  readonly #telemetry: CallTelemetry
  #state: State = 'new'
  #producer: Producer | undefined
  #batcher: BatchingProducer | undefined
  #consumer: ReplyConsumer | undefined
  #instances: InstanceDirectory | undefined
  #kafka: KafkaClient | undefined
  #nextPartition = 0

  /** @internal `createHandOver` is a seam for benchmarks that measure other ways of waiting. */
  constructor (options: ResolvedOptions, log: Log, createHandOver: CreateHandOver = (...args) => new RedisHandOver(...args)) {
    this.#options = options
    this.#log = log
    this.instanceId = options.instanceId
    this.#localRoute = { path: 'memory', consumedBy: options.instanceId }
    this.#telemetry = new CallTelemetry(options.instanceId, options.replyTopic, () => this.stats())
    const calls: WaitingCalls = {
      has: id => this.#pending.has(id),
      list: () => this.#pending.calls().map(call => call.correlation),
      settle: (id, stored, foundBy) => this.#settleStored(id, stored, foundBy),
      unclaimed: () => this.#stats.add('unclaimed')
    }
    const { redis, keyPrefix, configureKeyspaceEvents } = options
    this.#handOver = createHandOver({ redis, keyPrefix, instanceId: this.instanceId, configureKeyspaceEvents, subscriberName: this.subscriberName }, calls, log)
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
    const { kafka } = this.#kafka = createKafka(options.kafka, this.#log)

    await this.#handOver.connect()
    this.#stillStarting()

    await ensureTopic(kafka, options.replyTopic, options.createTopics, options.replyTopicPartitions, options.replyTopicReplicationFactor ?? -1)
    this.#stillStarting()

    this.#batcher = BatchingProducer.create(kafka, undefined, { maxBatchBytes: options.maxRequestBytes })
    this.#producer = this.#batcher.producer
    this.#telemetry.wrappedProducer = sendBatchIsWrapped(this.#producer)
    await this.#batcher.connect()
    this.#stillStarting()

    await this.#handOver.listen()
    this.#stillStarting()

    const consumer = this.#consumer = new ReplyConsumer(kafka, options, this.#log)
    const instances = this.#instances = new InstanceDirectory(() => consumer.members(), this.#log, { forgetAfter: options.maxTimeout })
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
   * overloaded, closing or unable to publish. With a `schema`, the reply is checked against it and
   * typed from it.
   */
  request<S extends ReplySchema> (topic: string, payload: unknown, options: Omit<RequestOptions, 'schema'> & { schema: S }, cancelHandle?: CancelHandle): Promise<StaticOf<S>>
  request<T = unknown> (topic: string, payload: unknown, options?: RequestOptions, cancelHandle?: CancelHandle): Promise<T>
  async request (topic: string, payload: unknown, options: RequestOptions = {}, cancelHandle?: CancelHandle): Promise<unknown> {
    const call = this.#telemetry.start(topic)
    try {
      const value = await this.#request(topic, payload, options, cancelHandle, call)
      call.end()
      return value
    } catch (err) {
      call.end(err)
      throw err
    }
  }

  async #request (topic: string, payload: unknown, options: RequestOptions, cancelHandle: CancelHandle | undefined, call: CallTrace): Promise<unknown> {
    if (this.#state !== 'ready') throw new errors.CLOSING()
    // Without Redis a reply consumed by another instance could not reach this one: refuse now
    // rather than let the caller wait for its deadline.
    if (!this.#handOver.live) {
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
    const bytes = Buffer.byteLength(value)
    if (bytes > this.#options.maxRequestBytes) throw new errors.PAYLOAD_TOO_LARGE(`${bytes} bytes, maxRequestBytes is ${this.#options.maxRequestBytes}`)
    const { signal } = options
    if (signal?.aborted === true) throw new errors.CANCELLED()

    const correlation = newCorrelation(this.instanceId, Date.now() + timeout)
    const waiting = this.#pending.add(correlation, timeout)
    const onAbort = () => {
      if (this.#pending.fail(correlation.id, new errors.CANCELLED())) this.#stats.add('cancelled')
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    if (cancelHandle !== undefined) cancelHandle.cancel = onAbort
    this.#publish(topic, value, correlation, options, call)
    const unwatch = this.#handOver.watch(correlation)

    let settled: Settled
    try {
      settled = await waiting
    } finally {
      signal?.removeEventListener('abort', onAbort)
      unwatch?.()
    }
    call.arrived(settled.route)
    options.onRoute?.(settled.route)
    const { outcome } = settled
    if (!outcome.ok) {
      if ('invalid' in outcome) {
        this.#stats.add('invalidReplies')
        throw new errors.INVALID_REPLY(outcome.invalid)
      }
      this.#stats.add('remoteErrors')
      throw remoteError(outcome.error)
    }
    if (options.schema !== undefined) checkReply(options.schema, outcome.value)
    return outcome.value
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
    const redis = this.#handOver.live
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
    this.#telemetry.close()
    const results: PromiseSettledResult<unknown>[] = await Promise.allSettled([
      this.#consumer?.close(),
      this.#closeProducer()
    ])
    results.push(...await this.#handOver.close())
    const leftOpen = this.#kafka?.destroySockets() ?? 0
    if (leftOpen > 0) this.#log.debug({ sockets: leftOpen }, 'closed Kafka connections kafkajs left open')
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
    await this.#batcher!.disconnect()
  }

  #publish (topic: string, value: string, correlation: Correlation, options: RequestOptions, call: CallTrace): void {
    const headers: Record<string, string | Buffer> = {
      ...options.headers,
      [HEADERS.correlationId]: correlation.id,
      [HEADERS.replyTopic]: this.#options.replyTopic,
      [HEADERS.deadline]: String(correlation.deadline),
      ...this.#affinityHeader()
    }
    const send = call.publish(correlation.id, headers)
    this.#batcher!.send(topic, { key: options.key, value, headers }, send.scope).then(
      () => {
        endSpan(send.span, undefined)
        this.#stats.add('sent')
      },
      (err: Error) => {
        endSpan(send.span, undefined, err)
        this.#log.error({ err, topic }, 'could not publish a request to Kafka')
        this.#pending.fail(correlation.id, publishError(topic, err))
      }
    )
  }

  /**
   * Affinity: ask the worker to reply to a partition this instance consumes, so that the reply
   * usually resolves in memory. Rebalances and instances without partitions fall back to Redis.
   * The hint header only this project's responder reads; `kafka_replyPartition` only in the
   * encoding the user named, since Spring and NestJS read it differently and a misread header
   * loses the reply.
   */
  #affinityHeader (): Record<string, string | Buffer> | undefined {
    const { affinity } = this.#options
    const partitions = this.#consumer?.partitions
    if (affinity === false || partitions === undefined || partitions.length === 0) return undefined
    const partition = partitions[this.#nextPartition++ % partitions.length]
    const hint = { [HEADERS.replyPartitionHint]: String(partition) }
    if (affinity === 'spring') return { ...hint, [HEADERS.replyPartition]: int32(partition) }
    if (affinity === 'nestjs') return { ...hint, [HEADERS.replyPartition]: String(partition) }
    return hint
  }

  /**
   * One consumed batch of replies: ours are resolved in memory, others' are written to Redis in
   * one pipeline (one per node on a cluster). Resolves only when every write succeeded (or, on a
   * cluster, its deadline passed while its node was down), so the batch's offsets are committed
   * after the hand-over (at-least-once; `NX` makes a repeated write harmless).
   */
  async #onReplies (messages: KafkaMessage[]): Promise<void> {
    const now = Date.now()
    const writes: HandOverWrite[] = []
    const handovers: Span[] = []
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
      writes.push({ correlation, value: encodeStored(outcomeKind(reply.outcome), this.instanceId, reply.json), ttl })
      const handover = this.#telemetry.handover(message.headers, correlation.id, this.instanceId)
      if (handover !== undefined) handovers.push(handover)
    }
    let outcomes: Awaited<ReturnType<RedisHandOver['write']>>
    try {
      outcomes = await this.#handOver.write(writes)
    } catch (err) {
      for (const span of handovers) endSpan(span, undefined, err)
      throw err
    }
    for (const span of handovers) endSpan(span, undefined)
    for (const outcome of outcomes) this.#stats.add(WRITE_COUNTER[outcome])
  }

  /** The deadline passed: look in Redis once more (a lost event), then answer 504. */
  #onDeadline (call: PendingCall): void {
    const { correlation } = call
    this.#handOver.lastLook(correlation).then(found => {
      if (found) return
      if (this.#pending.fail(correlation.id, new errors.TIMEOUT(call.timeout))) this.#stats.add('timeouts')
    })
  }

  /** A reply read from Redis for call `id`: resolves the call; false when it is malformed or no call waits. */
  #settleStored (id: string, stored: string, foundBy: FoundBy): boolean {
    const decoded = decodeStored(stored)
    if (decoded === undefined) {
      this.#stats.add('malformed')
      return false
    }
    const settled = this.#pending.settle(id, { outcome: decoded.outcome, route: { path: 'redis', consumedBy: decoded.consumedBy } })
    if (settled) {
      this.#stats.add('resolvedViaRedis')
      this.#stats.add(FOUND_BY_COUNTER[foundBy])
    }
    return settled
  }
}

const WRITE_COUNTER = {
  written: 'handedOver',
  duplicate: 'duplicates',
  late: 'late'
} as const

const FOUND_BY_COUNTER = {
  notification: 'resolvedByNotification',
  sweep: 'resolvedBySweep',
  lastLook: 'resolvedByLastLook'
} as const

/** The error a call gets when its request could not be published: its own fault, its topic's, or Kafka's. */
function publishError (topic: string, err: Error): Error {
  if (isTooLarge(err)) return new errors.PAYLOAD_TOO_LARGE(`the broker refused it (${brokerErrorType(err)})`, { cause: err })
  if (isTopicUnwritable(err)) return new errors.TOPIC_UNAVAILABLE(topic, brokerErrorType(err), { cause: err })
  return new errors.PUBLISH_FAILED({ cause: err })
}

function remoteError (remote: RemoteError): Error {
  const error = new errors.REMOTE_ERROR(remote.message) as Error & { statusCode: number, remoteCode?: string }
  if (remote.statusCode !== undefined) error.statusCode = remote.statusCode
  if (remote.code !== undefined) error.remoteCode = remote.code
  return error
}

/** A 4-byte big-endian int, as Spring Kafka reads `kafka_replyPartition`. */
function int32 (value: number): Buffer {
  const bytes = Buffer.alloc(4)
  bytes.writeInt32BE(value)
  return bytes
}
