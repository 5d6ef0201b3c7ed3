import type { Span } from '@opentelemetry/api'
import { errors } from './errors.js'
import type { ResolvedOptions } from './options.js'
import type { Log } from './log.js'
import { newCorrelation, type Correlation } from './correlation.js'
import { withDeadline } from './deadline.js'
import { checkTarget, encodePayload, publishError, remoteError } from './call-checks.js'
import { HEADERS, affinityHeaders, type Settled } from './protocol.js'
import { decodeReply, type DecodedReply } from './reply-record.js'
import { instancesToConfirm, routeReply, storesOutcome, type DropReason, type RoutingView } from './routing.js'
import { checkIdempotencyKey, idempotentCall, secondsUntil, type IdempotentCall } from './idempotency.js'
import { PendingCalls, type PendingCall } from './pending.js'
import { grants, newAcceptedCall, parseReplyId, pollAfter, replyId, TOKEN_LENGTH, type AcceptedCall } from './accepted.js'
import { StatsCounters, type Counter, type KafkaReplyStats } from './stats.js'
import { InstanceDirectory } from './instances.js'
import { checkReply, type ReplySchema, type StaticOf } from './reply-schema.js'
import type { CancelHandle, KafkaReplyHealth, RequestOptions } from './call-options.js'
import { createTransport } from './kafka/index.js'
import type { ConsumedBatch, GroupConsumer, KafkaTransport, RecordProducer } from './kafka/transport.js'
import { RedisReplyStore } from './redis/redis-store.js'
import type { Arrival, CreateReplyStore, HandOver, HandOverOutcome, ReplyStore } from './redis/store.js'
import type { Claim, Completion } from './redis/idempotency-records.js'
import { decodeStored, encodeStored } from './redis/stored-reply.js'
import { isNoPerm } from './redis/pipeline.js'
import { CallTelemetry, endSpan, type CallTrace } from './telemetry/calls.js'

export type { CancelHandle, KafkaReplyHealth, RequestOptions } from './call-options.js'

const PRODUCER_DRAIN_MS = 10_000
/** The fingerprint of an accepted call without a key: its record's reference is random, so no retry compares it. */
const UNKEYED = '-'.repeat(43)
/** How far in the future a reply's deadline may lie beyond maxTimeout (clock skew between hosts). */
const CLOCK_SKEW = 5000

type State = 'new' | 'starting' | 'ready' | 'closing' | 'closed'

const defaultStore: CreateReplyStore = (...args) => new RedisReplyStore(...args)

/**
 * Request-reply over Kafka for one instance: publishes requests, consumes its share of the shared
 * reply group, and hands replies over in memory or through the reply store (Redis). Usable
 * without Fastify.
 */
export class KafkaReply {
  /** This instance's id: part of every correlation id and of its Redis keys. */
  readonly instanceId: string
  readonly #options: ResolvedOptions
  readonly #log: Log
  readonly #stats = new StatsCounters()
  readonly #pending = new PendingCalls(call => this.#lastLook(call), call => this.#onDeadline(call))
  readonly #store: ReplyStore
  readonly #telemetry: CallTelemetry
  #state: State = 'new'
  #transport: KafkaTransport | undefined
  #producer: RecordProducer | undefined
  #consumer: GroupConsumer | undefined
  #instances: InstanceDirectory | undefined
  #nextPartition = 0

  /** @internal `createStore` is a seam for benchmarks that measure other ways of waiting. */
  constructor (options: ResolvedOptions, log: Log, createStore: CreateReplyStore = defaultStore) {
    this.#options = options
    this.#log = log
    this.instanceId = options.instanceId
    this.#telemetry = new CallTelemetry(options.instanceId, options.replyTopic, () => this.stats())
    const { redis, keyPrefix, configureKeyspaceEvents, idempotencyTtl } = options
    this.#store = createStore({ redis, keyPrefix, instanceId: this.instanceId, configureKeyspaceEvents, idempotencyTtl }, this.#pending, this.#stats, log)
  }

