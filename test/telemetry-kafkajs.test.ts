// With @opentelemetry/instrumentation-kafkajs also running: it starts its own PRODUCER span per
// message and overwrites the message's traceparent with it. The trace must stay one chain.
import t from 'tap'
import { createRequire } from 'node:module'
import { trace } from '@opentelemetry/api'
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { freshTopics, startInstance, startWorker } from './helpers/kafka-reply.js'
import { parentOf, registerTestSdk } from './helpers/otel.js'
import { waitFor } from './helpers/wait.js'
import { kafkajsOnly } from './helpers/stack.js'

const otel = registerTestSdk()
const instrumentation = new KafkaJsInstrumentation()
instrumentation.setTracerProvider(otel.provider)
// Patched by hand rather than through a module hook: kafkajs is already loaded (by the plugin's
// import), and the patch goes onto Kafka.prototype, which every later producer shares.
const kafkajs = createRequire(import.meta.url)('kafkajs') as unknown
for (const definition of instrumentation.getModuleDefinitions()) definition.patch?.(kafkajs, '2.2.4')
const tracer = trace.getTracer('test')

t.test('alongside instrumentation-kafkajs: one traceparent per record, and an unbroken chain for concurrent calls', kafkajsOnly, async t => {
  const names = await freshTopics(1)
  const app = await startInstance(t, names)
  const headers = new Map<number, unknown>()
  await startWorker(t, names, (payload, ctx) => {
    const { n } = payload as { n: number }
    headers.set(n, ctx.headers.traceparent)
    return tracer.startActiveSpan('handler', span => {
      span.setAttribute('n', n)
      span.end()
      return n
    })
  })

  // Concurrent calls, each under its own caller span: they would share one produce request.
  const calls = await Promise.all([0, 1, 2, 3, 4].map(n => tracer.startActiveSpan(`caller ${n}`, async span => {
    const reply = await app.kafkaReply.request(names.requestTopic, { n })
    span.end()
    return { n, reply, traceId: span.spanContext().traceId, callerSpanId: span.spanContext().spanId }
  })))

  const instrumented = () => otel.spans().filter(s => s.instrumentationScope.name.includes('kafkajs') && s.name === `send ${names.requestTopic}`)
  await waitFor('the instrumentation\'s send spans', () => instrumented().length >= 5)
  t.ok(instrumented().length >= 5, 'the instrumentation is active: it recorded its own send spans')
  // The responder ends its process span once the broker acknowledged the reply, which the caller
  // may already have consumed.
  await waitFor('the responder\'s process spans', () => otel.spans().filter(s => s.name === `process ${names.requestTopic}`).length >= 5)

  for (const call of calls) {
    t.equal(call.reply, call.n)
    const raw = headers.get(call.n)
    t.ok(Buffer.isBuffer(raw), `call ${call.n}: one traceparent header on the request record, not a list`)
    const traceparent = String(raw)
    const spans = otel.spans().filter(s => s.spanContext().traceId === call.traceId)
    t.match(String(traceparent), new RegExp(`^00-${call.traceId}-`), 'the traceparent belongs to the caller\'s trace')
    const handler = spans.find(s => s.name === 'handler')
    t.ok(handler, 'the handler\'s span is in the caller\'s trace')
    const chain = ancestry(handler!, spans)
    t.same(chain.map(s => s.name), [
      'handler', `process ${names.requestTopic}`, `send ${names.requestTopic}`, `send ${names.requestTopic}`, `call ${names.requestTopic}`, `caller ${call.n}`
    ], 'handler -> process -> send (instrumentation) -> send (plugin) -> call -> caller')
    t.equal(chain[1].parentSpanContext?.spanId, String(traceparent).split('-')[2], 'the worker\'s span is a child of the span the header names')
    const [mine] = spans.filter(s => s.name === `call ${names.requestTopic}`)
    t.equal(parentOf(mine), call.callerSpanId)
  }
})

/** The span and its ancestors within `spans`, nearest first. */
function ancestry (span: ReadableSpan, spans: ReadableSpan[]): ReadableSpan[] {
  const chain = [span]
  for (let parent = parentOf(span); parent !== undefined;) {
    const next = spans.find(s => s.spanContext().spanId === parent)
    if (next === undefined) break
    chain.push(next)
    parent = parentOf(next)
  }
  return chain
}
