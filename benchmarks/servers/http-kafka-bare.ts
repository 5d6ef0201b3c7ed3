// The simplest correct bridge a user could write by hand: one Fastify route and kafkajs, no plugin.
// The replica consumes its own reply topic (one partition, its own group) and resolves a Map of
// pending calls in memory: no Redis, no schema, no deadline header, a timeout so no call hangs.
// Produce calls are coalesced as in kafka-floor, so the difference to the plugin is what the plugin
// adds, not kafkajs's lack of a linger. No reply offsets are committed: the pending calls live in
// this process and die with it, so there is nothing to resume (and kafkajs's commit after every
// batch would hold up the next fetch).
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import { Kafka, Partitioners, logLevel } from 'kafkajs'
import { BatchingProducer } from '../../plugin/kafka/kafkajs/batching-producer.js'
import { HEADERS } from '../../plugin/protocol.js'
import { brokers, need, onStop, ready } from './env.js'

const requestTopic = need('REQUEST_TOPIC')
const replyTopic = need('REPLY_TOPIC')
const TIMEOUT_MS = 5000

const kafka = new Kafka({ brokers: brokers(), clientId: 'http-kafka-bare', logLevel: logLevel.ERROR })
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
const batcher = new BatchingProducer(producer)
const consumer = kafka.consumer({ groupId: need('GROUP_ID'), heartbeatInterval: 500, maxWaitTimeInMs: 100 })
const waiting = new Map<string, (value: Buffer | null) => void>()
const joined = new Promise<void>(resolve => consumer.on(consumer.events.GROUP_JOIN, () => resolve()))

await producer.connect()
await consumer.connect()
await consumer.subscribe({ topics: [replyTopic], fromBeginning: true })
await consumer.run({
  autoCommit: false,
  eachBatch: async ({ batch }) => {
    for (const message of batch.messages) {
      const id = message.headers?.[HEADERS.correlationId]?.toString()
      if (id !== undefined) waiting.get(id)?.(message.value)
    }
  }
})
await joined

const app = Fastify()
app.post('/call', async (request, reply) => {
  const id = randomUUID()
  const timer = setTimeout(() => {
    waiting.delete(id)
    reply.code(504).send({ message: 'no reply in time' })
  }, TIMEOUT_MS)
  waiting.set(id, value => {
    clearTimeout(timer)
    waiting.delete(id)
    reply.type('application/json').send(value)
  })
  batcher.send(requestTopic, {
    value: JSON.stringify(request.body),
    headers: { [HEADERS.correlationId]: id, [HEADERS.replyTopic]: replyTopic }
  }).catch(() => {
    clearTimeout(timer)
    waiting.delete(id)
    reply.code(502).send({ message: 'could not publish the request' })
  })
  return reply // answered later, from the reply consumer or the timer
})
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })
onStop(async () => {
  await app.close()
  await consumer.disconnect()
  await batcher.idle()
  await producer.disconnect()
})
ready('http-kafka-bare', (app.server.address() as { port: number }).port)
