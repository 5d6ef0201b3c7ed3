import { Type } from '@sinclair/typebox'
import type { KafkaLibrary } from '../plugin/index.js'
import { QUOTES_TOPIC } from '../worker/contract.js'
import { list, readEnv } from '../common/env.js'

/**
 * MAX_EVENT_LOOP_DELAY_MS when unset: a hundredth of the deadline, at least 10 ms. Measured (see
 * docs/operating.md, "Shedding load"): a replica whose mean delay over a second reaches about a
 * hundredth of its deadline ends its 504s up to a tenth of the deadline late (p99), while one that
 * answers at full throughput reads 2 to 7 ms.
 */
export function defaultMaxEventLoopDelayMs (timeoutMs: number): number {
  return Math.max(10, Math.round(timeoutMs / 100))
}

const Env = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65_535, default: 3000 }),
  HOST: Type.String({ default: '127.0.0.1' }),
  KAFKA_BROKERS: Type.String({ default: '127.0.0.1:9092' }),
  /** The Kafka client library of the plugin or the responder. */
  KAFKA_LIBRARY: Type.Union([Type.Literal('kafkajs'), Type.Literal('@platformatic/kafka')], { default: 'kafkajs' }),
  REDIS_URL: Type.String({ pattern: '^rediss?://', default: 'redis://127.0.0.1:6379' }),
  /** A Redis Cluster's nodes, comma-separated redis:// URLs: used instead of REDIS_URL when set. */
  REDIS_CLUSTER_URLS: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  REQUEST_TOPIC: Type.String({ minLength: 1, default: QUOTES_TOPIC }),
  REPLY_TOPIC: Type.String({ minLength: 1, default: 'quotes.replies' }),
  REPLY_PARTITIONS: Type.Integer({ minimum: 1, default: 3 }),
  REPLY_AFFINITY: Type.Boolean({ default: true }),
  REPLY_GROUP_ID: Type.String({ minLength: 1, default: 'quotes-api' }),
  KEY_PREFIX: Type.String({ minLength: 1, default: 'quotes' }),
  REPLY_TIMEOUT_MS: Type.Integer({ minimum: 1, default: 5000 }),
  INSTANCE_ID: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
  KAFKA_HEARTBEAT_MS: Type.Integer({ minimum: 100, default: 500 }),
  KAFKA_SESSION_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 10_000 }),
  LOG_LEVEL: Type.String({ default: 'info' }),
  SERVICE_NAME: Type.String({ minLength: 1, default: 'quotes-api' }),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://' })),
  TRACE_FILE: Type.Optional(Type.String({ minLength: 1 })),
  MAX_REQUEST_BYTES: Type.Optional(Type.Integer({ minimum: 1 })),
  RELAY_ROUTE: Type.Boolean({ default: false }),
  /** @fastify/under-pressure's thresholds (0 turns one off) and how often it samples the event loop. */
  MAX_EVENT_LOOP_DELAY_MS: Type.Optional(Type.Integer({ minimum: 0 })),
  MAX_EVENT_LOOP_UTILIZATION: Type.Number({ minimum: 0, maximum: 1, default: 0 }),
  EVENT_LOOP_SAMPLE_MS: Type.Integer({ minimum: 10, default: 1000 }),
  /** Connections the kernel queues for the replica to accept (listen's backlog; the kernel caps it at net.core.somaxconn). */
  LISTEN_BACKLOG: Type.Integer({ minimum: 1, default: 4096 })
})

