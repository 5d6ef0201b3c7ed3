import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { REF_LENGTH } from './idempotency.js'

/**
 * Accepted calls (202 Accepted): what needs no I/O. A call with `accepted` whose deadline passes
 * with no reply is answered 202 with a Location, `<acceptedPrefix>/replies/<reply id>`, and its
 * late reply is stored in the call's record (idempotency-records.ts) for `acceptedTtl`.
 */

/** Length of the secret token in a reply id: 22 base64url characters, 128 random bits. */
export const TOKEN_LENGTH = 22
/** Length of the scope digest stored with an accepted call. */
export const SCOPE_LENGTH = 22
/** A reply id: the record's reference, then the token. */
const REPLY_ID = new RegExp(`^[A-Za-z0-9_-]{${REF_LENGTH + TOKEN_LENGTH}}$`)

/** One accepted call, as its record and its Location know it. */
export interface AcceptedCall {
  /**
   * The reference of the call's record: the idempotency key's reference for a call with a key (so
   * that a retry finds the same record, and the same Location), else a digest of the token.
   * Travels in the correlation id, which workers and Kafka readers see.
   */
  ref: string
  /** 128 random bits: never in the correlation id, a header or a log; only in the record and the Location. */
  token: string
  /** The digest of the call's `idempotencyScope` (undefined included): a poll must come from the same scope. */
  scope: string
  /** Epoch ms after which the reply is no longer kept: the call's start plus acceptedTtl. */
  until: number
  /** Whether the call has an idempotency key (its record is then also the key's). */
  keyed: boolean
}

/**
 * A new accepted call: a fresh token, and the record's reference (the idempotency key's, or the
 * token's digest). `now` is when the call starts: the reply is kept until `now + ttl`.
 */
export function newAcceptedCall (scope: string | undefined, ttl: number, now: number, keyedRef?: string): AcceptedCall {
  const token = randomBytes(16).toString('base64url')
  const ref = keyedRef ?? digest(`accepted:${token}`).slice(0, REF_LENGTH)
  return { ref, token, scope: scopeDigest(scope), until: now + ttl, keyed: keyedRef !== undefined }
}

/** The id in the Location of an accepted call: its record's reference and its token (44 base64url characters). */
export function replyId (ref: string, token: string): string {
  return `${ref}${token}`
}

/** Splits a reply id from a poll; undefined when it is not one the plugin makes (the poll is then a 404). */
export function parseReplyId (id: unknown): { ref: string, token: string } | undefined {
  if (typeof id !== 'string' || !REPLY_ID.test(id)) return undefined
  return { ref: id.slice(0, REF_LENGTH), token: id.slice(REF_LENGTH) }
}

/** The digest of a scope as the record holds it: the scope's text never reaches Redis. */
export function scopeDigest (scope: string | undefined): string {
  return digest(JSON.stringify(['scope', scope ?? null])).slice(0, SCOPE_LENGTH)
}

/** Whether a poll's token and scope are those of the record: compared in constant time. */
export function grants (access: string, token: string, scope: string | undefined): boolean {
  const expected = Buffer.from(access)
  const given = Buffer.from(`${token}${scopeDigest(scope)}`)
  return expected.length === given.length && timingSafeEqual(expected, given)
}

function digest (text: string): string {
  return createHash('sha256').update(text).digest('base64url')
}

/** What a request's `Prefer` header (RFC 7240) asks of an accepted call. */
export interface Preferences {
  /** `respond-async`: the client handles a 202 Accepted. */
  respondAsync: boolean
  /** `wait=<seconds>`: how long the client waits for the reply before it would rather have the 202. */
  wait?: number
}

/**
 * Parses `Prefer` headers (RFC 7240): a comma-separated list of preferences, each `token` or
 * `token=word` with `;`-separated parameters (ignored here); names are case-insensitive, a
 * quoted-string may hold commas and semicolons, and only the first instance of a preference counts.
 * Node joins a header sent twice with ", ", which is the same list. Anything malformed is skipped.
 */
export function parsePrefer (header: string | string[] | undefined): Preferences {
  const preferences: Preferences = { respondAsync: false }
  if (header === undefined) return preferences
  const seen = new Set<string>()
  for (const item of splitOutsideQuotes(Array.isArray(header) ? header.join(',') : header, ',')) {
    const [first] = splitOutsideQuotes(item, ';')
    const eq = first.indexOf('=')
    const name = (eq === -1 ? first : first.slice(0, eq)).trim().toLowerCase()
    if (name === '' || seen.has(name)) continue
    seen.add(name)
    // respond-async takes no value (RFC 7240, 4.1), wait a delta-seconds (4.3); others are not acted on.
    if (name === 'respond-async') preferences.respondAsync = true
    const value = eq === -1 ? undefined : first.slice(eq + 1).trim()
    if (name === 'wait' && value !== undefined && /^\d{1,9}$/.test(value)) preferences.wait = Number(value)
  }
  return preferences
}

function splitOutsideQuotes (text: string, separator: string): string[] {
  const parts: string[] = []
  let current = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quoted && c === '\\' && i + 1 < text.length) {
      current += c + text[++i]
      continue
    }
    if (c === '"') quoted = !quoted
    if (c === separator && !quoted) {
      parts.push(current)
      current = ''
    } else {
      current += c
    }
  }
  parts.push(current)
  return parts
}

/** Seconds a 202 asks the client to wait before it polls: whole seconds, at least one. */
export function pollAfter (retryAfter: number): number {
  return Math.max(1, retryAfter)
}
