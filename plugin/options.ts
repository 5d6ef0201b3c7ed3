import { Type, type Static } from '@sinclair/typebox'
import type { Redis } from 'ioredis'
import type { FastifyRequest } from 'fastify'
import { isCluster, isClusterOption, isServerOption, type RedisOption } from './redis/client.js'
import { errors } from './errors.js'
import { INSTANCE_ID_PATTERN, newInstanceId } from './correlation.js'
import { checkKafkaOption, type KafkaOption } from './kafka/index.js'
import { CONSUMER_DEFAULTS } from './kafka/transport.js'
import { checkSchema, ConsumerSettingsSchema, Millis } from './schemas.js'

/** The plain (non-client) options, checked once at registration. */
export const OptionsSchema = Type.Object({
  kafka: Type.Unknown({ description: 'the Kafka library and how it reaches Kafka: a kafkajs config or { client }, or { library: \'@platformatic/kafka\', brokers, ... }' }),
  redis: Type.Unknown({ description: 'a redis:// URL, { url, options }, an ioredis Redis or Cluster, or { cluster: [redis:// URLs] }' }),
  replyTopic: Type.String({ minLength: 1, maxLength: 249, pattern: '^[A-Za-z0-9._-]+$' }),
  groupId: Type.String({ minLength: 1, maxLength: 255 }),
  keyPrefix: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$' })),
  instanceId: Type.Optional(Type.String({ pattern: INSTANCE_ID_PATTERN })),
  timeout: Type.Optional(Millis('default deadline of one call')),
  maxTimeout: Type.Optional(Millis('largest deadline a call may ask for')),
  maxPending: Type.Optional(Type.Integer({ minimum: 1 })),
  retryAfter: Type.Optional(Type.Integer({ minimum: 0, description: 'Retry-After seconds on 503' })),
  replyGrace: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000, description: 'ms a stored reply outlives its deadline' })),
  maxReplyBytes: Type.Optional(Type.Integer({ minimum: 1 })),
  maxRequestBytes: Type.Optional(Type.Integer({ minimum: 1, description: 'largest request payload (JSON bytes) published; larger ones are refused with 413' })),
  createTopics: Type.Optional(Type.Boolean()),
  replyTopicPartitions: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  replyTopicReplicationFactor: Type.Optional(Type.Integer({ minimum: 1, maximum: 32_767, description: 'replicas of a reply topic the plugin creates (default: the broker\'s default.replication.factor)' })),
  configureKeyspaceEvents: Type.Optional(Type.Boolean()),
  readyTimeout: Type.Optional(Millis('how long startup may take')),
  idempotencyTtl: Type.Optional(Type.Integer({ minimum: 1000, description: 'ms the outcome of a call with an idempotencyKey is kept for its retries' })),
  accepted: Type.Optional(Type.Boolean({ description: 'the default of the call option accepted: 202 Accepted and a Location past the deadline, instead of a 504' })),
  acceptedTtl: Type.Optional(Type.Integer({ minimum: 1000, maximum: 2_147_483_647, description: 'ms an accepted call\'s reply is kept for its polls, counted from the call' })),
  acceptedPrefix: Type.Optional(Type.String({ pattern: '^(/[A-Za-z0-9._~-]+)*$', maxLength: 200, description: 'URL prefix of the poll route GET <acceptedPrefix>/replies/:id' })),
  acceptedScope: Type.Optional(Type.Unknown({ description: 'a function (request) => string | undefined: the poller\'s scope, compared with the call\'s idempotencyScope' })),
  affinity: Type.Optional(Type.Union([Type.Boolean(), Type.Literal('spring'), Type.Literal('nestjs')], {
    description: 'ask workers to reply to a partition this instance consumes: true (this project\'s responder), \'spring\' or \'nestjs\' (also in that replier\'s encoding), false'
  })),
  consumer: Type.Optional(ConsumerSettingsSchema)
}, { additionalProperties: false })

type PlainOptions = Static<typeof OptionsSchema>

export type { KafkaOption }

/** Options of fastify-kafka-reply. */
export interface KafkaReplyOptions extends Omit<PlainOptions, 'kafka' | 'redis' | 'acceptedScope'> {
  /**
   * How the plugin reaches Kafka: a kafkajs config (`brokers`, `clientId`, ...) or `{ client }` with a
   * kafkajs instance you own; or `{ library: '@platformatic/kafka', brokers, clientId, ... }`.
   */
  kafka: KafkaOption
  /**
   * A redis:// (or rediss://) URL, `{ url, options }` (ioredis options, e.g. `tls: { ca }`), or
   * `{ cluster: ['redis://host:port', ...], options? }` (the plugin creates and closes the client);
   * or an ioredis Redis or Cluster you own (without an ioredis `keyPrefix`).
   */
  redis: RedisOption
  /**
   * The scope of a poll of the route `GET <acceptedPrefix>/replies/:id`, from the poll's request
   * (the authenticated user's id, say): a poll gets the reply only when it equals the call's
   * `idempotencyScope`. Unset: polls have no scope, and only calls without one can be polled.
   */
  acceptedScope?: (request: FastifyRequest) => string | undefined
}

