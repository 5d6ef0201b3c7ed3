import { MAX_ERROR_MESSAGE, parseRemoteError, type ReplyOutcome } from '../protocol.js'
import type { StoredReply } from './store.js'

const MARKERS = { reply: 'R', error: 'E', invalid: 'I' } as const

/**
 * Redis value of a handed-over reply: a marker character (R reply, E error, I invalid), the id of
 * the instance that consumed it, `|`, then the JSON text exactly as the worker wrote it (no second
 * JSON encoding; for an invalid reply, what was wrong as a JSON string).
 */
export function encodeStored (outcome: ReplyOutcome, consumedBy: string, json: string): string {
  const marker = outcome.ok ? MARKERS.reply : 'error' in outcome ? MARKERS.error : MARKERS.invalid
  return `${marker}${consumedBy}|${json}`
}

/**
 * Reverses encodeStored; undefined when the value is not one of ours. An unknown marker letter is
 * a layout of a newer version: an `invalid` outcome that says so.
 */
export function decodeStored (stored: string): StoredReply | undefined {
  const marker = stored[0]
  const bar = stored.indexOf('|')
  if (bar < 1) return undefined
  const consumedBy = stored.slice(1, bar)
  const body = stored.slice(bar + 1)
  try {
    if (marker === MARKERS.reply) return { outcome: { ok: true, value: JSON.parse(body) }, consumedBy }
    if (marker === MARKERS.error) return { outcome: { ok: false, error: parseRemoteError(body) }, consumedBy }
    if (marker === MARKERS.invalid) return { outcome: { ok: false, invalid: String(JSON.parse(body)).slice(0, MAX_ERROR_MESSAGE) }, consumedBy }
  } catch {
    return undefined
  }
  // The marker is the stored layout's version: one this version does not know was written by a
  // newer replica during a rolling deploy. The call fails now (502) rather than at its deadline.
  if (/^[A-Z]$/.test(marker)) return { outcome: { ok: false, invalid: `the reply was stored by a newer version of fastify-kafka-reply (marker ${marker})` }, consumedBy }
  return undefined
}
