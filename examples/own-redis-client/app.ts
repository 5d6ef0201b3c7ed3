// The plugin with the app's own Redis client: @fastify/redis connects it during registration and
// closes it when the app closes; the plugin borrows it, leaves it open, and opens only its
// subscriber connection itself (duplicated from it, with the same credentials and settings).
//
// From a clone, with Kafka and Redis running (`npm run stack:up`) and the package built
// (`npm run build`), on Node.js 22.6 or newer (22.18+ and 23.6+ need no flag), with the minimal
// example's worker answering:
//
//   node --experimental-strip-types examples/minimal/worker.ts
//   node --experimental-strip-types examples/own-redis-client/app.ts
//   curl -X POST localhost:3000/quotes -H 'content-type: application/json' -d '{"sku":"KB-101"}'
//
// KAFKA_BROKERS (comma-separated), REDIS_URL and PORT point it elsewhere; the defaults are the local
// stack's 127.0.0.1:9092 and redis://127.0.0.1:6379, and port 3000.
import Fastify from 'fastify'
import fastifyRedis from '@fastify/redis'
import kafkaReply from 'fastify-kafka-reply'

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')

const app = Fastify({ logger: true })
app.register(fastifyRedis, { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' })
// Options as a function of the parent instance: `parent.redis` exists once @fastify/redis is loaded.
app.register(kafkaReply, parent => ({
  kafka: { brokers, clientId: 'example-api' },
  redis: parent.redis,
  replyTopic: 'example.replies',
  groupId: 'example-api',
  keyPrefix: 'example-own-client', // the plugin's keys, apart from the app's own
  createTopics: true
}))

app.post('/quotes', async (request, reply) => {
  const quote = await reply.awaitKafka<{ sku: string, price: number }>('example.requests', request.body, { timeout: 3000 })
  // The same client serves the app's own commands.
  const count = await app.redis.incr('example:quotes-served')
  return { ...quote, currency: 'EUR', count }
})

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.close().catch(err => {
      app.log.error(err)
      process.exitCode = 1
    })
  })
}
await app.listen({ port: Number(process.env.PORT ?? 3000) })
