import type { RecordHeaders } from './kafka/transport.js'

/**
 * The wire protocol between the plugin and a worker: every header either side reads or writes.
 * Names follow Spring Kafka and NestJS where they have one, so their repliers and callers
 * interoperate. Values are UTF-8 text unless said otherwise.
 */
export const HEADERS = {
  /**
   * Request and reply: the call's id; a replier echoes it. The plugin's ids are text; Spring's
   * ReplyingKafkaTemplate sends 16 raw bytes, so the responder echoes the bytes as they came.
   */
  correlationId: 'kafka_correlationId',
  /** Request: the topic to reply to. */
  replyTopic: 'kafka_replyTopic',
  /**
   * Request: the partition to reply to, as Spring and NestJS read it. Spring reads a 4-byte
   * big-endian int, NestJS a decimal string; the plugin sends it only with `affinity: 'spring'`
   * (int) or `'nestjs'` (decimal). The responder reads either.
   */
  replyPartition: 'kafka_replyPartition',
  /**
   * Request: the partition to reply to, a decimal string that only this project's responder reads
   * (before `kafka_replyPartition`). Sent with any `affinity` but `false`.
   */
  replyPartitionHint: 'kafka_replyPartitionHint',
  /**
   * Request: the call's idempotency key as the plugin scopes it (a digest of route, topic,
   * `idempotencyScope` and the client's key; never the client's text). The same for every retry of
   * a call: what a worker deduplicates by (`context.idempotencyKey`).
   */
  idempotencyKey: 'kafka_idempotencyKey',
  /** Request: the caller's deadline, epoch ms as a decimal string: a worker skips requests whose caller has given up. */
  deadline: 'kafka_deadline',
  /** Reply: the handler failed; the value is `{ message, code?, statusCode? }` as JSON. */
  replyError: 'kafka_replyError',
  /**
   * Reply: NestJS's error header, JSON. The plugin reads it as it reads `kafka_replyError`; the
   * responder sends both, so a NestJS caller's observable errors.
   */
  nestError: 'kafka_nest-err',
  /**
   * Reply: NestJS's "no more replies to this call" marker (any value; the responder sends `true`).
   * A NestJS caller's observable completes only on it or on `kafka_nest-err`.
   */
  nestIsDisposed: 'kafka_nest-is-disposed'
} as const

export type { RecordHeaders }

/**
 * Error codes the responder puts in its error replies for failures of its own (a handler's error
 * carries the handler's code).
 */
export const REMOTE_CODES = {
  /** The handler's result was larger than maxReplyBytes, or the broker refused the reply as too large. */
  replyTooLarge: 'REPLY_TOO_LARGE',
  /** The request's payload was not JSON (status 400). */
  invalidJson: 'INVALID_JSON',
  /**
   * The handler threw an error that was not meant for the caller (not a `ReplyError`, no 4xx
   * `statusCode`): the caller gets a fixed message naming the correlation id, the worker's log the error.
   */
  workerError: 'WORKER_ERROR'
} as const

/** The error a worker reports in a reply. */
export interface RemoteError {
  message: string
  code?: string
  statusCode?: number
}

/** Longest error message a reply passes on. */
export const MAX_ERROR_MESSAGE = 1024
const ERROR_CODE = /^[A-Za-z0-9_.-]{1,64}$/

/** One header as a string; the first value when a header repeats. */
export function headerString (headers: RecordHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name]
  const first = Array.isArray(value) ? value[0] : value
  if (first === undefined) return undefined
  return typeof first === 'string' ? first : first.toString('utf8')
}

/**
 * Reads a worker's error from a reply: the JSON error object or plain text. Untrusted input, so the
 * message is cut short, the code must look like one and only a 4xx status passes (anything else is
 * the gateway's 502).
 */
export function parseRemoteError (raw: string): RemoteError {
  let value: unknown = raw
  try {
    value = JSON.parse(raw)
  } catch {}
  if (typeof value !== 'object' || value === null) {
    return { message: String(value).slice(0, MAX_ERROR_MESSAGE) }
  }
  const { message, code, statusCode } = value as Record<string, unknown>
  const error: RemoteError = { message: typeof message === 'string' ? message.slice(0, MAX_ERROR_MESSAGE) : 'unknown error' }
  if (typeof code === 'string' && ERROR_CODE.test(code)) error.code = code
  if (typeof statusCode === 'number' && Number.isInteger(statusCode) && statusCode >= 400 && statusCode < 500) {
    error.statusCode = statusCode
  }
  return error
}

/**
 * A reply as it travels from the consuming instance to the waiting one: the worker's value, the
 * worker's error, or `invalid` (the reply was not JSON; the text says what was wrong).
 */
export type ReplyOutcome =
  | { ok: true, value: unknown }
  | { ok: false, error: RemoteError }
  | { ok: false, invalid: string }

/** How a reply reached the waiting instance. */
export interface ReplyRoute {
  /**
   * `memory`: the waiting instance consumed the reply itself; `redis`: another instance handed it
   * over; `replayed`: the reply of an earlier call with the same idempotency key, nothing published.
   */
  path: 'memory' | 'redis' | 'replayed'
  /** The instance that consumed the reply record. */
  consumedBy: string
}

/** A settled call: the reply and its route. */
export interface Settled {
  outcome: ReplyOutcome
  route: ReplyRoute
}

/** How a call asks the worker to reply to a partition this instance consumes (see RequestOptions and the `affinity` option). */
export type Affinity = boolean | 'spring' | 'nestjs'

/**
 * The reply-partition headers of a request. The hint header only this project's responder reads;
 * `kafka_replyPartition` only in the encoding the user named, since Spring and NestJS read it
 * differently and a misread header loses the reply.
 */
export function affinityHeaders (affinity: Affinity, partition: number | undefined): Record<string, string | Buffer> | undefined {
  if (affinity === false || partition === undefined) return undefined
  const hint = { [HEADERS.replyPartitionHint]: String(partition) }
  if (affinity === 'spring') return { ...hint, [HEADERS.replyPartition]: int32(partition) }
  if (affinity === 'nestjs') return { ...hint, [HEADERS.replyPartition]: String(partition) }
  return hint
}

/** A 4-byte big-endian int, as Spring Kafka reads `kafka_replyPartition`. */
function int32 (value: number): Buffer {
  const bytes = Buffer.alloc(4)
  bytes.writeInt32BE(value)
  return bytes
}
