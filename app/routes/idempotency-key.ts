/** The request header a client names its retries by (draft-ietf-httpapi-idempotency-key-header). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key'

/**
 * The key an `Idempotency-Key` header carries, undefined when it is absent. The IETF draft makes the
 * value a structured-field string, `"abc"` with its quotes; Stripe and most clients send it bare,
 * `abc`. Both name the same key. Nothing else is checked here: the plugin refuses a malformed key
 * (400 FST_KAFKA_REPLY_INVALID_IDEMPOTENCY_KEY), and since a key may hold neither `"` nor `\`, a
 * quoted value with escapes, parameters or a quote missing is refused there too.
 */
export function idempotencyKeyOf (header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined
  // Node joins a header sent twice with ", ", which no key may hold: the plugin refuses it.
  const value = Array.isArray(header) ? header.join(', ') : header
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value
}
