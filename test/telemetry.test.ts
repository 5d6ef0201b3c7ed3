import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import type { ReplyRoute } from '../plugin/index.js'
import { ReplyError, type RequestContext } from '../plugin/responder/index.js'
import { headerString } from '../plugin/protocol.js'
import { freshTopics, startInstance, startInstances, startWorker } from './helpers/kafka-reply.js'
import { parentOf, registerTestSdk } from './helpers/otel.js'
import { waitFor } from './helpers/wait.js'

const otel = registerTestSdk()
const tracer = trace.getTracer('test')

t.test('one trace from the caller\'s span through the handler and back, with the hand-over through Redis', async t => {
  // One reply partition: calls from the instance that does not own it are answered through Redis.
  const names = await freshTopics(1)
  const apps = await startInstances(t, names, 2)
  const seen = new Map<number, { traceparent: string | undefined, activeTraceId: string | undefined, handlerSpanId: string }>()
  await startWorker(t, names, async (payload, context: RequestContext) => {
    const { n } = payload as { n: number }
    return tracer.startActiveSpan('price it', async span => {
      seen.set(n, {
        traceparent: headerString(context.headers, 'traceparent'),
        activeTraceId: span.spanContext().traceId,
        handlerSpanId: span.spanContext().spanId
      })
      span.end()
      return { n }
    })
  })

  const calls = await Promise.all([0, 1, 2, 3].map(n => tracer.startActiveSpan(`caller ${n}`, async span => {
    let route: ReplyRoute | undefined
    const reply = await apps[n % 2].kafkaReply.request(names.requestTopic, { n }, { onRoute: r => { route = r } })
    span.end()
    return { n, reply, route: route!, traceId: span.spanContext().traceId, callerSpanId: span.spanContext().spanId }
  })))
  const viaRedis = calls.find(c => c.route.path === 'redis')!
  t.ok(viaRedis, 'one of the calls was handed over through Redis')
  // The hand-over span ends once the Redis write returned, which may be after the caller got its reply.
  await waitFor('the hand-over span', () => otel.spans().some(s => s.name === `handover ${names.replyTopic}` && s.spanContext().traceId === viaRedis.traceId))
  // The responder ends its process span once the broker acknowledged the reply, which may also be after.
  await waitFor('the responder\'s process spans', () => otel.spans().filter(s => s.name === `process ${names.requestTopic}`).length >= calls.length)

  for (const call of calls) {
    const spans = otel.spans().filter(s => s.spanContext().traceId === call.traceId)
    const byName = (name: string) => spans.filter(s => s.name === name)
    const [client] = byName(`call ${names.requestTopic}`)
    const [send] = byName(`send ${names.requestTopic}`)
    const [process] = byName(`process ${names.requestTopic}`)
    const [handler] = byName('price it')
    t.ok(client && send && process && handler, `call ${call.n}: client, send, process and handler spans in the caller's trace`)
    t.same(call.reply, { n: call.n })
    t.equal(seen.get(call.n)!.activeTraceId, call.traceId, 'the handler runs in the caller\'s trace')

    t.equal(client.kind, SpanKind.CLIENT)
    t.equal(parentOf(client), call.callerSpanId, 'CLIENT span: child of the active span')
    t.equal(send.kind, SpanKind.PRODUCER)
    t.equal(parentOf(send), client.spanContext().spanId, 'PRODUCER span: child of the CLIENT span')
    t.equal(process.kind, SpanKind.CONSUMER)
    t.equal(parentOf(process), send.spanContext().spanId, 'CONSUMER span: child of the PRODUCER span (not only a link)')
    t.equal(parentOf(handler), process.spanContext().spanId, 'the handler\'s span: child of the CONSUMER span')
    t.equal(seen.get(call.n)!.traceparent, `00-${call.traceId}-${send.spanContext().spanId}-01`, 'the request record carries the send span as traceparent')

    t.match(client.attributes, {
      'messaging.system': 'kafka',
      'messaging.destination.name': names.requestTopic,
      'kafka_reply.outcome': 'ok',
      'kafka_reply.path': call.route.path,
      'kafka_reply.consumed_by': call.route.consumedBy
    })
    t.type(client.attributes['messaging.message.conversation_id'], 'string')
    t.equal(send.attributes['messaging.message.conversation_id'], client.attributes['messaging.message.conversation_id'])
    t.equal(process.attributes['messaging.message.conversation_id'], client.attributes['messaging.message.conversation_id'])
    t.equal(client.status.code, SpanStatusCode.UNSET)

    const handovers = byName(`handover ${names.replyTopic}`)
    if (call.route.path === 'redis') {
      t.equal(handovers.length, 1, 'the consuming replica recorded its hand-over in the call\'s trace')
      t.equal(parentOf(handovers[0]), process.spanContext().spanId, 'the hand-over is a child of the worker\'s span (the reply\'s traceparent)')
      t.equal(handovers[0].attributes['kafka_reply.consumed_by'], call.route.consumedBy)
    } else {
      t.equal(handovers.length, 0, 'a reply resolved in memory has no hand-over')
    }
  }
})

