import type { ReplyRoute } from './protocol.js'
import type { ReplySchema } from './reply-schema.js'

/** Options of one call. */
export interface RequestOptions {
  /** Deadline of this call in ms (default: the plugin's `timeout`, at most `maxTimeout`). */
  timeout?: number
  /** Kafka record key of the request, e.g. to keep one customer's requests in order. */
  key?: string
  /** Extra Kafka headers for the request. */
  headers?: Record<string, string>
  /** Aborts the wait (the call rejects with FST_KAFKA_REPLY_CANCELLED). */
  signal?: AbortSignal
  /** A TypeBox schema the reply must match (FST_KAFKA_REPLY_INVALID_REPLY otherwise). */
  schema?: ReplySchema
  /** Told how the reply arrived (in memory or through Redis, and which instance consumed it). */
  onRoute?: (route: ReplyRoute) => void
}

/**
 * Filled in by request() with a function that cancels the call: how reply.awaitKafka stops a wait
 * when the client disconnects, without an AbortController per request.
 */
export interface CancelHandle {
  cancel?: () => void
}

/** Whether the parts the plugin depends on work right now. */
export interface KafkaReplyHealth {
  ready: boolean
  kafka: boolean
  redis: boolean
}
