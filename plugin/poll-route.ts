import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errors } from './errors.js'
import type { ResolvedOptions } from './options.js'

type AcceptedError = InstanceType<typeof errors.ACCEPTED> & { replyId: string, retryAfter: number }

/** Whether `err` is an accepted call's 202 (from request() or poll()). */
export function isAccepted (err: unknown): err is AcceptedError {
  return err instanceof errors.ACCEPTED
}

/**
 * Sends a 202 Accepted: `Retry-After`, and `Location` when given, with a JSON body like the
 * plugin's errors' (statusCode, code, message) plus the location.
 */
export function sendAccepted (reply: FastifyReply, err: AcceptedError, location?: string): FastifyReply {
  reply.code(202).header('retry-after', String(err.retryAfter))
  if (location !== undefined) reply.header('location', location)
  return reply.send({ statusCode: 202, code: err.code, message: err.message, ...(location === undefined ? {} : { location }) })
}

/** The path of a reply id's poll: `<prefix of the plugin's scope><acceptedPrefix>/replies/<id>`. */
export function locationOf (fastify: FastifyInstance, acceptedPrefix: string): (id: string) => string {
  const base = `${fastify.prefix}${acceptedPrefix}/replies/`
  return id => `${base}${id}`
}

/**
 * Registers `GET <acceptedPrefix>/replies/:id`: on any replica, 202 with Retry-After while the
 * accepted call's reply is awaited, the reply (200, JSON) or its error (502 or the worker's 4xx)
 * once it came, 404 FST_KAFKA_REPLY_UNKNOWN_REPLY when the id is unknown, expired, or the poll's
 * scope (`acceptedScope`) is not the call's.
 */
export function registerPollRoute (fastify: FastifyInstance, options: ResolvedOptions & { acceptedPrefix: string }): void {
  const { acceptedScope } = options
  fastify.get<{ Params: { id: string } }>(`${options.acceptedPrefix}/replies/:id`, { exposeHeadRoute: false }, async function pollReply (request: FastifyRequest<{ Params: { id: string } }>, reply) {
    const client = this.kafkaReply
    let value: unknown
    try {
      value = await client.poll(request.params.id, acceptedScope?.(request))
    } catch (err) {
      if (isAccepted(err)) return sendAccepted(reply, err)
      if ((err as { statusCode?: number }).statusCode === 503) reply.header('retry-after', String(client.retryAfter))
      throw err
    }
    // The reply as JSON, whatever its type (a string too), as the worker wrote it.
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(value))
  })
}
