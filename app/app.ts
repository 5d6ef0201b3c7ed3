import { STATUS_CODES } from 'node:http'
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { FastifyOtelInstrumentation } from '@fastify/otel'
import fastifyRedis from '@fastify/redis'
import underPressure from '@fastify/under-pressure'
import { metrics, type BatchObservableCallback } from '@opentelemetry/api'
import kafkaReply from '../plugin/index.js'
import { kafkaOption } from '../common/kafka.js'
import type { AppConfig } from './config.js'
import { healthRoutes } from './routes/health.js'
import { metricsRoutes } from './routes/metrics.js'
import { customerOfPoll, QUOTE_REPLIES_PREFIX, ROUTE_HEADERS, quotesRoutes } from './routes/quotes.js'
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
    // POST /quotes is accepted for clients that prefer respond-async: they poll GET
    // /quotes/replies/:id, naming their customer as the quote did (routes/quotes.ts).
    acceptedPrefix: QUOTE_REPLIES_PREFIX,
    acceptedScope: customerOfPoll,
    consumer: { heartbeatInterval: options.heartbeatMs, sessionTimeout: options.sessionTimeoutMs, maxWaitTimeInMs: 100 }
  }))
  // A poll (the plugin's route GET /quotes/replies/:id) names the replica that answered it too.
  app.addHook('onRequest', async function (request, reply) {
    if (request.routeOptions.url === `${QUOTE_REPLIES_PREFIX}/replies/:id`) reply.header(ROUTE_HEADERS.instance, app.kafkaReply.instanceId)
  })
  // The routes that call the worker refuse new calls while the replica is under pressure; the
  // health, stats and metrics routes are outside that scope (see shedLoad).
  app.register(async function calls (scoped) {
    await shedLoad(scoped, options)
    scoped.register(quotesRoutes, { requestTopic: options.requestTopic, timeoutMs: options.timeoutMs })
    if (options.relayRoute) scoped.register(relayRoutes, { timeoutMs: options.timeoutMs })
  })
  app.register(healthRoutes)
  app.register(metricsRoutes, { prometheus })
  return app
}

/**
 * Sheds load before deadlines slip: while this replica's event loop is behind (its mean delay, or
 * its utilization, over the last sample above the configured threshold), @fastify/under-pressure
 * answers each new call 503 with Retry-After at once, before anything is published. Without it
 * the replica takes the call, and its 504 comes late, since the deadline's timer fires late on a
 * busy loop. Calls already waiting keep their deadline: only new requests are refused.
 *
 * Registered on the calls' own scope, so the health routes are never refused. A liveness probe that
 * failed under load would restart the replica and drop every call it holds. A readiness probe that
 * failed under load would take the replica out of the balancer only after a few probe periods,
 * while pressure comes and goes within a sample; and when every replica is loaded alike (a worker
 * outage), it would take them all out, turning quick 503s into refused connections. So readiness
 * stays about what the replica cannot do (Kafka, Redis), and pressure is answered call by call.
 * GET /metrics stays readable while it happens, with the readings the thresholds are held to.
 */
async function shedLoad (scoped: FastifyInstance, options: BuildOptions): Promise<void> {
  // Registered with both thresholds at 0 too: it then refuses nothing, and still takes the readings.
  await scoped.register(underPressure, {
    maxEventLoopDelay: options.maxEventLoopDelayMs,
    maxEventLoopUtilization: options.maxEventLoopUtilization,
    // Each sample's own utilization; under-pressure's default averages it since the start.
    eventLoopUtilizationMode: 'interval',
    sampleInterval: options.eventLoopSampleMs,
    // The next sample may let the call in: Retry-After at least one sample on.
    retryAfter: Math.max(1, Math.ceil(options.eventLoopSampleMs / 1000)),
    message: 'This replica is under pressure: retry later'
  })
  // The refusal comes by the quotes' error handler, which passes on what is not the plugin's: one
  // warn line without a stack, as for the plugin's 503s, rather than Fastify's default error log
  // of a 5xx, which in a storm of refusals would take the CPU the replica lacks.
  scoped.setErrorHandler(function (error: FastifyError, request, reply) {
    if (error.code !== 'FST_UNDER_PRESSURE') throw error
    const { eventLoopDelay, eventLoopUtilized } = scoped.memoryUsage()
    request.log.warn({ code: error.code, eventLoopDelay, eventLoopUtilized }, error.message)
    // under-pressure set the status and Retry-After already.
    return reply.header(ROUTE_HEADERS.instance, scoped.kafkaReply.instanceId)
      .send({ statusCode: 503, code: error.code, error: STATUS_CODES[503], message: error.message })
  })

  // The readings, as under-pressure compares them with the thresholds, on GET /metrics.
  const meter = metrics.getMeter('quotes-api')
  const delay = meter.createObservableGauge('quotes_api.event_loop.delay', {
    unit: 'ms',
    description: 'The event loop\'s mean delay over the last sample, compared with MAX_EVENT_LOOP_DELAY_MS'
  })
  const utilization = meter.createObservableGauge('quotes_api.event_loop.utilization', {
    unit: '1',
    description: 'The share of the last sample the event loop was busy, compared with MAX_EVENT_LOOP_UTILIZATION'
  })
  const attributes = { 'kafka_reply.instance_id': scoped.kafkaReply.instanceId }
  const observe: BatchObservableCallback = result => {
    const { eventLoopDelay, eventLoopUtilized } = scoped.memoryUsage()
    result.observe(delay, eventLoopDelay, attributes)
    result.observe(utilization, eventLoopUtilized, attributes)
  }
  meter.addBatchObservableCallback(observe, [delay, utilization])
  scoped.addHook('onClose', async () => meter.removeBatchObservableCallback(observe, [delay, utilization]))
}
