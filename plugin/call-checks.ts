import { errors } from './errors.js'
import { ProduceError } from './kafka/transport.js'
import type { RemoteError } from './protocol.js'

/** Checks a call's topic and timeout (ms, from 1 to maxTimeout); throws FST_KAFKA_REPLY_INVALID_CALL. */
export function checkTarget (topic: unknown, timeout: unknown, maxTimeout: number): void {
  if (typeof topic !== 'string' || topic.length === 0) throw new errors.INVALID_CALL('topic must be a non-empty string')
  if (!Number.isInteger(timeout) || (timeout as number) < 1 || (timeout as number) > maxTimeout) {
    throw new errors.INVALID_CALL(`timeout must be an integer from 1 to maxTimeout (${maxTimeout} ms)`)
  }
}

/**
 * A call's payload as the JSON text to publish. Throws FST_KAFKA_REPLY_INVALID_CALL when it has no
 * JSON form, FST_KAFKA_REPLY_PAYLOAD_TOO_LARGE above `maxRequestBytes`.
 */
export function encodePayload (payload: unknown, maxRequestBytes: number): string {
  const value = JSON.stringify(payload)
  if (value === undefined) throw new errors.INVALID_CALL('payload must be JSON-serialisable')
  const bytes = Buffer.byteLength(value)
  if (bytes > maxRequestBytes) throw new errors.PAYLOAD_TOO_LARGE(`${bytes} bytes, maxRequestBytes is ${maxRequestBytes}`)
  return value
}

/** The error a call gets when its request could not be published: its own fault, its topic's, or Kafka's. */
export function publishError (topic: string, err: Error): Error {
  const kind = err instanceof ProduceError ? err.kind : 'retriable'
  const code = err instanceof ProduceError ? err.brokerCode : undefined
  if (kind === 'tooLarge') return new errors.PAYLOAD_TOO_LARGE(`the broker refused it (${code})`, { cause: err })
  if (kind === 'topicMissing' || kind === 'notAuthorized') return new errors.TOPIC_UNAVAILABLE(topic, code, { cause: err })
  return new errors.PUBLISH_FAILED({ cause: err })
}

/** The error a call gets when the worker replied with an error: 502, or the worker's 4xx. */
export function remoteError (remote: RemoteError): Error {
  const error = new errors.REMOTE_ERROR(remote.message) as Error & { statusCode: number, remoteCode?: string }
  if (remote.statusCode !== undefined) error.statusCode = remote.statusCode
  if (remote.code !== undefined) error.remoteCode = remote.code
  return error
}
