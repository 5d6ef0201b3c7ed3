import createError from '@fastify/error'

/**
 * Every error the plugin raises, one class per condition. Each carries a `code` and the HTTP
 * `statusCode` that Fastify's error handler answers with.
 */
export const errors = {
  /** The plugin was registered twice on the same Fastify instance. */
  ALREADY_REGISTERED: createError('FST_KAFKA_REPLY_ALREADY_REGISTERED', 'fastify-kafka-reply is already registered on this instance', 500),
  /** An option failed validation at registration; the message names the option. */
  INVALID_OPTION: createError('FST_KAFKA_REPLY_INVALID_OPTION', 'Invalid option %s: %s', 500, TypeError),
  /** Startup (the plugin's ready(), or createResponder) did not complete within `readyTimeout`. */
  READY_TIMEOUT: createError('FST_KAFKA_REPLY_READY_TIMEOUT', '%s was not ready within readyTimeout (%d ms)', 500),
  /** KafkaReply#start() was called a second time. */
  ALREADY_STARTED: createError('FST_KAFKA_REPLY_ALREADY_STARTED', 'KafkaReply#start() may be called once', 500),
  /** A call to awaitKafka/request was made with invalid arguments. */
  INVALID_CALL: createError('FST_KAFKA_REPLY_INVALID_CALL', 'Invalid call: %s', 500, TypeError),
  /** Redis does not deliver keyspace notifications for the plugin's keys. */
  NOTIFICATIONS_DISABLED: createError('FST_KAFKA_REPLY_NOTIFICATIONS_DISABLED', '%s', 500),
  /** Kafka or Redis refused the plugin (or the responder) something it needs at startup; the message names what to grant. */
  NOT_AUTHORIZED: createError('FST_KAFKA_REPLY_NOT_AUTHORIZED', 'Not authorized: %s', 500),
  /** The reply topic does not exist and `createTopics` is off. */
  TOPIC_MISSING: createError('FST_KAFKA_REPLY_TOPIC_MISSING', 'Reply topic "%s" does not exist: create it, or set createTopics: true', 500),
  /**
   * No reply arrived before the call's deadline. Carries `deadline` (epoch ms) and `expiredAt`
   * (epoch ms, when the plugin ended the call): how late its timer fired on a busy event loop.
   */
  TIMEOUT: createError('FST_KAFKA_REPLY_TIMEOUT', 'No reply within %d ms', 504),
  /** The worker replied with an error; statusCode is 502, or the 4xx the worker set. */
  REMOTE_ERROR: createError('FST_KAFKA_REPLY_REMOTE_ERROR', 'The worker failed: %s', 502),
  /** The reply was not JSON, or did not match the `schema` given to the call. */
  INVALID_REPLY: createError('FST_KAFKA_REPLY_INVALID_REPLY', 'The worker\'s reply is invalid: %s', 502),
  /** This instance already holds `maxPending` calls. */
  OVERLOADED: createError('FST_KAFKA_REPLY_OVERLOADED', 'Too many pending Kafka calls on this instance (%d)', 503),
  /** Redis is unreachable: a reply could not be handed over, so the call is refused at once. */
  REDIS_UNAVAILABLE: createError('FST_KAFKA_REPLY_REDIS_UNAVAILABLE', 'Redis is unavailable', 503),
  /** The request payload is larger than `maxRequestBytes`, or the broker refused it as too large: never published. */
  PAYLOAD_TOO_LARGE: createError('FST_KAFKA_REPLY_PAYLOAD_TOO_LARGE', 'The request payload is too large to publish: %s', 413),
  /** The request topic does not exist (and the broker does not create it), or the client may not write it. */
  TOPIC_UNAVAILABLE: createError('FST_KAFKA_REPLY_TOPIC_UNAVAILABLE', 'Kafka topic "%s" cannot be written: %s', 503),
  /** The request could not be published to Kafka. */
  PUBLISH_FAILED: createError('FST_KAFKA_REPLY_PUBLISH_FAILED', 'The request could not be published to Kafka', 503),
  /** The plugin is closing or closed; the call was not, or will not be, answered. */
  CLOSING: createError('FST_KAFKA_REPLY_CLOSING', 'The service is shutting down', 503),
  /** An idempotency key that is empty, longer than 255 characters, or has characters outside visible ASCII (or `"`, `\`). */
  INVALID_IDEMPOTENCY_KEY: createError('FST_KAFKA_REPLY_INVALID_IDEMPOTENCY_KEY', 'Invalid idempotency key: 1 to 255 visible ASCII characters, without " or \\', 400),
  /** A call with the same idempotency key and scope is still in flight; `retryAfter` says when it ends (seconds). */
  IDEMPOTENCY_IN_PROGRESS: createError('FST_KAFKA_REPLY_IDEMPOTENCY_IN_PROGRESS', 'A request with this idempotency key is in progress', 409),
  /** The idempotency key was used, in the same scope, for another payload or record key. */
  IDEMPOTENCY_KEY_REUSED: createError('FST_KAFKA_REPLY_IDEMPOTENCY_KEY_REUSED', 'This idempotency key was used for another request', 422),
  /**
   * Not an error for the HTTP client: an accepted call (option `accepted`) whose deadline passed with
   * no reply, or that was asked to answer at once (`Prefer: respond-async`). `reply.awaitKafka`
   * answers 202 with a Location; `request()` and `poll()` reject with it, carrying `replyId` (what to
   * poll) and `retryAfter` (seconds).
   */
  ACCEPTED: createError('FST_KAFKA_REPLY_ACCEPTED', 'The reply is not ready yet: poll its location', 202),
  /** A poll for a reply id that is unknown, expired (acceptedTtl after its call), or of another scope. */
  UNKNOWN_REPLY: createError('FST_KAFKA_REPLY_UNKNOWN_REPLY', 'No such reply: it is unknown, expired or not yours', 404),
  /** The caller went away (client disconnected or the call's signal aborted). */
  CANCELLED: createError('FST_KAFKA_REPLY_CANCELLED', 'The call was cancelled', 499)
} as const

export type KafkaReplyErrorCode = `FST_KAFKA_REPLY_${keyof typeof errors}`
