// The worker of the minimal example: answers quote requests on `example.requests`.
//
// From a clone, with Kafka and Redis running (`npm run stack:up`) and the package built
// (`npm run build`), on Node.js 22.6 or newer (22.18+ and 23.6+ need no flag):
//
//   node --experimental-strip-types examples/minimal/worker.ts
//
// KAFKA_BROKERS (comma-separated) points it at another broker; the default is the local stack's.
// The request topic is created on first use by a broker that auto-creates topics, as the local
// stack's does; elsewhere, create `example.requests` first.
import { createResponder, ReplyError } from 'fastify-kafka-reply/responder'

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')

const responder = await createResponder({
  kafka: { brokers, clientId: 'example-worker' },
  groupId: 'example-worker',
  handlers: {
    'example.requests': async (payload) => {
      const { sku } = (payload ?? {}) as { sku?: unknown }
      // A refusal the caller sees as a 422 with this code.
      if (typeof sku !== 'string') throw new ReplyError(422, 'sku must be a string', 'INVALID_SKU')
      return { sku, price: 9.5 }
    }
  }
})
console.log('worker ready: answering example.requests')

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    responder.close().catch(err => {
      console.error(err)
      process.exitCode = 1
    })
  })
}
