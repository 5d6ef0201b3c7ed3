import { Type } from '@sinclair/typebox'
import { errors } from '../errors.js'
import { checkKafkaOption } from '../kafka/index.js'
import { checkSchema, ConsumerSettingsSchema, Millis } from '../schemas.js'

/** The responder's options that are plain values, checked once by createResponder. */
export const ResponderOptionsSchema = Type.Object({
  kafka: Type.Unknown({ description: 'the Kafka library and how it reaches Kafka (as the plugin\'s kafka option)' }),
  groupId: Type.String({ minLength: 1, maxLength: 255 }),
  handlers: Type.Unknown({ description: 'one handler function per request topic' }),
  concurrency: Type.Optional(Type.Integer({ minimum: 1, description: 'requests handled at once' })),
  maxReplyBytes: Type.Optional(Type.Integer({ minimum: 1, description: 'largest reply (JSON bytes) sent' })),
  fromBeginning: Type.Optional(Type.Boolean()),
  maxRequestAge: Type.Optional(Millis('age past which a request without a deadline is skipped')),
  replyTopics: Type.Optional(Type.Unknown({ description: 'the topics replies may go to: names and RegExps' })),
  readyTimeout: Type.Optional(Millis('how long startup may take')),
  logger: Type.Optional(Type.Unknown({ description: 'a logger with debug, info, warn and error' })),
  exposeErrors: Type.Optional(Type.Boolean({ description: 'pass every handler error\'s message to the caller (development only)' })),
  consumer: Type.Optional(ConsumerSettingsSchema)
}, { additionalProperties: false })

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const

/**
 * Validates createResponder's options: unknown keys and invalid values fail with
 * FST_KAFKA_REPLY_INVALID_OPTION naming the option's path.
 */
export function checkResponderOptions (options: unknown): void {
  checkSchema(ResponderOptionsSchema, options)
  const { kafka, handlers, logger, replyTopics } = options as Record<string, unknown>
  if (replyTopics !== undefined) {
    if (!Array.isArray(replyTopics)) throw new errors.INVALID_OPTION('replyTopics', 'expected an array of topic names and RegExps')
    replyTopics.forEach((entry: unknown, i) => {
      if (!(entry instanceof RegExp) && (typeof entry !== 'string' || entry.length === 0)) {
        throw new errors.INVALID_OPTION(`replyTopics.${i}`, 'expected a topic name or a RegExp')
      }
    })
  }
  checkKafkaOption(kafka)
  if (typeof handlers !== 'object' || handlers === null || Array.isArray(handlers)) {
    throw new errors.INVALID_OPTION('handlers', 'expected an object of one handler function per topic')
  }
  const topics = Object.keys(handlers)
  if (topics.length === 0) throw new errors.INVALID_OPTION('handlers', 'must name at least one topic')
  for (const topic of topics) {
    if (typeof (handlers as Record<string, unknown>)[topic] !== 'function') throw new errors.INVALID_OPTION(`handlers.${topic}`, 'expected a function')
  }
  if (logger !== undefined) {
    const missing = LOG_LEVELS.find(level => typeof (logger as Record<string, unknown> | null)?.[level] !== 'function')
    if (missing !== undefined) throw new errors.INVALID_OPTION('logger', `expected a logger with a ${missing}() method`)
  }
}

/** Whether a reply may go to a topic: any, without `replyTopics`; else a listed name or a RegExp matching the whole name. */
export function replyTopicFilter (allowed: Array<string | RegExp> | undefined): (topic: string) => boolean {
  if (allowed === undefined) return () => true
  const names = new Set(allowed.filter((entry): entry is string => typeof entry === 'string'))
  const patterns = allowed.filter((entry): entry is RegExp => entry instanceof RegExp)
    .map(re => new RegExp(`^(?:${re.source})$`, re.flags.replace(/[gy]/g, '')))
  return topic => names.has(topic) || patterns.some(re => re.test(topic))
}
