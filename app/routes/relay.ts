import type { FastifyInstance } from 'fastify'

/** Options of the relay route. */
export interface RelayOptions {
  /** Deadline of one call, ms. */
  timeoutMs: number
}

/** Larger than the plugin's maxRequestBytes default, so that the plugin (or the broker) is what refuses a payload. */
const RELAY_BODY_LIMIT = 8 * 1024 * 1024

/**
 * POST /relay/:topic, served only when RELAY_ROUTE=true: publishes any JSON body to the named
 * topic and answers with the reply. It lets the fault suite mix what the quote schema would refuse
 * (multi-megabyte payloads, a topic that does not exist) into the quotes' traffic, through the same
 * plugin instance, so those calls share produce requests with the quotes.
 */
export async function relayRoutes (fastify: FastifyInstance, options: RelayOptions): Promise<void> {
  fastify.post<{ Params: { topic: string } }>('/relay/:topic', { bodyLimit: RELAY_BODY_LIMIT }, async function (request, reply) {
    return reply.awaitKafka(request.params.topic, request.body, { timeout: options.timeoutMs })
  })
}
