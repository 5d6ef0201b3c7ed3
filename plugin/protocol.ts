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

/** Record headers as kafkajs hands them over. */
export type RecordHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>

/** The error a worker reports in a reply. */
export interface RemoteError {
  message: string
  code?: string
  statusCode?: number
}

const MAX_ERROR_MESSAGE = 1024
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

const MARKERS = { reply: 'R', error: 'E', invalid: 'I' } as const

/** Which of the three outcomes a reply is. */
export type OutcomeKind = keyof typeof MARKERS

/** The kind of an outcome, for encodeStored. */
export function outcomeKind (outcome: ReplyOutcome): OutcomeKind {
  if (outcome.ok) return 'reply'
  return 'error' in outcome ? 'error' : 'invalid'
}

/**
 * Redis value of a handed-over reply: a marker character (R reply, E error, I invalid), the id of
 * the instance that consumed it, `|`, then the JSON text exactly as the worker wrote it (no second
 * JSON encoding; for an invalid reply, what was wrong as a JSON string).
 */
export function encodeStored (kind: OutcomeKind, consumedBy: string, json: string): string {
  return `${MARKERS[kind]}${consumedBy}|${json}`
}

/**
 * Reverses encodeStored; undefined when the value is not one of ours. An unknown marker letter is
 * a layout of a newer version: an `invalid` outcome that says so.
 */
export function decodeStored (stored: string): { outcome: ReplyOutcome, consumedBy: string } | undefined {
  const marker = stored[0]
  const bar = stored.indexOf('|')
  if (bar < 1) return undefined
  const consumedBy = stored.slice(1, bar)
  const body = stored.slice(bar + 1)
  try {
    if (marker === 'R') return { outcome: { ok: true, value: JSON.parse(body) }, consumedBy }
    if (marker === 'E') return { outcome: { ok: false, error: parseRemoteError(body) }, consumedBy }
    if (marker === 'I') return { outcome: { ok: false, invalid: String(JSON.parse(body)).slice(0, MAX_ERROR_MESSAGE) }, consumedBy }
  } catch {
    return undefined
  }
  // The marker is the stored layout's version: one this version does not know was written by a
  // newer replica during a rolling deploy. The call fails now (502) rather than at its deadline.
  if (/^[A-Z]$/.test(marker)) return { outcome: { ok: false, invalid: `the reply was stored by a newer version of fastify-kafka-reply (marker ${marker})` }, consumedBy }
  return undefined
}

/** How a reply reached the waiting instance. */
export interface ReplyRoute {
  /** `memory`: the waiting instance consumed the reply itself; `redis`: another instance handed it over. */
  path: 'memory' | 'redis'
  /** The instance that consumed the reply record. */
  consumedBy: string
}

/** A settled call: the reply and its route. */
export interface Settled {
  outcome: ReplyOutcome
  route: ReplyRoute
}
