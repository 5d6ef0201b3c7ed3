import type { ConsumedRecord } from './kafka/transport.js'
import { MAX_ID_LENGTH, parseCorrelationId, type Correlation } from './correlation.js'
import { HEADERS, headerString, parseRemoteError, type ReplyOutcome } from './protocol.js'

/** A reply record that passed validation. */
export interface DecodedReply {
  correlation: Correlation
  outcome: ReplyOutcome
  /** The reply as JSON text, ready to be stored without a second encoding (for `invalid`, the reason). */
  json: string
  /** The record's headers (the responder's trace context travels in them). */
  headers: ConsumedRecord['headers']
}

const NOT_JSON = 'the reply is not JSON'

/**
 * Validates a consumed reply record. Everything in it is untrusted: a record without a
 * well-formed correlation id or with a value over `maxBytes` yields undefined and is to be counted
 * as malformed. A value that is not JSON, under a well-formed id, is an `invalid` outcome: its
 * call fails at once (502) rather than at its deadline.
 */
export function decodeReply (message: Pick<ConsumedRecord, 'headers' | 'value'>, maxBytes: number): DecodedReply | undefined {
  const rawId = message.headers[HEADERS.correlationId]
  if (rawId === undefined || Array.isArray(rawId) || rawId.length > MAX_ID_LENGTH) return undefined
  const correlation = parseCorrelationId(rawId.toString())
  if (correlation === undefined) return undefined
  if (message.value !== null && message.value.length > maxBytes) return undefined

  const errorHeader = headerString(message.headers, HEADERS.replyError) ?? headerString(message.headers, HEADERS.nestError)
  if (errorHeader !== undefined) {
    if (errorHeader.length > maxBytes) return undefined
    const error = parseRemoteError(errorHeader)
    return { correlation, outcome: { ok: false, error }, json: JSON.stringify(error), headers: message.headers }
  }
  const json = message.value === null || message.value.length === 0 ? 'null' : message.value.toString()
  try {
    return { correlation, outcome: { ok: true, value: JSON.parse(json) }, json, headers: message.headers }
  } catch {
    return { correlation, outcome: { ok: false, invalid: NOT_JSON }, json: JSON.stringify(NOT_JSON), headers: message.headers }
  }
}
