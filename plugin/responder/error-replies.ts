// What a worker's error reply tells its caller: deliberate errors pass, the worker's own are masked.
import { REMOTE_CODES, type RemoteError } from '../protocol.js'

/** An error whose status and code reach the caller, e.g. `new ReplyError(422, 'unknown sku', 'INVALID_SKU')`. */
export class ReplyError extends Error {
  readonly statusCode: number
  readonly code: string | undefined
  constructor (statusCode: number, message: string, code?: string) {
    super(message)
    this.name = 'ReplyError'
    this.statusCode = statusCode
    this.code = code
  }
}

/**
 * What the caller learns of a handler's error: a deliberate one (a `ReplyError`, or a 4xx
 * `statusCode` not marked `expose: false`) passes its message, code and 4xx status; any other is
 * masked, naming only the correlation id, unless `exposeErrors` is on.
 */
export function toRemoteError (err: unknown, correlationId: string, exposeErrors: boolean): RemoteError {
  const { message, code, statusCode, expose } = (err ?? {}) as { message?: unknown, code?: unknown, statusCode?: unknown, expose?: unknown }
  const clientError = typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500
  if (!exposeErrors && !(err instanceof ReplyError) && !(clientError && expose !== false)) {
    return { message: `internal error (correlation id ${correlationId})`, code: REMOTE_CODES.workerError }
  }
  const remote: RemoteError = { message: typeof message === 'string' ? message : String(err) }
  if (typeof code === 'string') remote.code = code
  if (clientError) remote.statusCode = statusCode
  return remote
}

/** The error reply of a handler result too large to send: the caller's 502. */
export function tooLarge (why: string): Error {
  return new ReplyError(502, `the reply is too large to send (${why})`, REMOTE_CODES.replyTooLarge)
}
