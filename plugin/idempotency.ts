import { createHash } from 'node:crypto'
import { errors } from './errors.js'

/**
 * What a client may send as an idempotency key: 1 to 255 visible ASCII characters but `"` and `\`
 * (UUIDs, ULIDs, base64 and Stripe-style keys all fit, and the key needs no escaping as an HTTP
 * structured-field string). The key is hashed before it becomes part of a Redis key or a header.
 */
const KEY = /^[\x21\x23-\x5b\x5d-\x7e]{1,255}$/
/** Length of a reference in a correlation id: 22 base64url characters, the first 132 bits of a SHA-256. */
export const REF_LENGTH = 22
/** Length of a fingerprint: a whole SHA-256 in base64url. */
export const FINGERPRINT_LENGTH = 43

/** What a key means something in: where the call comes from and what it asks. */
export interface IdempotencyScope {
  /** `<method> <url pattern>` of the route that calls (awaitKafka), or undefined outside a route. */
  route: string | undefined
  topic: string
  /** The caller's own scope (`idempotencyScope`, e.g. the authenticated user's id). */
  scope: string | undefined
}

/** One keyed call, as the records know it. */
export interface IdempotentCall {
  /**
   * The digest of the key within its scope: 22 base64url characters. It names the call's record in
   * Redis, travels in its correlation id, and is what the worker sees as `context.idempotencyKey`.
   */
  ref: string
  /** The digest of what the call asks (payload JSON and record key): a reused key asks something else. */
  fingerprint: string
}

/** Throws FST_KAFKA_REPLY_INVALID_IDEMPOTENCY_KEY (400) unless `key` is one a client may send. */
export function checkIdempotencyKey (key: unknown): asserts key is string {
  if (typeof key !== 'string' || !KEY.test(key)) {
    throw new errors.INVALID_IDEMPOTENCY_KEY()
  }
}

/**
 * The reference and the fingerprint of a call with `key`. Two calls share a reference only when
 * route, topic, scope and key are all the same; they share a fingerprint only when they publish
 * the same payload JSON under the same record key.
 */
export function idempotentCall (key: string, scope: IdempotencyScope, payloadJson: string, recordKey: string | undefined): IdempotentCall {
  const ref = digest(JSON.stringify([scope.route ?? null, scope.topic, scope.scope ?? null, key])).slice(0, REF_LENGTH)
  const fingerprint = digest(JSON.stringify([recordKey ?? null, payloadJson]))
  return { ref, fingerprint }
}

function digest (text: string): string {
  return createHash('sha256').update(text).digest('base64url')
}

/** Seconds a 409 asks the client to wait: until the call in flight ends (its deadline plus grace), at least one. */
export function secondsUntil (until: number, now: number): number {
  return Math.max(1, Math.ceil((until - now) / 1000))
}
