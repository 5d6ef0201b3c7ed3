import { errors } from '../errors.js'
import { withDeadline } from '../deadline.js'
import { createTransport, type KafkaOption } from '../kafka/index.js'
import { COMMIT_INTERVAL_MS, ProduceError, type ConsumedBatch, type ConsumedRecord, type ConsumerSettings } from '../kafka/transport.js'
import { HEADERS, REMOTE_CODES, headerString, type RecordHeaders } from '../protocol.js'
import { correlationText, rawHeader, replyPartition } from './request-headers.js'
import { checkResponderOptions, replyTopicFilter } from './options.js'
import { ReplyError, toRemoteError, tooLarge } from './error-replies.js'
import { CompletedOffsets } from './completed-offsets.js'
import { Semaphore } from './semaphore.js'
import { silentLog, type Log } from '../log.js'
import { ResponderTelemetry } from '../telemetry/responder.js'

/** Replies handled but not yet acknowledged by the broker, at most (their requests are not committed). */
const MAX_UNSENT_REPLIES = 1024
/** A longer kafka_idempotencyKey is cut to this (the plugin's are 22 characters). */
const MAX_IDEMPOTENCY_KEY = 255

/** What a handler learns about the request besides its payload. */
export interface RequestContext {
  topic: string
  partition: number
  offset: string
  /**
   * The request's `kafka_correlationId` as text (hex when its bytes are not UTF-8 text, as with
   * Spring's binary ids). The reply echoes the original bytes either way.
   */
  correlationId: string
  /** The caller's deadline (epoch ms), when the request carried one. */
  deadline: number | undefined
  /**
   * The call's idempotency key as the caller's plugin scoped it (`kafka_idempotencyKey`), when it
   * has one: the same for every retry of a call, so a handler that must not do the work twice
   * deduplicates by it (not by correlationId, which is new for each retry).
   */
  idempotencyKey: string | undefined
  headers: RecordHeaders
}

/**
 * Answers one request. The returned value (JSON-serialisable) is the reply. A thrown error becomes
 * an error reply. A `ReplyError`, or an error with a 4xx `statusCode` (http-errors' `expose`
 * convention), passes its message, code and 4xx status to the caller. Any other error is the
 * worker's own: the caller gets a 502 with a fixed message naming the correlation id (code
 * `WORKER_ERROR`), and the error is logged on the worker with that id. The stack never travels.
 */
export type Handler = (payload: unknown, context: RequestContext) => unknown

export { ReplyError }

/** Options of createResponder. */
export interface ResponderOptions {
  /** The Kafka client library and how it reaches Kafka: a kafkajs config or `{ client }`, or `{ library: '@platformatic/kafka', brokers, ... }`. */
  kafka: KafkaOption
  /** The responder's consumer group (one per kind of worker). */
  groupId: string
  /** One handler per request topic. */
  handlers: Record<string, Handler>
  /** Requests handled at once (default 16). */
  concurrency?: number
  /**
   * Largest reply (JSON bytes) sent (default 1000000, under the broker's default message.max.bytes).
   * A larger result, or one the broker refuses as too large, is answered with an error reply
   * (code REPLY_TOO_LARGE): the caller gets a 502 at once rather than a 504 at its deadline.
   */
  maxReplyBytes?: number
  /**
   * Where a new group starts reading (default true: the beginning). A group that has committed
   * offsets resumes from them either way. Starting at the beginning means no request produced
   * before the group's first fetch is missed; requests whose deadline has passed are skipped
   * unread, so the history costs little.
   */
  fromBeginning?: boolean
  /**
   * A request that carries no deadline header (Spring's and NestJS's callers send none) and is
   * older than this, by its record timestamp, is skipped as expired: otherwise a new group,
   * reading from the beginning, would answer every old request again. Default 60000 ms.
   */
  maxRequestAge?: number
  /**
   * The topics replies may go to: names, or RegExps that must match a whole name. A request whose
   * `kafka_replyTopic` is not among them gets no reply (counted `refused`, logged without its
   * payload). Default: any topic, which lets whoever may write a request topic make the worker
   * publish to any topic its principal may write. Set it, or limit the worker's Write ACL.
   */
  replyTopics?: Array<string | RegExp>
  /** How long startup may take, until the consumer has joined its group (default 30000 ms). */
  readyTimeout?: number
  /** Where logs go (default: nowhere). Fastify's or pino's logger fits. */
  logger?: Log
  /**
   * Pass every handler error's message to the caller, as earlier versions did (default false).
   * For development only: a database driver's message can name hosts, users and tables.
   */
  exposeErrors?: boolean
  /** Consumer settings (`maxWaitTimeInMs` 500 by default, so that close() is prompt). */
  consumer?: ConsumerSettings
}

