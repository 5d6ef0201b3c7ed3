import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { errors } from './errors.js'
import { resolveOptions, type KafkaReplyOptions } from './options.js'
import { KafkaReply, type CancelHandle, type RequestOptions } from './kafka-reply.js'
import { kCreateReplyStore, type CreateReplyStore } from './redis/store.js'
import { HEADERS, type ReplyRoute } from './protocol.js'
import type { ReplySchema, StaticOf } from './reply-schema.js'
import { parsePrefer } from './accepted.js'
import { isAccepted, locationOf, registerPollRoute, sendAccepted } from './poll-route.js'

/** Options of one reply.awaitKafka() call. */
export type AwaitKafkaOptions = Omit<RequestOptions, 'schema'>

declare module 'fastify' {
  interface FastifyInstance {
    /** The plugin's client: `request()` outside a route, `stats()`, `health()`. */
    kafkaReply: KafkaReply
  }
  interface FastifyReply {
    /**
     * Publishes `payload` to `topic` and resolves with the worker's reply, validated against
     * `options.schema`. Rejects with errors whose statusCode Fastify answers with (504, 502, 503).
     * An accepted call (`accepted`) sends its 202 itself and then resolves with nothing: return
     * what awaitKafka returns, or check `reply.sent`.
     */
    awaitKafka<S extends ReplySchema>(topic: string, payload: unknown, options: AwaitKafkaOptions & { schema: S }): Promise<StaticOf<S>>
    /** Publishes `payload` to `topic` and resolves with the worker's reply. */
    awaitKafka<T = unknown>(topic: string, payload: unknown, options?: AwaitKafkaOptions): Promise<T>
  }
}

async function plugin (fastify: FastifyInstance, opts: KafkaReplyOptions): Promise<void> {
  if (fastify.hasDecorator('kafkaReply')) throw new errors.ALREADY_REGISTERED()
  const options = resolveOptions(opts)
  const client = new KafkaReply(options, fastify.log.child({ plugin: 'fastify-kafka-reply', instanceId: options.instanceId }), (opts as { [kCreateReplyStore]?: CreateReplyStore })[kCreateReplyStore])

  fastify.decorate('kafkaReply', client)
  const { acceptedPrefix } = options
  const location = acceptedPrefix === undefined ? undefined : locationOf(fastify, acceptedPrefix)
  let stopping = false
  fastify.decorateReply('awaitKafka', function awaitKafka (this: FastifyReply, topic: string, payload: unknown, callOptions: RequestOptions = {}): Promise<unknown> {
    const accepted = callOptions.accepted ?? options.accepted
    if (accepted && location === undefined) {
      return Promise.reject(new errors.INVALID_CALL('an accepted call needs the poll route: set the plugin option accepted or acceptedPrefix'))
    }
    return callKafka(this, topic, payload, { ...callOptions, accepted }, location, () => stopping)
  })
  if (acceptedPrefix !== undefined) registerPollRoute(fastify, { ...options, acceptedPrefix })
  // preClose runs before the server waits for in-flight requests: fail them now, not at their deadline.
  fastify.addHook('preClose', function (done) {
    stopping = true
    client.stopAccepting()
    done()
  })
  fastify.addHook('onClose', async function () {
    await client.close()
  })
  await client.start()
}

function callKafka (reply: FastifyReply, topic: string, payload: unknown, options: RequestOptions, location: ((id: string) => string) | undefined, closing: () => boolean): Promise<unknown> {
  // An idempotency key is scoped to the route that calls (its method and URL pattern).
  const handle: CancelHandle = options.idempotencyKey === undefined ? {} : { route: `${reply.request.method} ${reply.request.routeOptions.url ?? reply.request.url}` }
  // Prefer: respond-async (RFC 7240) on an accepted call: 202 as soon as the request is published,
  // or after `wait` seconds if the client gave one.
  if (options.accepted === true) {
    const preferences = parsePrefer(reply.request.headers.prefer)
    if (preferences.respondAsync) {
      handle.respondAsync = true
      if (preferences.wait !== undefined) handle.wait = preferences.wait * 1000
    }
  }
  // The response closing before it was sent means the client went away: stop waiting for it.
  const onClose = () => { if (!reply.raw.writableEnded) handle.cancel?.() }
  reply.raw.once('close', onClose)
  const onRoute = options.onRoute
  const call = options.idempotencyKey === undefined
    ? options
    : {
        ...options,
        onRoute: (route: ReplyRoute) => {
          if (route.path === 'replayed') reply.header('idempotent-replayed', 'true')
          onRoute?.(route)
        }
      }
  return reply.server.kafkaReply.request(topic, payload, call, handle).then(
    value => {
      reply.raw.off('close', onClose)
      return value
    },
    (err: Error & { statusCode?: number, retryAfter?: number }) => {
      reply.raw.off('close', onClose)
      if (isAccepted(err) && location !== undefined) {
        if (handle.respondAsync === true) reply.header('preference-applied', 'respond-async')
        // Answered because the server is closing: see CLOSING below.
        if (closing()) reply.header('connection', 'close')
        // Sent here: Fastify's error handling answers 500 for an error whose status is not 4xx or 5xx.
        // The reply is thenable: this promise resolves once the 202 is sent.
        return sendAccepted(reply, err, location(err.replyId))
      }
      if (err.statusCode === 503) reply.header('retry-after', String(reply.server.kafkaReply.retryAfter))
      if (err.retryAfter !== undefined) reply.header('retry-after', String(err.retryAfter))
      // Answered because the server is closing: without this the client keeps the connection
      // alive, and the server's close() waits for it until the keep-alive timeout.
      if (err instanceof errors.CLOSING) reply.header('connection', 'close')
      throw err
    }
  )
}

const pluginFunction = fp(plugin, { fastify: '5.x', name: 'fastify-kafka-reply' })

/**
 * The plugin: `app.register(fastifyKafkaReply, options)`. It is also what
 * `require('fastify-kafka-reply')` returns (Node's require() of an ES module hands over the export
 * named 'module.exports'), so, as with the official plugins, it carries `.default` and the named
 * exports.
 */
export const fastifyKafkaReply = Object.assign(pluginFunction, {
  default: pluginFunction,
  fastifyKafkaReply: pluginFunction,
  errors,
  KafkaReply,
  HEADERS
})
export default fastifyKafkaReply
export { fastifyKafkaReply as 'module.exports' }

export { errors, KafkaReply, HEADERS }
export type { RequestOptions, KafkaReplyHealth } from './kafka-reply.js'
export type { KafkaReplyOptions, KafkaOption } from './options.js'
export { parsePrefer, type Preferences } from './accepted.js'
export type { KafkaLibrary, KafkajsOption, PlatformaticKafkaOption, PlatformaticSasl, PlatformaticSettings } from './kafka/index.js'
export type { RedisOption, ClusterOption, ServerOption } from './redis/client.js'
export type { KafkaReplyStats } from './stats.js'
export type { RemoteError, ReplyRoute } from './protocol.js'
export type { ReplySchema, StaticOf } from './reply-schema.js'
