// The transport's floor: request-reply with kafkajs alone, no HTTP and no Redis. Correlation in
// an in-memory map, as NestJS and Spring do it; produce calls coalesced as the plugin does, so the
// floor is the best kafkajs does, not a strawman. Drives its own load when the harness asks.
import { randomUUID } from 'node:crypto'
import { Kafka, Partitioners, logLevel } from 'kafkajs'
import { BatchingProducer } from '../../plugin/kafka/kafkajs/batching-producer.js'
import { HEADERS } from '../../plugin/protocol.js'
import { brokers, need, onStop, ready } from './env.js'

const requestTopic = need('REQUEST_TOPIC')
const replyTopic = need('REPLY_TOPIC')
const TIMEOUT_MS = 5000

const kafka = new Kafka({ brokers: brokers(), clientId: 'kafka-floor', logLevel: logLevel.ERROR })
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
const batcher = new BatchingProducer(producer)
const consumer = kafka.consumer({ groupId: need('GROUP_ID'), heartbeatInterval: 500, maxWaitTimeInMs: 100 })
const waiting = new Map<string, () => void>()
const joined = new Promise<void>(resolve => consumer.on(consumer.events.GROUP_JOIN, () => resolve()))

await producer.connect()
await consumer.connect()
await consumer.subscribe({ topics: [replyTopic], fromBeginning: true })
await consumer.run({
  eachBatch: async ({ batch }) => {
    for (const message of batch.messages) {
      const id = message.headers?.[HEADERS.correlationId]?.toString()
      if (id !== undefined) waiting.get(id)?.()
    }
  }
})
await joined

/** One call: publish, then wait for the reply with this id (or the timeout). */
function call (value: string): Promise<boolean> {
  const id = randomUUID()
  return new Promise(resolve => {
    const timer = setTimeout(() => { waiting.delete(id); resolve(false) }, TIMEOUT_MS)
    waiting.set(id, () => { clearTimeout(timer); waiting.delete(id); resolve(true) })
    batcher.send(requestTopic, {
      value,
      headers: { [HEADERS.correlationId]: id, [HEADERS.replyTopic]: replyTopic, [HEADERS.deadline]: String(Date.now() + TIMEOUT_MS) }
    }).catch(() => { clearTimeout(timer); waiting.delete(id); resolve(false) })
  })
}

/** `connections` loops, each one call at a time (like autocannon with pipelining 1), for `durationMs`. */
async function load ({ connections, durationMs, body }: { connections: number, durationMs: number, body: string }) {
  const latenciesUs: number[] = []
  let timeouts = 0
  const end = performance.now() + durationMs
  await Promise.all(Array.from({ length: connections }, async () => {
    while (performance.now() < end) {
      const started = performance.now()
      if (await call(body)) latenciesUs.push((performance.now() - started) * 1000)
      else timeouts++
    }
  }))
  return { latenciesUs, errors: 0, timeouts }
}

process.on('message', (message: { type: string, connections: number, durationMs: number, body: string }) => {
  if (message.type !== 'load') return
  load(message).then(result => process.send?.({ type: 'result', ...result }), (err: Error) => process.send?.({ type: 'error', message: err.message }))
})
onStop(async () => { await consumer.disconnect(); await producer.disconnect() })
ready('kafka-floor')