  /**
   * Connects everything and resolves once calls can be answered: producer connected, store
   * listening (notifications proven to arrive), reply consumer in its group. Fails with
   * FST_KAFKA_REPLY_READY_TIMEOUT after `readyTimeout`; on any failure, closes what it opened.
   */
  async start (): Promise<void> {
    if (this.#state !== 'new') throw new errors.ALREADY_STARTED()
    this.#state = 'starting'
    const { readyTimeout } = this.#options
    try {
      await withDeadline(this.#connect(), readyTimeout, () => { throw new errors.READY_TIMEOUT('fastify-kafka-reply', readyTimeout) })
      this.#state = 'ready'
    } catch (err) {
      await this.close()
      throw err
    }
  }

  async #connect (): Promise<void> {
    const options = this.#options
    const transport = this.#transport = await createTransport(options.kafka, this.#log)

    await this.#store.connect()
    this.#stillStarting()

    const topic = await transport.ensureTopic({
      topic: options.replyTopic,
      create: options.createTopics,
      partitions: options.replyTopicPartitions,
      replicationFactor: options.replyTopicReplicationFactor ?? -1
    })
    if (topic === 'missing') throw new errors.TOPIC_MISSING(options.replyTopic)
    if (topic === 'unauthorized') {
      throw new errors.NOT_AUTHORIZED(`the Kafka user may not describe the reply topic "${options.replyTopic}" (TOPIC_AUTHORIZATION_FAILED): grant it Read on the topic`)
    }
    this.#stillStarting()

    const producer = this.#producer = transport.producer({ maxBatchBytes: options.maxRequestBytes, createTopics: options.createTopics })
    this.#telemetry.wrappedProducer = producer.instrumented
    await producer.connect()
    this.#stillStarting()

    await this.#store.listen(arrival => this.#arrived(arrival))
    this.#stillStarting()

    const consumer = this.#consumer = transport.consumer({
      groupId: options.groupId,
      topics: [options.replyTopic],
      // A group that never committed starts at the beginning, not at "latest": a reply produced
      // before a new member's first fetch is then still consumed. Old replies are past their
      // deadline and are dropped as late without touching Redis.
      fromBeginning: true,
      instanceId: this.instanceId,
      commits: 'handled',
      settings: options.consumer
    })
    const instances = this.#instances = new InstanceDirectory(() => consumer.members(), this.#log, { forgetAfter: options.maxTimeout })
    consumer.onJoin(() => { instances.refresh().catch(() => {}) })
    await consumer.start(batch => this.#onReplies(batch))
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
    if (!this.#store.live) {
      this.#stats.add('unavailable')
      throw new errors.REDIS_UNAVAILABLE()
    }
    const timeout = options.timeout ?? this.#options.timeout
    checkTarget(topic, timeout, this.#options.maxTimeout)
    // Prefer: respond-async, wait=N: the client would rather have the 202 after N seconds.
    const wait = cancelHandle?.respondAsync === true && cancelHandle.wait !== undefined && cancelHandle.wait > 0 ? Math.min(timeout, cancelHandle.wait) : undefined
    const { idempotencyKey } = options
    if (idempotencyKey !== undefined) checkIdempotencyKey(idempotencyKey)
    if (this.#pending.size >= this.#options.maxPending) {
      this.#stats.add('overloaded')
      throw new errors.OVERLOADED(this.#options.maxPending)
    }
    const value = encodePayload(payload, this.#options.maxRequestBytes)
    const { signal } = options
    if (signal?.aborted === true) throw new errors.CANCELLED()

    const now = Date.now()
    const deadline = now + (wait ?? timeout)
    let keyed: IdempotentCall | undefined
    if (idempotencyKey !== undefined) {
      keyed = idempotentCall(idempotencyKey, { route: cancelHandle?.route, topic, scope: options.idempotencyScope }, value, options.key)
    }
    const isAccepted = options.accepted ?? this.#options.accepted
    // A reply kept for less than the call waits would be gone when its 202 names it.
    if (isAccepted && this.#options.acceptedTtl <= (wait ?? timeout) + this.#options.replyGrace) {
      throw new errors.INVALID_CALL(`an accepted call's timeout plus replyGrace must be shorter than acceptedTtl (${this.#options.acceptedTtl} ms)`)
    }
    const accepted = isAccepted ? newAcceptedCall(options.idempotencyScope, this.#options.acceptedTtl, now, keyed?.ref) : undefined
    const correlation = newCorrelation(this.instanceId, deadline, keyed?.ref ?? accepted?.ref)
    if (keyed !== undefined || accepted !== undefined) {
      const replayed = await this.#claim(keyed ?? { ref: accepted!.ref, fingerprint: UNKEYED }, correlation, accepted)
      if (replayed !== undefined) return this.#answer(replayed, options, call)
      // The claim took a round trip: the call may have been cancelled, or the plugin begun to close.
      const stop = isAborted(signal) ? new errors.CANCELLED() : this.#state !== 'ready' ? new errors.CLOSING() : undefined
      if (stop !== undefined) {
        this.#release(correlation)
        throw stop
      }
    }
    // An accepted call's reply is awaited, and stored, until acceptedTtl: the worker is told that
    // deadline, so that it does not skip a request that waited out a worker outage.
    const workerDeadline = accepted?.until ?? deadline

    if (accepted !== undefined && cancelHandle?.respondAsync === true && wait === undefined) {
      // Prefer: respond-async: 202 once the request is in Kafka, without waiting for its reply.
      try {
        await this.#publish(topic, value, correlation, workerDeadline, options, call)
      } catch (err) {
        if (!accepted.keyed) this.#forget(accepted.ref) // nobody has its id
        throw err
      }
      throw this.#accepted(replyId(accepted.ref, accepted.token))
    }

    const waiting = this.#pending.add(correlation, wait ?? timeout, accepted === undefined ? undefined : replyId(accepted.ref, accepted.token))
    const onAbort = () => {
      if (this.#pending.fail(correlation.id, new errors.CANCELLED())) this.#stats.add('cancelled')
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    if (cancelHandle !== undefined) cancelHandle.cancel = onAbort
    this.#publish(topic, value, correlation, workerDeadline, options, call).catch((error: Error) => { this.#pending.fail(correlation.id, error) })

    let settled: Settled
    try {
      settled = await waiting
    } catch (err) {
      // Cancelled, or not published: nobody has the id of an accepted call without a key, so its record goes now.
      if (accepted !== undefined && !accepted.keyed && !(err instanceof errors.ACCEPTED)) this.#forget(accepted.ref)
      throw err
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
    // Answered in time: the same.
    if (accepted !== undefined && !accepted.keyed) this.#forget(accepted.ref)
    return this.#answer(settled, options, call)
  }

  /** The 202 of an accepted call: what to poll, and when. */
  #accepted (id: string): Error {
    this.#stats.add('accepted')
    return Object.assign(new errors.ACCEPTED(), { replyId: id, retryAfter: pollAfter(this.#options.retryAfter) })
  }

  /**
   * The reply of an accepted call, by the id its 202 gave (the Location's last segment), for a
   * poller in `scope` (compared with the call's `idempotencyScope`). Resolves with the worker's
   * reply as request() would have; rejects with the worker's error as request() would have, with
   * FST_KAFKA_REPLY_ACCEPTED (202, `retryAfter`) while the reply is awaited, and with
   * FST_KAFKA_REPLY_UNKNOWN_REPLY (404) when the id is unknown, expired or of another scope.
   */
  async poll (id: string, scope?: string): Promise<unknown> {
    if (this.#state !== 'ready') throw new errors.CLOSING()
    const parsed = parseReplyId(id)
    let record
    try {
      record = parsed === undefined ? undefined : await this.#store.idempotency.readAccepted(parsed.ref)
    } catch (err) {
      this.#log.warn({ err }, 'could not read an accepted call\'s record')
      this.#stats.add('unavailable')
      throw new errors.REDIS_UNAVAILABLE({ cause: err })
    }
    if (parsed === undefined || record === undefined || record.until <= Date.now() || !grants(record.access, parsed.token, scope)) {
      this.#stats.add('polledUnknown')
      throw new errors.UNKNOWN_REPLY()
    }
    if (record.stored === undefined) {
      this.#stats.add('polledPending')
      throw Object.assign(new errors.ACCEPTED(), { replyId: id, retryAfter: pollAfter(this.#options.retryAfter) })
    }
    const stored = decodeStored(record.stored)
    this.#stats.add('polledDone')
    if (stored === undefined) throw new errors.INVALID_REPLY('the stored reply is not one this version reads')
    const { outcome } = stored
    if (outcome.ok) return outcome.value
    if ('invalid' in outcome) throw new errors.INVALID_REPLY(outcome.invalid)
    throw remoteError(outcome.error)
  }

  /** What a settled call returns or throws: the same for a reply and for a replayed one. */
  #answer (settled: Settled, options: RequestOptions, call: CallTrace): unknown {
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

  /**
   * Records a keyed call as in flight before it is published. Resolves with the stored outcome of
   * an earlier call with the same key (to replay), or undefined when this call is to be published;
   * throws 409 while another is in flight, 422 for a key used for another request.
   */
  async #claim (keyed: IdempotentCall, correlation: Correlation, accepted: AcceptedCall | undefined): Promise<Settled | undefined> {
    const until = Math.max(correlation.deadline + this.#options.replyGrace, accepted?.until ?? 0)
    let claim: Claim
    try {
      // Redis away (a cluster node failing over): ioredis would hold the command past the call's deadline.
      claim = await withDeadline(this.#store.idempotency.claim(keyed.ref, keyed.fingerprint, correlation.id, until, accepted), correlation.deadline - Date.now(), () => {
        throw new Error('Redis did not answer the idempotency claim before the call\'s deadline')
      })
    } catch (err) {
      if (isNoPerm(err as Error)) {
        const pattern = `${this.#options.keyPrefix}:idempotency:*`
        throw new errors.NOT_AUTHORIZED(`the Redis user may not run the idempotency scripts on "${pattern}": grant +eval +evalsha, and +get +set +del on ~${pattern} (Redis said: ${(err as Error).message})`)
      }
      this.#log.warn({ err }, 'could not read or write an idempotency record')
      this.#stats.add('unavailable')
      throw new errors.REDIS_UNAVAILABLE({ cause: err })
    }
    switch (claim.state) {
      case 'claimed':
        return undefined
      case 'acceptedPending':
        // A retry of an accepted call whose reply is still awaited: the same 202, the same Location.
        if (accepted !== undefined) throw this.#accepted(replyId(keyed.ref, claim.access.slice(0, TOKEN_LENGTH)))
        this.#stats.add('inProgress')
        throw Object.assign(new errors.IDEMPOTENCY_IN_PROGRESS(), { retryAfter: secondsUntil(claim.until, Date.now()) })
      case 'inProgress': {
        this.#stats.add('inProgress')
        throw Object.assign(new errors.IDEMPOTENCY_IN_PROGRESS(), { retryAfter: secondsUntil(claim.until, Date.now()) })
      }
      case 'reused':
        this.#stats.add('keyReused')
        throw new errors.IDEMPOTENCY_KEY_REUSED()
      case 'done': {
        const stored = decodeStored(claim.stored)
        if (stored === undefined) break
        this.#stats.add('replayed')
        return { outcome: stored.outcome, route: { path: 'replayed', consumedBy: stored.consumedBy } }
      }
    }
    // A record of another layout: written by a newer version during a rolling deploy.
    this.#stats.add('invalidReplies')
    throw new errors.INVALID_REPLY('the idempotency record was written by a newer version of fastify-kafka-reply')
  }

  /** Deletes the record of a keyed call that certainly published nothing: a retry may proceed at once. */
  #release (correlation: Correlation): void {
    if (correlation.ref === undefined) return
    this.#store.idempotency.release(correlation.ref, correlation.id).catch((err: Error) => {
      this.#log.warn({ err }, 'could not release an idempotency record: retries get 409 until the call\'s deadline')
    })
  }

  /** Deletes the record of an accepted call without a key that was answered in time. */
  #forget (ref: string): void {
    this.#store.idempotency.forget(ref).catch((err: Error) => {
      this.#log.warn({ err }, 'could not delete an accepted call\'s record: it expires after acceptedTtl')
    })
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
    const redis = this.#store.live
    const kafka = this.#consumer?.healthy === true
    return { ready: this.#state === 'ready' && redis && kafka, kafka, redis }
  }

  /**
   * Refuses new calls and fails the waiting ones at once (503), so no caller hangs on shutdown. An
   * accepted call gets its 202 instead: its reply is stored by another replica and polled there.
   */
  stopAccepting (): void {
    if (this.#state === 'closed') return
    this.#state = 'closing'
    this.#pending.failAll(call => call.replyId === undefined ? new errors.CLOSING() : this.#accepted(call.replyId))
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
    results.push(...await this.#store.close())
    const leftOpen = await this.#transport?.close() ?? 0
    if (leftOpen > 0) this.#log.debug({ sockets: leftOpen }, 'closed Kafka connections the client library left open')
    this.#state = 'closed'
    for (const result of results) {
      if (result.status === 'rejected') this.#log.warn({ err: result.reason }, 'error while closing fastify-kafka-reply')
    }
  }

  async #closeProducer (): Promise<void> {
    const producer = this.#producer
    if (producer === undefined) return
    // A send still retrying (the broker away) would reconnect after close: let it end first, but
    // not for longer than a retry round takes when the broker does not come back.
    await withDeadline(producer.idle(), PRODUCER_DRAIN_MS, () => undefined)
    await producer.close()
  }

  /** Publishes a request; rejects with the error its call gets when it could not be. */
  #publish (topic: string, value: string, correlation: Correlation, deadline: number, options: RequestOptions, call: CallTrace): Promise<void> {
    const headers: Record<string, string | Buffer> = {
      ...options.headers,
      [HEADERS.correlationId]: correlation.id,
      [HEADERS.replyTopic]: this.#options.replyTopic,
      [HEADERS.deadline]: String(deadline),
      ...(correlation.ref === undefined ? undefined : { [HEADERS.idempotencyKey]: correlation.ref }),
      ...affinityHeaders(this.#options.affinity, this.#nextReplyPartition())
    }
    const send = call.publish(correlation.id, headers)
    return this.#producer!.send(topic, { key: options.key, value, headers }, send.scope).then(
      () => {
        endSpan(send.span, undefined)
        this.#stats.add('sent')
      },
      (err: Error) => {
        endSpan(send.span, undefined, err)
        this.#log.error({ err, topic }, 'could not publish a request to Kafka')
        const error = publishError(topic, err)
        // Refused by the broker: nothing was written, so a retry may go ahead. Any other failure
        // may have written the record all the same: its key stays in flight to its deadline.
        if (!(error instanceof errors.PUBLISH_FAILED)) this.#release(correlation)
        throw error
      }
    )
  }

  /**
   * Affinity: the reply partition to ask for, one of this instance's in turn, so that the reply
   * usually resolves in memory. Rebalances and instances without partitions fall back to Redis.
   */
  #nextReplyPartition (): number | undefined {
    if (this.#options.affinity === false) return undefined
    const partitions = this.#consumer?.partitions(this.#options.replyTopic) ?? []
    if (partitions.length === 0) return undefined
    return partitions[this.#nextPartition++ % partitions.length]
  }

  /**
   * One consumed batch of replies: ours are resolved in memory, others' are handed over through
   * the store in one go. Resolves only when the store took every hand-over, so the batch's offsets
   * are committed after it (at-least-once; a repeated hand-over is a harmless duplicate).
   */
  async #onReplies (batch: ConsumedBatch): Promise<void> {
    const { maxReplyBytes, maxTimeout, replyGrace } = this.#options
    const replies = batch.records.map(record => decodeReply(record, maxReplyBytes))
    const instances = this.#instances!
    const view: RoutingView = {
      instanceId: this.instanceId,
      now: Date.now(),
      latestDeadline: 0,
      replyGrace,
      isPending: id => this.#pending.has(id),
      isMember: id => instances.isMember(id)
    }
    view.latestDeadline = view.now + maxTimeout + CLOCK_SKEW
    // Instances the directory does not know yet are asked about once each, before routing.
    const confirmed = new Set<string>()
    for (const id of instancesToConfirm(replies, view)) {
      if (await instances.confirmMember(id)) confirmed.add(id)
    }
    if (confirmed.size > 0) view.isMember = id => confirmed.has(id) || instances.isMember(id)

    // Outcomes of keyed calls go to their records first, on time or late: a retry that follows the
    // answer at once must find it.
    await this.#storeOutcomes(replies, view)

    const handOvers: HandOver[] = []
    const spans: Span[] = []
    for (const reply of replies) {
      const route = routeReply(reply, view)
      if (route.to === 'nowhere') {
        this.#stats.add(DROPPED[route.reason])
      } else if (route.to === 'here') {
        const { correlation, outcome } = route.reply
        this.#pending.settle(correlation.id, { outcome, route: { path: 'memory', consumedBy: this.instanceId } })
        this.#stats.add('resolvedLocal')
      } else {
        const { correlation, outcome, json, headers } = route.reply
        handOvers.push({ correlation, outcome, json, ttl: route.ttl })
        const span = this.#telemetry.handover(headers, correlation.id, this.instanceId)
        if (span !== undefined) spans.push(span)
      }
    }
    let outcomes: HandOverOutcome[]
    try {
      outcomes = await this.#store.handOver(handOvers)
    } catch (err) {
      for (const span of spans) endSpan(span, undefined, err)
      throw err
    }
    for (const span of spans) endSpan(span, undefined)
    for (const outcome of outcomes) this.#stats.add(HANDED_OVER[outcome])
  }

  async #storeOutcomes (replies: Array<DecodedReply | undefined>, view: RoutingView): Promise<void> {
    const completions: Completion[] = []
    for (const reply of replies) {
      if (!storesOutcome(reply, view)) continue
      const { correlation, outcome, json } = reply
      completions.push({ ref: correlation.ref!, correlationId: correlation.id, stored: encodeStored(outcome, this.instanceId, json) })
    }
    if (completions.length === 0) return
    const outcomes = await this.#store.idempotency.complete(completions)
    this.#stats.add('outcomesStored', outcomes.filter(outcome => outcome === 'stored').length)
  }

  /** Shortly before the deadline: look in the store once more (a notification may have been lost). */
  #lastLook (call: PendingCall): void {
    this.#store.lastLook(call.correlation).then(arrival => {
      if (arrival !== undefined) this.#arrived(arrival)
    })
  }

  /** The deadline passed: 504 at once. The error says when, for a caller that measures how late it came. */
  #onDeadline (call: PendingCall): void {
    const { correlation } = call
    if (call.replyId !== undefined) {
      // An accepted call: 202, and its reply, when it comes, is stored for a poll.
      if (this.#pending.has(correlation.id)) this.#pending.fail(correlation.id, this.#accepted(call.replyId))
      return
    }
    const error = Object.assign(new errors.TIMEOUT(call.timeout), { deadline: correlation.deadline, expiredAt: Date.now() })
    if (this.#pending.fail(correlation.id, error)) this.#stats.add('timeouts')
  }

  /** A reply the store found for a call of this instance: settles the call; false when none took it. */
  #arrived ({ id, reply, foundBy }: Arrival): boolean {
    if (reply === undefined) {
      this.#stats.add('malformed')
      return false
    }
    const settled = this.#pending.settle(id, { outcome: reply.outcome, route: { path: 'redis', consumedBy: reply.consumedBy } })
    if (settled) {
      this.#stats.add('resolvedViaRedis')
      this.#stats.add(FOUND_BY[foundBy])
    }
    return settled
  }
}

/** Whether the call's signal has aborted (a function, so that a check after an await is not narrowed away). */
function isAborted (signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

/** The counter of each reason a consumed reply is dropped. */
const DROPPED: Record<DropReason, Counter> = {
  malformed: 'malformed',
  forged: 'malformed',
  unknownInstance: 'malformed',
  late: 'late',
  duplicate: 'duplicates'
}

const HANDED_OVER = {
  written: 'handedOver',
  duplicate: 'duplicates',
  late: 'late'
} as const

const FOUND_BY = {
  notification: 'resolvedByNotification',
  sweep: 'resolvedBySweep',
  lastLook: 'resolvedByLastLook'
} as const
