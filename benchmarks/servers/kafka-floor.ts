// The transport's floor: request-reply through the plugin's Kafka transport alone (kafkajs, or
// @platformatic/kafka with KAFKA_LIBRARY), no HTTP and no Redis. Correlation in an in-memory map, as
// NestJS and Spring do it; produce calls coalesced as the plugin's are, so the floor is the best
// the library does here, not a strawman. Drives its own load when the harness asks.
import { randomUUID } from 'node:crypto'
import { createTransport } from '../../plugin/kafka/index.js'
import { silentLog } from '../../plugin/log.js'
import { HEADERS } from '../../plugin/protocol.js'
import { kafka, need, onStop, ready } from './env.js'

const requestTopic = need('REQUEST_TOPIC')
const replyTopic = need('REPLY_TOPIC')
const TIMEOUT_MS = 5000

const transport = await createTransport(kafka('kafka-floor'), silentLog)
const producer = transport.producer({ maxBatchBytes: 1_000_000 })
const consumer = transport.consumer({
  groupId: need('GROUP_ID'),
  topics: [replyTopic],
  fromBeginning: true,
  commits: 'handled',
  settings: { heartbeatInterval: 500, maxWaitTimeInMs: 100 }
})
const waiting = new Map<string, () => void>()

await producer.connect()
await consumer.start(async batch => {
  for (const record of batch.records) {
    const id = record.headers[HEADERS.correlationId]?.toString()
    if (id !== undefined) waiting.get(id)?.()
  }
})

/** One call: publish, then wait for the reply with this id (or the timeout). */
function call (value: string): Promise<boolean> {
  const id = randomUUID()
  return new Promise(resolve => {
    const timer = setTimeout(() => { waiting.delete(id); resolve(false) }, TIMEOUT_MS)
    waiting.set(id, () => { clearTimeout(timer); waiting.delete(id); resolve(true) })
    producer.send(requestTopic, {
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
onStop(async () => {
  await consumer.close()
  await producer.idle()
  await producer.close()
  await transport.close()
})
ready('kafka-floor')