t.test('failures end the CLIENT span with error status, and are counted by outcome in kafka_reply.call.duration', async t => {
  const names = await freshTopics(1)
  const app = await startInstance(t, names)
  await startWorker(t, names, async payload => {
    const { fail, delay } = payload as { fail?: boolean, delay?: number }
    if (delay !== undefined) await sleep(delay)
    if (fail === true) throw new ReplyError(422, 'no such thing', 'NOT_FOUND')
    return 'fine'
  })
  const before = await outcomes(names.requestTopic)
  const call = (payload: unknown, timeout?: number) => app.kafkaReply.request(names.requestTopic, payload, { timeout }).then(() => 'ok', (err: Error & { code: string }) => err.code)

  t.same(await Promise.all([call({}), call({}), call({}), call({ fail: true }), call({ delay: 800 }, 200), call({}, 0)]),
    ['ok', 'ok', 'ok', 'FST_KAFKA_REPLY_REMOTE_ERROR', 'FST_KAFKA_REPLY_TIMEOUT', 'FST_KAFKA_REPLY_INVALID_CALL'])
  const after = await outcomes(names.requestTopic)
  t.same(diff(after, before), { 'ok memory': 3, 'remote_error memory': 1, timeout: 1, invalid_call: 1 }, 'one histogram count per call, by outcome, and by path when a reply arrived')

  const descriptor = await otel.descriptor('kafka_reply.call.duration')
  t.equal(descriptor?.unit, 's')
  const [point] = (await otel.points('kafka_reply.call.duration')).filter(p => p.attributes['kafka_reply.outcome'] === 'ok' && p.attributes['messaging.destination.name'] === names.requestTopic)
  const histogram = point.value as { buckets: { boundaries: number[] }, sum: number }
  t.ok(histogram.buckets.boundaries.includes(0.001) && histogram.buckets.boundaries.includes(0.005), 'buckets advised for millisecond latencies')
  t.ok(histogram.sum > 0 && histogram.sum < 3, `durations are in seconds (sum of 3 calls: ${histogram.sum})`)

  const clientSpans = otel.spans().filter(s => s.name === `call ${names.requestTopic}`)
  const failed = clientSpans.filter(s => s.status.code === SpanStatusCode.ERROR).map(s => s.attributes['kafka_reply.outcome']).sort()
  t.same(failed, ['invalid_call', 'remote_error', 'timeout'], 'every failure ends its span with error status')
  t.equal(clientSpans.filter(s => s.status.code !== SpanStatusCode.ERROR).length, 3)

  await waitFor('the worker\'s error span', () => otel.spans().some(s => s.name === `process ${names.requestTopic}` && s.status.code === SpanStatusCode.ERROR))
  const processed = await otel.points('kafka_reply.responder.process.duration')
  const count = (outcome: string) => processed.filter(p => p.attributes['kafka_reply.outcome'] === outcome && p.attributes['messaging.destination.name'] === names.requestTopic)
    .reduce((sum, p) => sum + (p.value as { count: number }).count, 0)
  t.equal(count('ok'), 3, 'the responder\'s histogram counts the handled requests')
  t.equal(count('error'), 1, 'and the failed one')
})

t.test('the stats() counters as counters, the pending calls as a gauge', async t => {
  const names = await freshTopics(1)
  const app = await startInstance(t, names)
  await startWorker(t, names, () => 'ok')
  await Promise.all([1, 2, 3].map(() => app.kafkaReply.request(names.requestTopic, {})))
  const mine = async (name: string) => (await otel.points(name)).find(p => p.attributes['kafka_reply.instance_id'] === app.kafkaReply.instanceId)?.value
  t.equal(await mine('kafka_reply.sent'), 3)
  t.equal(await mine('kafka_reply.resolved_local'), 3)
  t.equal(await mine('kafka_reply.timeouts'), 0)
  t.equal(await mine('kafka_reply.pending'), 0)
})

async function outcomes (topic: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {}
  for (const point of await otel.points('kafka_reply.call.duration')) {
    if (point.attributes['messaging.destination.name'] !== topic) continue
    const key = [point.attributes['kafka_reply.outcome'], point.attributes['kafka_reply.path']].filter(Boolean).join(' ')
    counts[key] = (counts[key] ?? 0) + (point.value as { count: number }).count
  }
  return counts
}

function diff (after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => v !== 0))
}