/** The options with every default filled in. */
export interface ResolvedOptions extends Required<Omit<KafkaReplyOptions, 'consumer' | 'replyTopicReplicationFactor' | 'acceptedPrefix' | 'acceptedScope'>> {
  consumer: NonNullable<PlainOptions['consumer']>
  /** Where the poll route is: set when `accepted` or `acceptedPrefix` was (the route is registered), else undefined. */
  acceptedPrefix?: string
  acceptedScope?: (request: FastifyRequest) => string | undefined
  /** Unset: the broker's default.replication.factor. */
  replyTopicReplicationFactor?: number
}

export const DEFAULTS = {
  keyPrefix: 'kafka-reply',
  timeout: 5000,
  maxTimeout: 60_000,
  maxPending: 10_000,
  retryAfter: 1,
  replyGrace: 1000,
  maxReplyBytes: 1024 * 1024,
  // The broker's default message.max.bytes is 1048588 per record batch: room left for headers and key.
  maxRequestBytes: 1_000_000,
  createTopics: false,
  replyTopicPartitions: 3,
  configureKeyspaceEvents: false,
  readyTimeout: 30_000,
  idempotencyTtl: 86_400_000,
  accepted: false,
  acceptedTtl: 3_600_000,
  affinity: true
} as const

/** The poll route's prefix when `acceptedPrefix` is not set. */
export const DEFAULT_ACCEPTED_PREFIX = '/kafka-reply'

/**
 * Validates the options once, at registration. An invalid value is an error that names the
 * option; nothing is silently replaced by a default.
 */
export function resolveOptions (options: unknown): ResolvedOptions {
  checkSchema(OptionsSchema, options)
  const plain = options as PlainOptions
  checkKafkaOption(plain.kafka)
  checkRedis(plain.redis)
  const resolved = {
    ...DEFAULTS,
    instanceId: newInstanceId(),
    ...withoutUndefined(plain),
    consumer: { ...CONSUMER_DEFAULTS, ...withoutUndefined(plain.consumer ?? {}) }
  } as ResolvedOptions
  if (plain.acceptedScope !== undefined && typeof plain.acceptedScope !== 'function') {
    throw new errors.INVALID_OPTION('acceptedScope', 'expected a function (request) => string | undefined')
  }
  // The poll route is registered when accepted calls are on by default or its prefix was chosen.
  if (resolved.accepted || plain.acceptedPrefix !== undefined) resolved.acceptedPrefix ??= DEFAULT_ACCEPTED_PREFIX
  if (resolved.timeout > resolved.maxTimeout) {
    throw new errors.INVALID_OPTION('timeout', `must not exceed maxTimeout (${resolved.maxTimeout} ms)`)
  }
  return resolved
}

const REDIS_URL = /^rediss?:\/\//

function checkRedis (redis: unknown): void {
  if (typeof redis === 'string') {
    if (!REDIS_URL.test(redis)) throw new errors.INVALID_OPTION('redis', 'expected a redis:// or rediss:// URL')
    return
  }
  if (isServerOption(redis)) {
    if (!REDIS_URL.test(redis.url) || !URL.canParse(redis.url)) throw new errors.INVALID_OPTION('redis.url', 'expected a redis:// or rediss:// URL')
    if (redis.options !== undefined && (typeof redis.options !== 'object' || redis.options === null)) {
      throw new errors.INVALID_OPTION('redis.options', 'expected ioredis options')
    }
    checkNoKeyPrefix('redis.options.keyPrefix', redis.options?.keyPrefix)
    return
  }
  if (isCluster(redis)) {
    checkNoKeyPrefix('redis', redis.options?.keyPrefix ?? redis.options?.redisOptions?.keyPrefix)
    return
  }
  if (isClusterOption(redis)) {
    const { cluster, options } = redis
    if (cluster.length === 0 || !cluster.every(url => typeof url === 'string' && REDIS_URL.test(url) && URL.canParse(url))) {
      throw new errors.INVALID_OPTION('redis.cluster', 'expected a non-empty array of redis:// or rediss:// URLs')
    }
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw new errors.INVALID_OPTION('redis.options', 'expected ioredis Cluster options')
    }
    checkNoKeyPrefix('redis.options.keyPrefix', options?.keyPrefix ?? options?.redisOptions?.keyPrefix)
    return
  }
  const client = redis as Partial<Redis> | null
  if (typeof client?.duplicate !== 'function' || typeof client.psubscribe !== 'function') {
    throw new errors.INVALID_OPTION('redis', 'expected a redis:// URL, { url, options }, an ioredis client or Cluster, or { cluster: [redis:// URLs] }')
  }
  checkNoKeyPrefix('redis', client.options?.keyPrefix)
}

/**
 * ioredis's `keyPrefix` prefixes keys but not the channels the plugin subscribes to, so the
 * notifications of its keys would never match: refused, naming the plugin's own option instead.
 */
function checkNoKeyPrefix (path: string, keyPrefix: unknown): void {
  if (keyPrefix === undefined || keyPrefix === '') return
  throw new errors.INVALID_OPTION(path, `the Redis client has an ioredis keyPrefix (${JSON.stringify(keyPrefix)}), which the plugin's subscription would not see: drop it and set the plugin's keyPrefix option instead`)
}

function withoutUndefined<T extends object> (value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
