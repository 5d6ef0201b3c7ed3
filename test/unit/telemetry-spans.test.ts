// How a span ends for each kind of failure, and the outcome a failed call is counted under: what a
// dashboard groups by. A handler may throw anything, not only an Error.
import t from 'tap'
import { SpanStatusCode, trace } from '@opentelemetry/api'
import { errors } from '../../plugin/index.js'
import { outcomeOf } from '../../plugin/telemetry/attributes.js'
import { endSpan } from '../../plugin/telemetry/calls.js'
import { registerTestSdk } from '../helpers/otel.js'

const otel = registerTestSdk()
const tracer = trace.getTracer('test')

t.test('a span ends with the outcome, and with error status and error.type when it failed', async t => {
  const ended = (name: string) => otel.spans().find(span => span.name === name)!
  endSpan(tracer.startSpan('ok'), 'ok')
  endSpan(tracer.startSpan('plugin error'), 'error', new errors.TIMEOUT(5000))
  endSpan(tracer.startSpan('thrown text'), 'error', 'the database is down')
  endSpan(tracer.startSpan('thrown null'), 'error', null)
  endSpan(tracer.startSpan('no outcome'), undefined)

  t.match(ended('ok'), { attributes: { 'kafka_reply.outcome': 'ok' }, status: { code: SpanStatusCode.UNSET } })
  t.match(ended('plugin error'), {
    attributes: { 'kafka_reply.outcome': 'error', 'error.type': 'FST_KAFKA_REPLY_TIMEOUT' },
    status: { code: SpanStatusCode.ERROR, message: 'No reply within 5000 ms' }
  })
  t.match(ended('thrown text'), { status: { code: SpanStatusCode.ERROR, message: 'the database is down' } })
  t.equal(ended('thrown text').attributes['error.type'], undefined, 'no code, no error.type')
  t.match(ended('thrown null'), { status: { code: SpanStatusCode.ERROR, message: 'null' } })
  t.equal(ended('no outcome').attributes['kafka_reply.outcome'], undefined)
})

t.test('the outcome of a failed call: the plugin\'s error code in short, anything else "error"', async t => {
  t.equal(outcomeOf(new errors.TIMEOUT(5000)), 'timeout')
  t.equal(outcomeOf(new errors.REDIS_UNAVAILABLE()), 'unavailable')
  t.equal(outcomeOf(new errors.PAYLOAD_TOO_LARGE('x')), 'payload_too_large')
  t.equal(outcomeOf(Object.assign(new Error('x'), { code: 'ECONNRESET' })), 'error', 'another library\'s code')
  t.equal(outcomeOf(new Error('x')), 'error')
  t.equal(outcomeOf(null), 'error')
  t.equal(outcomeOf('text'), 'error')
})
