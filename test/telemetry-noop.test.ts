// No OpenTelemetry SDK registered in this process: the API is a no-op.
import t from 'tap'
import { context, trace } from '@opentelemetry/api'
import { headerString } from '../plugin/protocol.js'
import { freshTopics, startInstance, startWorker } from './helpers/kafka-reply.js'

t.test('without an SDK: calls succeed, no traceparent is written, and an incoming one reaches the handler untouched', async t => {
  const names = await freshTopics(1)
  const app = await startInstance(t, names)
  const seen: Array<{ traceparent: string | undefined, tracestate: string | undefined, activeSpan: boolean }> = []
  await startWorker(t, names, (_payload, ctx) => {
    seen.push({
      traceparent: headerString(ctx.headers, 'traceparent'),
      tracestate: headerString(ctx.headers, 'tracestate'),
      activeSpan: trace.getSpanContext(context.active()) !== undefined
    })
    return 'ok'
  })

  t.equal(await app.kafkaReply.request(names.requestTopic, {}), 'ok')
  t.same(seen[0], { traceparent: undefined, tracestate: undefined, activeSpan: false }, 'no trace context is written or made up')

  // A traceparent set by the caller (say, taken from its own HTTP request) passes as it was.
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
  t.equal(await app.kafkaReply.request(names.requestTopic, {}, { headers: { traceparent, tracestate: 'congo=t61rcWkgMzE' } }), 'ok')
  t.same(seen[1], { traceparent, tracestate: 'congo=t61rcWkgMzE', activeSpan: false }, 'an incoming traceparent is left as it came')

  const res = await app.inject({ method: 'POST', url: '/call', payload: {}, headers: { traceparent } })
  t.equal(res.statusCode, 200, 'a route behind an HTTP traceparent answers as usual')
  t.equal(seen[2].traceparent, undefined, 'the plugin does not copy the HTTP header without an SDK')
})
