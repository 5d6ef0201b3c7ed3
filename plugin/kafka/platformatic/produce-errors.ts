import { protocolErrorsCodesById, protocolErrors } from '@platformatic/kafka'
import { ProduceError, type ProduceErrorKind } from '../transport.js'

/** Broker errors that say a topic is missing (or its name invalid). */
const MISSING_ERRORS = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'INVALID_TOPIC_EXCEPTION'])
/** Broker errors that say the client may not write. */
const AUTHORIZATION_ERRORS = new Set(['TOPIC_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED'])
/** Broker errors that belong to a topic: no other topic's records fail for them. */
export const TOPIC_ERRORS = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'TOPIC_AUTHORIZATION_FAILED', 'INVALID_TOPIC_EXCEPTION'])
/** Broker errors that belong to records (the batch of one partition): sent alone, the others pass. */
export const RECORD_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TIMESTAMP'])
/** The broker refused the records as too large. */
const SIZE_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE'])

/**
 * The library's metadata lookup turns the broker's UNKNOWN_TOPIC_OR_PARTITION into a UserError
 * that keeps only the topic's name (clients/base/base.js); the broker's name is put back from it.
 */
const UNKNOWN_TOPIC_MESSAGE = /^Unknown topic /

interface LibraryError {
  apiId?: unknown
  code?: unknown
  message?: unknown
  errors?: unknown
  cause?: unknown
}

/**
 * The broker's error name (`MESSAGE_TOO_LARGE`, ...) behind a library error. The library's
 * ProtocolError carries it as `apiId`; retried operations wrap the attempts' errors in a
 * MultipleErrors (`errors`, oldest first), and concurrent requests theirs in another: the
 * latest attempt's error is the one that counts.
 */
export function brokerErrorName (error: unknown, depth = 0): string | undefined {
  if (depth > 6 || typeof error !== 'object' || error === null) return undefined
  const { apiId, code, message, errors, cause } = error as LibraryError
  if (typeof apiId === 'string') return apiId
  if (code === 'PLT_KFK_USER' && typeof message === 'string' && UNKNOWN_TOPIC_MESSAGE.test(message)) return 'UNKNOWN_TOPIC_OR_PARTITION'
  if (Array.isArray(errors)) {
    for (let i = errors.length - 1; i >= 0; i--) {
      const name = brokerErrorName(errors[i], depth + 1)
      if (name !== undefined) return name
    }
  }
  return brokerErrorName(cause, depth + 1)
}

/** The class of a failed send, for the transport's callers. */
export function produceErrorKind (brokerCode: string | undefined): ProduceErrorKind {
  const name = brokerCode ?? ''
  if (SIZE_ERRORS.has(name)) return 'tooLarge'
  if (MISSING_ERRORS.has(name)) return 'topicMissing'
  if (AUTHORIZATION_ERRORS.has(name)) return 'notAuthorized'
  return 'retriable'
}

/** A library error as the transport reports it; `brokerCode` when the caller knows it better. */
export function toProduceError (error: unknown, brokerCode = brokerErrorName(error)): ProduceError {
  return error instanceof ProduceError ? error : new ProduceError(produceErrorKind(brokerCode), brokerCode, error)
}

interface ProduceResponseLike {
  responses?: Array<{ name?: unknown, partitionResponses?: Array<{ index?: unknown, errorCode?: unknown }> }>
}

/**
 * Per partition (`topic\0partition`), what the produce requests behind a failed send said: the
 * broker's error name, or undefined where the partition's records were written. The library fails
 * a whole send when any partition of it failed, yet keeps each broker's response (a
 * ResponseError's `response`) and the offsets of the requests that succeeded (`produced`).
 */
export function partitionOutcomes (error: unknown): Map<string, string | undefined> {
  const outcomes = new Map<string, string | undefined>()
  const produced = (error as { produced?: { offsets?: Array<{ topic: string, partition: number }> } } | null)?.produced
  for (const { topic, partition } of produced?.offsets ?? []) outcomes.set(partitionKey(topic, partition), undefined)
  for (const response of responses(error)) {
    for (const { name, partitionResponses } of response.responses ?? []) {
      if (typeof name !== 'string' || !Array.isArray(partitionResponses)) continue
      for (const { index, errorCode } of partitionResponses) {
        if (typeof index !== 'number' || typeof errorCode !== 'number') continue
        outcomes.set(partitionKey(name, index), errorCode === 0 ? undefined : protocolErrorsCodesById[errorCode] ?? `ERROR_${errorCode}`)
      }
    }
  }
  return outcomes
}

/** Whether the broker says this error may pass on a later attempt. */
export function isRetriableBrokerError (name: string): boolean {
  return protocolErrors[name]?.canRetry === true
}

/**
 * Whether a failure that no produce response explains (no connection, a timeout, a failed metadata
 * lookup) may pass later: every error in it says it can be retried (`canRetry`, the library's own
 * test), and none is the client's being closed.
 */
export function isRetriable (error: unknown): boolean {
  const leaves = leafErrors(error)
  return leaves.length > 0 && leaves.every(leaf => leaf.canRetry === true && leaf.closed !== true)
}

/** The topic a send failed on because the broker does not know it, if that is why it failed. */
export function unknownTopic (error: unknown): string | undefined {
  for (const leaf of leafErrors(error)) {
    const found = typeof leaf.message === 'string' ? UNKNOWN_TOPIC_NAME.exec(leaf.message) : null
    if (leaf.code === 'PLT_KFK_USER' && found !== null) return found[1]
  }
  return undefined
}

const UNKNOWN_TOPIC_NAME = /^Unknown topic (.+)\.$/

interface Leaf extends LibraryError {
  canRetry?: unknown
  closed?: unknown
}

/** The errors of a failure, retried attempts and concurrent requests flattened, broker responses left out. */
function leafErrors (error: unknown, depth = 0, into: Leaf[] = []): Leaf[] {
  if (depth > 6 || typeof error !== 'object' || error === null) return into
  const node = error as Leaf
  if (node.code === 'PLT_KFK_RESPONSE') return into
  if (Array.isArray(node.errors) && node.errors.length > 0) {
    for (const child of node.errors) leafErrors(child, depth + 1, into)
  } else {
    into.push(node)
  }
  return into
}

/** The produce responses in a failure, oldest attempt first. */
function responses (error: unknown, depth = 0, into: ProduceResponseLike[] = []): ProduceResponseLike[] {
  if (depth > 6 || typeof error !== 'object' || error === null) return into
  const { code, errors } = error as LibraryError
  const response = (error as { response?: ProduceResponseLike }).response
  if (code === 'PLT_KFK_RESPONSE' && Array.isArray(response?.responses)) into.push(response)
  else if (Array.isArray(errors)) for (const child of errors) responses(child, depth + 1, into)
  return into
}

/** The key of a topic's partition in partitionOutcomes(). */
export function partitionKey (topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}
