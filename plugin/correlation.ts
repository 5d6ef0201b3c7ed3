import { randomBytes, randomUUID } from 'node:crypto'

/** Characters an instance id may use: safe in a Redis key, a hash tag and a Kafka header. */
export const INSTANCE_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$'

/** Longest correlation id the plugin makes, and reads. */
export const MAX_ID_LENGTH = 160
const ID = /^([A-Za-z0-9_-]{1,64})\.([0-9a-z]{1,11})\.([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})(?:\.([A-Za-z0-9_-]{22}))?$/

/** What a correlation id says about its call. */
export interface Correlation {
  /** The id itself, as sent in `kafka_correlationId`. */
  id: string
  /** The instance that waits for the reply. */
  instanceId: string
  /** The caller's deadline, epoch ms. */
  deadline: number
  /** The id without its instance: what tells the call apart within the instance. */
  requestId: string
  /** A call with an idempotency key: the key's reference (see idempotency.ts), which names its record. */
  ref?: string
}

/** A fresh random instance id (48 random bits: unique among the replicas of one group). */
export function newInstanceId (): string {
  return randomBytes(6).toString('base64url')
}

/**
 * A new correlation id: `<instanceId>.<deadline base 36>.<UUID v4>`, and `.<ref>` for a call with
 * an idempotency key. The UUID carries 122 random bits, so ids cannot be guessed; the instance, the
 * deadline and the reference travel in the id because repliers such as Spring's and NestJS's echo
 * only the id: whichever replica consumes the reply, however late, finds the call's record by it.
 */
export function newCorrelation (instanceId: string, deadline: number, ref?: string): Correlation {
  const requestId = `${deadline.toString(36)}.${randomUUID()}${ref === undefined ? '' : `.${ref}`}`
  const correlation: Correlation = { id: `${instanceId}.${requestId}`, instanceId, deadline, requestId }
  if (ref !== undefined) correlation.ref = ref
  return correlation
}

/**
 * Parses an id read from a reply record. The id is untrusted input: anything but the exact shape
 * that newCorrelation makes is refused (returns undefined), so no glob character, newline or
 * oversized string ever reaches a Redis key.
 */
export function parseCorrelationId (id: string): Correlation | undefined {
  if (id.length > MAX_ID_LENGTH) return undefined
  const match = ID.exec(id)
  if (match === null) return undefined
  const deadline = parseInt(match[2], 36)
  if (!Number.isSafeInteger(deadline)) return undefined
  const correlation: Correlation = { id, instanceId: match[1], deadline, requestId: id.slice(match[1].length + 1) }
  if (match[4] !== undefined) correlation.ref = match[4]
  return correlation
}
