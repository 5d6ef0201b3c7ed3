import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { FastifyOtelInstrumentation } from '@fastify/otel'
import fastifyRedis from '@fastify/redis'
import kafkaReply from '../plugin/index.js'
import { kafkaOption } from '../common/kafka.js'
import type { AppConfig } from './config.js'
import { healthRoutes } from './routes/health.js'
import { metricsRoutes } from './routes/metrics.js'
import { quotesRoutes } from './routes/quotes.js'
import { prometheusExporter } from './telemetry.js'
import { relayRoutes } from './routes/relay.js'

/** What build() needs: the configuration minus where to listen, plus Fastify's logger option. */
export interface BuildOptions extends Omit<AppConfig, 'port' | 'host' | 'logLevel' | 'otlpEndpoint' | 'traceFile'> {
  logger?: FastifyServerOptions['logger']
  /** A tracer provider is registered (startTracing): trace every HTTP request with @fastify/otel. */
  tracing?: boolean
}

let fastifyOtel: FastifyOtelInstrumentation | undefined

/**
 * The quotes API, not yet listening: `await app.ready()` (or `listen()`) connects to Kafka and
 * Redis and rejects when they are unreachable.
 */
export function build (options: BuildOptions): FastifyInstance {
  const app = Fastify({
    logger: options.logger ?? false,
    // A property the schema does not know is a 400 naming it, not silently dropped (Fastify's default).
    ajv: { customOptions: { removeAdditional: false } }
  })
  // The MeterProvider first: the plugin makes its instruments from the one registered then.
  const prometheus = prometheusExporter()
  if (options.tracing === true) {
    // The server span of each request, named after its route; the plugin's spans are its children.
    fastifyOtel ??= new FastifyOtelInstrumentation({
      requestHook: (span, request) => span.updateName(`${request.method} ${request.routeOptions.url ?? request.url}`)
    })
    app.register(fastifyOtel.plugin())
  }
  // The app's Redis client comes from @fastify/redis, which connects it during registration and
  // closes it when the app closes; the plugin borrows it and leaves it open (its subscriber is a
  // connection of its own). With REDIS_CLUSTER_URLS the plugin makes and closes a Cluster client.
  const { redisClusterUrls } = options
  if (redisClusterUrls === undefined) app.register(fastifyRedis, { url: options.redisUrl })
  app.register(kafkaReply, parent => ({
    kafka: kafkaOption(options.kafkaLibrary, options.kafkaBrokers, 'quotes-api'),
    redis: redisClusterUrls === undefined ? parent.redis : { cluster: redisClusterUrls },
    replyTopic: options.replyTopic,
    groupId: options.groupId,
    keyPrefix: options.keyPrefix,
    instanceId: options.instanceId,
    timeout: options.timeoutMs,
    // The API owns its reply topic; the worker owns the request topic.
    createTopics: true,
    replyTopicPartitions: options.replyPartitions,
    affinity: options.affinity,
    maxRequestBytes: options.maxRequestBytes,
    consumer: { heartbeatInterval: options.heartbeatMs, sessionTimeout: options.sessionTimeoutMs, maxWaitTimeInMs: 100 }
  }))
  app.register(quotesRoutes, { requestTopic: options.requestTopic, timeoutMs: options.timeoutMs })
  app.register(healthRoutes)
  app.register(metricsRoutes, { prometheus })
  if (options.relayRoute) app.register(relayRoutes, { timeoutMs: options.timeoutMs })
  return app
}
