/** Tracer and meter name of the plugin and the responder. */
export const INSTRUMENTATION_SCOPE = 'fastify-kafka-reply'

/** Attribute names: OpenTelemetry's messaging conventions, and this project's own. */
export const ATTR = {
  messagingSystem: 'messaging.system',
  destination: 'messaging.destination.name',
  conversationId: 'messaging.message.conversation_id',
  partition: 'messaging.destination.partition.id',
  outcome: 'kafka_reply.outcome',
  path: 'kafka_reply.path',
  consumedBy: 'kafka_reply.consumed_by',
  instance: 'kafka_reply.instance_id',
  errorType: 'error.type'
} as const

/** Bucket advice in seconds: latencies from a millisecond to the longest sensible deadline. */
export const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10, 30]

const PREFIX = 'FST_KAFKA_REPLY_'

/**
 * The `kafka_reply.outcome` of a call that failed: the error code without its prefix, in lower
 * case (`FST_KAFKA_REPLY_TIMEOUT` is `timeout`), so a code added later gets its own value.
 * REDIS_UNAVAILABLE is `unavailable`; an error that is not the plugin's is `error`.
 */
export function outcomeOf (err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code !== 'string' || !code.startsWith(PREFIX)) return 'error'
  const name = code.slice(PREFIX.length).toLowerCase()
  return name === 'redis_unavailable' ? 'unavailable' : name
}
