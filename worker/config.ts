import type { KafkaLibrary } from '../plugin/index.js'
import { Type, type Static } from '@sinclair/typebox'
import { list, readEnv } from '../common/env.js'
import { QUOTES_TOPIC } from './contract.js'

const Env = Type.Object({
  KAFKA_BROKERS: Type.String({ default: '127.0.0.1:9092' }),
  /** The Kafka client library of the plugin or the responder. */
  KAFKA_LIBRARY: Type.Union([Type.Literal('kafkajs'), Type.Literal('@platformatic/kafka')], { default: 'kafkajs' }),
  REQUEST_TOPIC: Type.String({ minLength: 1, default: QUOTES_TOPIC }),
  REQUEST_PARTITIONS: Type.Integer({ minimum: 1, default: 2 }),
  WORKER_GROUP_ID: Type.String({ minLength: 1, default: 'quotes-pricing' }),
  /** The reply topics the worker may answer to, comma-separated (the responder's replyTopics); unset: any. */
  REPLY_TOPICS: Type.Optional(Type.String({ minLength: 1 })),
  WORKER_ID: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' })),
  WORK_MS: Type.Integer({ minimum: 0, default: 20 }),
  SLOW_MS: Type.Integer({ minimum: 0, default: 8000 }),
  CONCURRENCY: Type.Integer({ minimum: 1, default: 16 }),
  /** As long as the callers keep outcomes (the plugin's idempotencyTtl default): a retry they let through finds its key. */
  IDEMPOTENCY_TTL_MS: Type.Integer({ minimum: 1000, default: 86_400_000 }),
  IDEMPOTENCY_MAX_KEYS: Type.Integer({ minimum: 1, default: 10_000 }),
  KAFKA_HEARTBEAT_MS: Type.Integer({ minimum: 100, default: 500 }),
  KAFKA_SESSION_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 10_000 }),
  LOG_LEVEL: Type.Union([Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error'), Type.Literal('silent')], { default: 'info' }),
  SERVICE_NAME: Type.String({ minLength: 1, default: 'pricing-worker' }),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://' })),
  TRACE_FILE: Type.Optional(Type.String({ minLength: 1 }))
})

/** Everything the worker reads from its environment. */
export interface WorkerConfig {
  kafkaBrokers: string[]
  /** The Kafka client library (KAFKA_LIBRARY). */
  kafkaLibrary: KafkaLibrary
  /** Topic of quote requests; created with `requestPartitions` partitions when missing. */
  requestTopic: string
  requestPartitions: number
  groupId: string
  /** The reply topics answered to (REPLY_TOPICS); undefined: any topic a request names. */
  replyTopics: string[] | undefined
  /** Named in every quote's `pricedBy`. */
  workerId: string
  /** Simulated pricing time of every request, ms. */
  workMs: number
  /** How long the SLOW test SKU takes, ms: set it above the app's timeout to see a 504. */
  slowMs: number
  concurrency: number
  /** How long the quote of a request with an idempotency key is remembered for its retries, ms. */
  idempotencyTtlMs: number
  /** Idempotency keys remembered at most; past it, the oldest is forgotten first. */
  idempotencyMaxKeys: number
  heartbeatMs: number
  /** Kafka consumer session timeout, ms: how long a worker that died without leaving keeps its partitions. */
  sessionTimeoutMs: number
  logLevel: Static<typeof Env>['LOG_LEVEL']
  /** Where traces go (see the app's TracingConfig); nothing is traced when neither is set. */
  serviceName: string
  otlpEndpoint: string | undefined
  traceFile: string | undefined
}

/** The worker's configuration from `env`; defaults match the local stack (`npm run stack:up`). */
export function loadWorkerConfig (env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const e = readEnv(Env, env)
  return {
    kafkaBrokers: list(e.KAFKA_BROKERS),
    kafkaLibrary: e.KAFKA_LIBRARY,
    requestTopic: e.REQUEST_TOPIC,
    requestPartitions: e.REQUEST_PARTITIONS,
    groupId: e.WORKER_GROUP_ID,
    replyTopics: e.REPLY_TOPICS === undefined ? undefined : list(e.REPLY_TOPICS),
    workerId: e.WORKER_ID ?? `pricing-${process.pid}`,
    workMs: e.WORK_MS,
    slowMs: e.SLOW_MS,
    concurrency: e.CONCURRENCY,
    idempotencyTtlMs: e.IDEMPOTENCY_TTL_MS,
    idempotencyMaxKeys: e.IDEMPOTENCY_MAX_KEYS,
    heartbeatMs: e.KAFKA_HEARTBEAT_MS,
    sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
    serviceName: e.SERVICE_NAME,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    traceFile: e.TRACE_FILE
  }
}