/** Everything the quotes API reads from its environment. */
export interface AppConfig {
  port: number
  host: string
  kafkaBrokers: string[]
  /** The Kafka client library (KAFKA_LIBRARY). */
  kafkaLibrary: KafkaLibrary
  redisUrl: string
  /** A Redis Cluster's nodes (redis:// URLs), used instead of redisUrl when set. */
  redisClusterUrls?: string[]
  /** Where quote requests go (the worker's topic). */
  requestTopic: string
  /** Where the worker's replies come back; created with `replyPartitions` partitions when missing. */
  replyTopic: string
  replyPartitions: number
  /** Ask the worker to reply on a partition this replica consumes (the plugin's `affinity`). */
  affinity: boolean
  /** The reply consumer group that every replica of the API shares. */
  groupId: string
  /** Prefix of the Redis keys of handed-over replies. */
  keyPrefix: string
  /** How long a quote may take before the caller gets a 504, ms. */
  timeoutMs: number
  /** This replica's id; random when unset. Unique among the replicas of one group. */
  instanceId: string | undefined
  /** Kafka consumer heartbeat, ms: lower means quicker rebalances when replicas come and go. */
  heartbeatMs: number
  /** Kafka consumer session timeout, ms: how long a replica that died without leaving keeps its reply partitions. */
  sessionTimeoutMs: number
  logLevel: string
  /** service.name of this replica's spans. */
  serviceName: string
  /** OTLP/HTTP endpoint for traces; with `traceFile` unset too, nothing is traced. */
  otlpEndpoint: string | undefined
  /** A file that receives every finished span as a JSON line (the demo reads it). */
  traceFile: string | undefined
  /** The plugin's maxRequestBytes (its default when unset). */
  maxRequestBytes: number | undefined
  /** Serve POST /relay/:topic (see routes/relay.ts): off unless RELAY_ROUTE=true. */
  relayRoute: boolean
  /**
   * New calls get 503 with Retry-After while the event loop's mean delay over the last sample
   * exceeds this, ms (@fastify/under-pressure's maxEventLoopDelay); 0: never. Unset: a hundredth
   * of `timeoutMs`, at least 10 (defaultMaxEventLoopDelayMs).
   */
  maxEventLoopDelayMs: number
  /** The same when the event loop was busy more than this share of the last sample (0 to 1); 0 (the default): never. */
  maxEventLoopUtilization: number
  /** How often the event loop is sampled for both, ms: how soon shedding starts and stops. */
  eventLoopSampleMs: number
  /**
   * Connections the kernel queues until the replica accepts them (default 4096; Node's is 511).
   * When a burst of new connections fills the queue, the kernel drops their SYNs and clients send
   * them again 1 s, then 3 s later: measured in the fault suite as 504s seconds late.
   */
  listenBacklog: number
}

/** The API's configuration from `env`; defaults match the local stack (`npm run stack:up`). */
export function loadConfig (env: NodeJS.ProcessEnv = process.env): AppConfig {
  const e = readEnv(Env, env)
  return {
    port: e.PORT,
    host: e.HOST,
    kafkaBrokers: list(e.KAFKA_BROKERS),
    kafkaLibrary: e.KAFKA_LIBRARY,
    redisUrl: e.REDIS_URL,
    ...(e.REDIS_CLUSTER_URLS === undefined ? {} : { redisClusterUrls: list(e.REDIS_CLUSTER_URLS) }),
    requestTopic: e.REQUEST_TOPIC,
    replyTopic: e.REPLY_TOPIC,
    replyPartitions: e.REPLY_PARTITIONS,
    affinity: e.REPLY_AFFINITY,
    groupId: e.REPLY_GROUP_ID,
    keyPrefix: e.KEY_PREFIX,
    timeoutMs: e.REPLY_TIMEOUT_MS,
    instanceId: e.INSTANCE_ID,
    heartbeatMs: e.KAFKA_HEARTBEAT_MS,
    sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
    serviceName: e.SERVICE_NAME,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    traceFile: e.TRACE_FILE,
    maxRequestBytes: e.MAX_REQUEST_BYTES,
    relayRoute: e.RELAY_ROUTE,
    maxEventLoopDelayMs: e.MAX_EVENT_LOOP_DELAY_MS ?? defaultMaxEventLoopDelayMs(e.REPLY_TIMEOUT_MS),
    maxEventLoopUtilization: e.MAX_EVENT_LOOP_UTILIZATION,
    eventLoopSampleMs: e.EVENT_LOOP_SAMPLE_MS,
    listenBacklog: e.LISTEN_BACKLOG
  }
}
