// The smallest API: the plugin and one route that awaits the worker in ./worker.ts.
//
// From a clone, with Kafka and Redis running (`npm run stack:up`) and the package built
// (`npm run build`), on Node.js 22.6 or newer (22.18+ and 23.6+ need no flag), start the worker,
// then:
//
//   node --experimental-strip-types examples/minimal/app.ts
//   curl -X POST localhost:3000/quotes -H 'content-type: application/json' -d '{"sku":"KB-101"}'
//
// KAFKA_BROKERS (comma-separated), REDIS_URL and PORT point it elsewhere; the defaults are the local
// stack's 127.0.0.1:9092 and redis://127.0.0.1:6379, and port 3000. Redis must send keyspace
// notifications (`notify-keyspace-events` with K and $), as the local stack's does.
import Fastify from 'fastify'
import kafkaReply from 'fastify-kafka-reply'
import { Type } from '@sinclair/typebox'

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
const redis = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

const app = Fastify({ logger: true })
await app.register(kafkaReply, {
  kafka: { brokers, clientId: 'example-api' },
  redis,
  replyTopic: 'example.replies',
  groupId: 'example-api', // the same for every replica of this API
  createTopics: true // create the reply topic when it is missing
})

const Quote = Type.Object({ sku: Type.String(), price: Type.Number() })

app.post('/quotes', async (request, reply) => {
  // The worker's reply, checked against Quote and typed from it; a 504 after 3 s without one.
  const quote = await reply.awaitKafka('example.requests', request.body, { schema: Quote, timeout: 3000 })
  return { ...quote, currency: 'EUR' }
})

// close() answers waiting calls 503 at once, leaves the reply group and disconnects.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.close().catch(err => {
      app.log.error(err)
      process.exitCode = 1
    })
  })
}
await app.listen({ port: Number(process.env.PORT ?? 3000) })
