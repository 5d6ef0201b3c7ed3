import type { FastifyError } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { STATUS_CODES } from 'node:http'
import { QuoteRequestSchema, QuoteSchema } from '../../worker/contract.js'
import type { FastifyRequest } from 'fastify'
import { parsePrefer } from '../../plugin/index.js'
import { IDEMPOTENCY_KEY_HEADER, idempotencyKeyOf } from './idempotency-key.js'

/** Options of the quotes routes. */
export interface QuotesOptions {
  /** The pricing worker's topic. */
  requestTopic: string
  /** Deadline of one quote, ms. */
  timeoutMs: number
}

/** Response headers that show how a reply reached this replica. */
export const ROUTE_HEADERS = {
  /** The replica that took the HTTP request (and waited for the reply). */
  instance: 'x-kafka-reply-instance',
  /** The replica whose reply consumer read the worker's reply from Kafka. */
  consumedBy: 'x-kafka-reply-consumed-by',
  /**
   * `memory` when that was this replica, `redis` when another replica handed it over, `replayed`
   * when the quote is the stored outcome of an earlier call with the same Idempotency-Key.
   */
  path: 'x-kafka-reply-path'
} as const

/** Where an accepted quote is polled: GET /quotes/replies/:id (the plugin's poll route). */
export const QUOTE_REPLIES_PREFIX = '/quotes'

/** The request header a poll names its customer by: the quote's `customerId`, or the poll is a 404. */
export const CUSTOMER_HEADER = 'x-customer-id'

/**
 * The scope of a poll (the plugin's `acceptedScope`): its customer, as the quote's
 * `idempotencyScope` is. A real API would take both from its session or token.
 */
export function customerOfPoll (request: FastifyRequest): string | undefined {
  const customer = request.headers[CUSTOMER_HEADER]
  return typeof customer === 'string' ? customer : undefined
}

/** The request headers POST /quotes reads. */
const QuoteHeadersSchema = Type.Object({
  prefer: Type.Optional(Type.String({
    description: '`respond-async` (RFC 7240): 202 Accepted with a Location to poll, at once or, with `wait=<seconds>`, when the quote takes longer'
  })),
  [IDEMPOTENCY_KEY_HEADER]: Type.Optional(Type.String({
    description: 'names a request and its retries: a retry gets the first call\'s quote, or 409 while it runs; `"abc"` (IETF draft) or `abc` (Stripe), scoped by the customer'
  }))
})

type RemoteFailure = FastifyError & { remoteCode?: string, deadline?: number, expiredAt?: number }

/**
 * A 504's Server-Timing: `timer` is how late the plugin's deadline timer fired (its `expiredAt`
 * minus the call's `deadline`), `answer` how long from then until the answer is sent (this
 * handler's log line included), both ms. A client that measures a late 504 can tell this replica's
 * share from the network's and its own. Undefined when the error does not say when it expired.
 */
function serverTiming ({ deadline, expiredAt }: RemoteFailure): string | undefined {
  if (typeof deadline !== 'number' || typeof expiredAt !== 'number') return undefined
  return `timer;dur=${expiredAt - deadline}, answer;dur=${Date.now() - expiredAt}`
}

/**
 * POST /quotes: validates the body (a violation is a 400 and nothing is published), asks the
 * pricing worker over Kafka and answers with its quote, or with its refusal (4xx), a 502 when it
 * failed, a 504 when it did not answer in time.
 *
 * With an `Idempotency-Key` header, a retry of a call (same key, same customer) is not priced
 * again: it gets the first call's answer, however late that came, with `Idempotent-Replayed: true`;
 * while the first still runs, a 409 with Retry-After; the same key for another quote of the same
 * customer, a 422. The key is scoped by the customer, so one customer cannot read another's quote
 * by guessing or reusing a key.
 */
export const quotesRoutes: FastifyPluginAsyncTypebox<QuotesOptions> = async function quotesRoutes (fastify, options) {
  const { instanceId } = fastify.kafkaReply
  // Every answer names the replica that gave it, a 400 refused before the handler ran included.
  fastify.addHook('onRequest', async function (_request, reply) {
    reply.header(ROUTE_HEADERS.instance, instanceId)
  })

  fastify.setErrorHandler(function (error: RemoteFailure, request, reply) {
    const answer = (statusCode: number, extra: Record<string, unknown> = {}) =>
      reply.code(statusCode).send({ statusCode, code: error.code, error: STATUS_CODES[statusCode], message: error.message, ...extra })
    // The worker's own error code (UNKNOWN_SKU, ...) is what a client can act on: pass it along.
    if (error.remoteCode !== undefined) {
      const statusCode = error.statusCode ?? 502
      request.log[statusCode >= 500 ? 'error' : 'info']({ err: error }, error.message)
      return answer(statusCode, { remoteCode: error.remoteCode })
    }
    // The plugin's 503s and 504: a timeout, or a refusal while Kafka or Redis is away or the
    // replica closes. Expected when a dependency is slow or down, and then they come for every
    // call: one warn line each, without the stack and request dump of Fastify's default for a 5xx,
    // which in a storm of them takes the CPU the answers need.
    if (error.code?.startsWith('FST_KAFKA_REPLY_') === true && (error.statusCode === 503 || error.statusCode === 504)) {
      const cause = error.cause instanceof Error ? { cause: error.cause.message } : {}
      request.log.warn({ code: error.code, ...cause }, error.message)
      const timing = error.statusCode === 504 ? serverTiming(error) : undefined
      if (timing !== undefined) reply.header('server-timing', timing)
      return answer(error.statusCode)
    }
    // The plugin's refusals the client acts on: 400 bad Idempotency-Key, 409 a call with the key
    // still runs (with the Retry-After the plugin set), 422 the key was used for another quote,
    // 413 a payload too large. The client's doing, not this replica's: one info line.
    if (error.code?.startsWith('FST_KAFKA_REPLY_') === true && error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      request.log.info({ code: error.code }, error.message)
      return answer(error.statusCode)
    }
    throw error // everything else: Fastify's default answer
  })

  // Body and reply typed from their TypeBox schemas (the type provider), the worker's reply from the
  // schema awaitKafka checks it against.
  fastify.post('/quotes', {
    schema: {
      body: QuoteRequestSchema,
      headers: QuoteHeadersSchema,
      response: { 200: QuoteSchema }
    }
  }, async function (request, reply) {
    return reply.awaitKafka(options.requestTopic, request.body, {
      schema: QuoteSchema,
      timeout: options.timeoutMs,
      // One customer's requests share a partition, so the worker sees them in order.
      key: request.body.customerId,
      idempotencyKey: idempotencyKeyOf(request.headers[IDEMPOTENCY_KEY_HEADER]),
      idempotencyScope: request.body.customerId,
      accepted: parsePrefer(request.headers.prefer).respondAsync,
      onRoute: route => {
        reply.header(ROUTE_HEADERS.path, route.path)
        reply.header(ROUTE_HEADERS.consumedBy, route.consumedBy)
      }
    })
  })
}
