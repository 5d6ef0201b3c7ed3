/**
 * The wire protocol between the plugin and a worker. Header names follow Spring Kafka and NestJS,
 * so their repliers interoperate.
 */
export const HEADERS = {
  correlationId: 'kafka_correlationId',
  replyTopic: 'kafka_replyTopic',
  replyPartition: 'kafka_replyPartition',
  /** The caller's deadline, epoch ms: a worker skips requests whose caller has given up. */
  deadline: 'kafka_deadline',
  /** On a reply: the handler failed; the value is `{ message, code?, statusCode? }` as JSON. */
  replyError: 'kafka_replyError',
  /** NestJS's error header on a reply. */
  nestError: 'kafka_nest-err'
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

/** A reply as it travels from the consuming instance to the waiting one. */
export type ReplyOutcome =
  | { ok: true, value: unknown }
  | { ok: false, error: RemoteError }

/**
 * Redis value of a handed-over reply: a marker character (R reply, E error), the id of the
 * instance that consumed it, `|`, then the JSON text exactly as the worker wrote it (no second
 * JSON encoding).
 */
export function encodeStored (ok: boolean, consumedBy: string, json: string): string {
  return `${ok ? 'R' : 'E'}${consumedBy}|${json}`
}

/** Reverses encodeStored; undefined when the value is not one of ours. */
export function decodeStored (stored: string): { outcome: ReplyOutcome, consumedBy: string } | undefined {
  const marker = stored[0]
  const bar = stored.indexOf('|')
  if (bar < 1) return undefined
  const consumedBy = stored.slice(1, bar)
  const body = stored.slice(bar + 1)
  try {
    if (marker === 'R') return { outcome: { ok: true, value: JSON.parse(body) }, consumedBy }
    if (marker === 'E') return { outcome: { ok: false, error: parseRemoteError(body) }, consumedBy }
  } catch {}
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
