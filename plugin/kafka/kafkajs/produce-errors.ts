import type { Message } from 'kafkajs'
import { ProduceError, type ProduceErrorKind } from '../transport.js'

/** Broker errors that say a topic is missing (or its name invalid). */
const MISSING_ERRORS = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'INVALID_TOPIC_EXCEPTION'])
/** Broker errors that say the client may not write. */
const AUTHORIZATION_ERRORS = new Set(['TOPIC_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED'])
/** Broker errors that belong to a topic: no other topic's records fail for them. */
const TOPIC_ERRORS = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'TOPIC_AUTHORIZATION_FAILED', 'INVALID_TOPIC_EXCEPTION'])
/** Broker errors that belong to records (or the batch of one partition): sent alone, the others pass. */
const RECORD_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TIMESTAMP'])
/** The broker refused the records as too large. */
const SIZE_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE'])

/**
 * The broker's error type (`MESSAGE_TOO_LARGE`, ...) behind a kafkajs error: kafkajs wraps it in
 * KafkaJSNumberOfRetriesExceeded or KafkaJSNonRetriableError, with the original as `cause`.
 */
export function brokerErrorType (error: unknown): string | undefined {
  let current = error as { type?: unknown, cause?: unknown } | undefined
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (typeof current.type === 'string') return current.type
    current = current.cause as typeof current
  }
  return undefined
}

/**
 * Which records a failed send's error belongs to: a topic's (missing, forbidden), some records' (too large), or
 * shared by every record in it (broker unreachable, timeouts), when sending them apart would not help.
 */
export function failureScope (error: unknown): 'topic' | 'record' | 'shared' {
  const type = brokerErrorType(error)
  if (type === undefined) return 'shared'
  if (TOPIC_ERRORS.has(type)) return 'topic'
  if (RECORD_ERRORS.has(type)) return 'record'
  return 'shared'
}

/** The broker refused the record as larger than its `message.max.bytes` (or the topic's `max.message.bytes`). */
export function isTooLarge (error: unknown): boolean {
  return SIZE_ERRORS.has(brokerErrorType(error) ?? '')
}

/** The topic cannot be written: it does not exist (and is not auto-created), the client may not write it, or its name is invalid. */
export function isTopicUnwritable (error: unknown): boolean {
  return TOPIC_ERRORS.has(brokerErrorType(error) ?? '')
}

/** The class of a failed send, for the transport's callers. */
export function produceErrorKind (error: unknown): ProduceErrorKind {
  const type = brokerErrorType(error) ?? ''
  if (SIZE_ERRORS.has(type)) return 'tooLarge'
  if (MISSING_ERRORS.has(type)) return 'topicMissing'
  if (AUTHORIZATION_ERRORS.has(type)) return 'notAuthorized'
  return 'retriable'
}

/** A kafkajs send error as the transport reports it. */
export function toProduceError (error: unknown): ProduceError {
  return error instanceof ProduceError ? error : new ProduceError(produceErrorKind(error), brokerErrorType(error), error)
}

/** Bytes a record takes in a produce request, near enough: value, key and headers. */
export function recordSize (message: Message): number {
  let bytes = byteLength(message.value) + byteLength(message.key)
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    bytes += Buffer.byteLength(name)
    for (const one of Array.isArray(value) ? value : [value]) bytes += byteLength(one)
  }
  return bytes
}

function byteLength (value: string | Buffer | null | undefined): number {
  if (value === null || value === undefined) return 0
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length
}
