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
  /** Told how the reply arrived (in memory, through Redis, or replayed, and which instance consumed it). */
  onRoute?: (route: ReplyRoute) => void
  /**
   * Makes a retry of this call safe: a call with the same key (in the same scope) gets this call's
   * outcome once there is one (replayed, nothing published), 409 while this call is in flight, 422
   * when it asks something else. 1 to 255 visible ASCII characters but `"` and `\`
   * (FST_KAFKA_REPLY_INVALID_IDEMPOTENCY_KEY otherwise). See docs/idempotency.md.
   */
  idempotencyKey?: string
  /**
   * What the key is scoped to besides the route (awaitKafka) and the topic: the authenticated user's
   * id, say. Without it, anyone who learns a key reads its outcome.
   */
  idempotencyScope?: string
  /**
   * When the deadline passes with no reply, the caller gets 202 Accepted and a place to fetch the
   * late reply (`reply.awaitKafka`: a `Location` under the plugin's poll route; `request()` rejects
   * with FST_KAFKA_REPLY_ACCEPTED carrying `replyId`), instead of a 504. Default: the plugin's
   * `accepted` option. `idempotencyScope` scopes the poll too. See docs/accepted.md.
   */
  accepted?: boolean
}

/**
 * Filled in by request() with a function that cancels the call: how reply.awaitKafka stops a wait
 * when the client disconnects, without an AbortController per request.
 */
export interface CancelHandle {
  cancel?: () => void
  /** The route that calls, `<method> <url pattern>`: part of an idempotency key's scope. */
  route?: string
  /**
   * An accepted call whose client prefers `respond-async` (RFC 7240): 202 once it is published, or
   * with `wait` (ms), once that much of its deadline has passed with no reply.
   */
  respondAsync?: boolean
  wait?: number
}

/** Whether the parts the plugin depends on work right now. */
export interface KafkaReplyHealth {
  ready: boolean
  kafka: boolean
  redis: boolean
}