/** Counters of one responder. */
export interface ResponderStats {
  /** Requests answered with the handler's result. */
  replied: number
  /** Requests answered with an error reply. */
  failed: number
  /** Requests skipped because their caller's deadline had passed, or (without a deadline) older than maxRequestAge. */
  expired: number
  /** Requests skipped as malformed (no correlation id or reply topic). */
  malformed: number
  /** Requests skipped unanswered because their reply topic is not among `replyTopics`. */
  refused: number
  /** Replies that could not be produced (reply topic missing or forbidden, Kafka unreachable): their callers time out. */
  unsent: number
}

/** A running responder. */
export interface Responder {
  stats: () => ResponderStats
  /** Stops consuming, waits for the batch in hand, leaves the group and disconnects. */
  close: () => Promise<void>
}

/**
 * Starts a worker-side responder: consumes the handlers' topics in its own group, runs each
 * request's handler and replies to the `kafka_replyTopic` (and partition) the request names,
 * echoing its `kafka_correlationId` byte for byte. Replies carry NestJS's markers too, so Spring,
 * NestJS and this plugin can all call it. Offsets are committed after the replies were produced.
 * Resolves once the consumer has joined its group.
 */
export async function createResponder (options: ResponderOptions): Promise<Responder> {
  checkResponderOptions(options)
  const topics = Object.keys(options.handlers)
  const concurrency = options.concurrency ?? 16
  const maxRequestAge = options.maxRequestAge ?? 60_000
  const maxReplyBytes = options.maxReplyBytes ?? 1_000_000
  const readyTimeout = options.readyTimeout ?? 30_000
  const log = options.logger ?? silentLog
  const exposeErrors = options.exposeErrors ?? false
  const transport = await createTransport(options.kafka, log)
  const stats: ResponderStats = { replied: 0, failed: 0, expired: 0, malformed: 0, refused: 0, unsent: 0 }
  const replyAllowed = replyTopicFilter(options.replyTopics)

  const producer = transport.producer({ maxBatchBytes: maxReplyBytes, ignoreMissingPartition: true })
  const telemetry = new ResponderTelemetry()
  telemetry.wrappedProducer = producer.instrumented
  const consumer = transport.consumer({
    groupId: options.groupId,
    topics,
    fromBeginning: options.fromBeginning ?? true,
    commits: 'manual',
    settings: options.consumer ?? {}
  })

  /** Runs the handler, calls `handled` once it has settled, then produces the reply. */
  async function answer (topic: string, partition: number, message: ConsumedRecord, handled: () => void): Promise<void> {
    const headers = message.headers
    const rawId = rawHeader(headers, HEADERS.correlationId)
    const replyTopic = headerString(headers, HEADERS.replyTopic)
    if (rawId === undefined || rawId.length === 0 || replyTopic === undefined || replyTopic.length === 0) {
      stats.malformed++
      log.warn({ topic, partition, offset: message.offset }, 'request without kafka_correlationId or kafka_replyTopic skipped')
      return
    }
    const correlationId = correlationText(rawId)
    if (!replyAllowed(replyTopic)) {
      stats.refused++
      log.warn({ topic, partition, offset: message.offset, correlationId, replyTopic: replyTopic.slice(0, 256) }, 'request skipped unanswered: its kafka_replyTopic is not among replyTopics')
      return
    }
    const trace = telemetry.process(topic, partition, correlationId, headers)
    const deadline = numberHeader(headers, HEADERS.deadline)
    const now = Date.now()
    if (deadline !== undefined ? deadline <= now : Number(message.timestamp) < now - maxRequestAge) {
      stats.expired++
      trace.end('expired')
      return
    }
    // The id's bytes as they came (Spring's are binary); NestJS's caller completes its call only
    // on a reply marked disposed or failed.
    const replyHeaders: Record<string, string | Buffer> = { [HEADERS.correlationId]: rawId, [HEADERS.nestIsDisposed]: 'true' }
    let value: string | null = null
    let failure: unknown
    try {
      const payload = message.value === null ? null : parsePayload(message.value)
      const idempotencyKey = headerString(headers, HEADERS.idempotencyKey)?.slice(0, MAX_IDEMPOTENCY_KEY)
      const context = { topic, partition, offset: message.offset, correlationId, deadline, idempotencyKey, headers }
      value = JSON.stringify(await trace.run(() => options.handlers[topic](payload, context)) ?? null)
      const bytes = Buffer.byteLength(value)
      if (bytes > maxReplyBytes) throw tooLarge(`${bytes} bytes, maxReplyBytes is ${maxReplyBytes}`)
    } catch (err) {
      failure = err ?? new Error(String(err))
      value = null
      const remote = toRemoteError(err, correlationId, exposeErrors)
      if (remote.code === REMOTE_CODES.workerError) {
        log.error({ err, correlationId, topic, partition, offset: message.offset }, 'the handler failed; the caller got WORKER_ERROR')
      }
      const error = JSON.stringify(remote)
      replyHeaders[HEADERS.replyError] = error
      replyHeaders[HEADERS.nestError] = error
    }
    handled()
    const scope = trace.inject(replyHeaders)
    const toPartition = replyPartition(headers)
    try {
      try {
        await producer.send(replyTopic, { value, headers: replyHeaders, partition: toPartition }, scope)
      } catch (err) {
        if (failure !== undefined || !(err instanceof ProduceError && err.kind === 'tooLarge')) throw err
        // The broker's limit is below maxReplyBytes: tell the caller rather than leave it to time out.
        failure = tooLarge('the broker refused it')
        const error = JSON.stringify(toRemoteError(failure, correlationId, exposeErrors))
        await producer.send(replyTopic, { value: null, headers: { ...replyHeaders, [HEADERS.replyError]: error, [HEADERS.nestError]: error }, partition: toPartition }, scope)
      }
    } catch (err) {
      trace.end('publish_failed', err)
      throw err
    }
    stats[failure === undefined ? 'replied' : 'failed']++
    trace.end(failure === undefined ? 'ok' : 'error', failure)
  }

  // Requests are handed to handlers as they are fetched, up to `concurrency` at once, and the
  // consumer fetches on while they run; offsets are committed every COMMIT_INTERVAL_MS, up to the
  // first request whose reply is not produced yet. A handler's permit is free once it has
  // returned: a reply waiting for a partition whose leader died must not hold up the requests
  // whose replies go elsewhere. Replies waiting for the broker have their own, larger bound.
  const handlers = new Semaphore(concurrency)
  const unsent = new Semaphore(MAX_UNSENT_REPLIES)
  const completed = new CompletedOffsets()
  consumer.onJoin(() => completed.reset())
  let committing: Promise<void> = Promise.resolve()
  // One commit at a time; close() waits for the last one, since a commit still retrying after
  // the consumer closed would open a new connection that nothing closes.
  const commit = () => {
    committing = committing
      .then(() => consumer.commit(completed.takeCommittable()))
      .catch((err: Error) => log.warn({ err }, 'could not commit request offsets'))
    return committing
  }
  const committer = setInterval(commit, COMMIT_INTERVAL_MS).unref()

  async function onBatch ({ records, topic, partition, lastOffset, stillOwned, taken, heartbeat }: ConsumedBatch): Promise<void> {
    const done = completed.start(topic, partition, lastOffset, records.length)
    for (const record of records) {
      // Left untaken, the rest of the batch is fetched again by whoever owns it next.
      if (!stillOwned()) return
      const wait = unsent.acquire()
      if (wait !== undefined) await wait
      const permit = handlers.acquire()
      if (permit !== undefined) await permit
      let held = true
      const handled = () => {
        if (held) handlers.release()
        held = false
      }
      answer(topic, partition, record, handled).catch((err: Error) => {
        stats.unsent++
        log.error({ err, topic, partition, offset: record.offset }, 'could not produce a reply')
      }).finally(() => {
        handled()
        unsent.release()
        done()
      })
      taken(record.offset)
    }
    await heartbeat()
  }

  try {
    await producer.connect()
    await withDeadline(consumer.start(onBatch), readyTimeout, () => {
      throw new errors.READY_TIMEOUT(`createResponder (group "${options.groupId}")`, readyTimeout)
    })
  } catch (err) {
    clearInterval(committer)
    await Promise.allSettled([consumer.close(), producer.close()])
    await transport.close()
    throw err
  }

  return {
    stats: () => ({ ...stats }),
    async close () {
      // Stop fetching, let the requests in hand be answered, commit them, then leave.
      log.debug({}, 'responder closing: stopping the consumer')
      await consumer.stop()
      log.debug({}, 'responder closing: waiting for the requests in hand')
      await unsent.drained()
      clearInterval(committer)
      log.debug({}, 'responder closing: committing')
      await commit()
      log.debug({}, 'responder closing: disconnecting')
      await consumer.close()
      await producer.idle()
      await producer.close()
      const leftOpen = await transport.close()
      if (leftOpen > 0) log.debug({ sockets: leftOpen }, 'responder closing: closed Kafka connections the client library left open')
      log.debug({}, 'responder closed')
    }
  }
}

function parsePayload (value: Buffer): unknown {
  try {
    return JSON.parse(value.toString())
  } catch {
    throw new ReplyError(400, 'the request payload is not valid JSON', REMOTE_CODES.invalidJson)
  }
}

function numberHeader (headers: RecordHeaders, name: string): number | undefined {
  const text = headerString(headers, name)
  if (text === undefined || !/^\d{1,16}$/.test(text)) return undefined
  return Number(text)
}
