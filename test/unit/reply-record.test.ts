// A consumed reply record is untrusted: what the plugin makes of each shape of record, and how a
// reply is checked against the schema a call gave.
import t from 'tap'
import { Type } from '@sinclair/typebox'
import type { ConsumedRecord, RecordHeaders } from '../../plugin/kafka/transport.js'
import { newCorrelation } from '../../plugin/correlation.js'
import { HEADERS } from '../../plugin/protocol.js'
import { decodeReply } from '../../plugin/reply-record.js'
import { checkReply } from '../../plugin/reply-schema.js'

const id = newCorrelation('api-1', Date.now() + 5000).id
/** A consumed record; without headers (an old message set) its headers are empty. */
const record = (value: string | Buffer | null, headers: RecordHeaders = {}): ConsumedRecord => {
  return { key: null, value: typeof value === 'string' ? Buffer.from(value) : value, timestamp: String(Date.now()), offset: '0', headers }
}

t.test('a well-formed reply: its value, parsed, and the JSON text as it came', async t => {
  const reply = decodeReply(record('{"n":1}', { [HEADERS.correlationId]: Buffer.from(id) }), 100)
  t.match(reply, { correlation: { id, instanceId: 'api-1' }, outcome: { ok: true, value: { n: 1 } }, json: '{"n":1}' })
  t.match(decodeReply(record(null, { [HEADERS.correlationId]: id }), 100), { outcome: { ok: true, value: null }, json: 'null' }, 'no value is null')
  t.match(decodeReply(record('', { [HEADERS.correlationId]: id }), 100), { outcome: { ok: true, value: null }, json: 'null' }, 'an empty value is null')
})

t.test('records without a usable correlation id, or too large, are refused', async t => {
  const refused: Array<[string, ConsumedRecord]> = [
    ['no headers', record('{}')],
    ['no id', record('{}', { other: 'x' })],
    ['a repeated id', record('{}', { [HEADERS.correlationId]: [Buffer.from(id), Buffer.from(id)] })],
    ['an id over 128 bytes', record('{}', { [HEADERS.correlationId]: Buffer.alloc(129, 'a') })],
    ['an id of another shape', record('{}', { [HEADERS.correlationId]: 'api-1.*' })],
    ['a value over maxReplyBytes', record('x'.repeat(101), { [HEADERS.correlationId]: id })],
    ['an error header over maxReplyBytes', record(null, { [HEADERS.correlationId]: id, [HEADERS.replyError]: 'e'.repeat(101) })]
  ]
  for (const [why, message] of refused) t.equal(decodeReply(message, 100), undefined, why)
})

t.test('an error reply: this project\'s header or NestJS\'s, checked like any worker error', async t => {
  const ours = decodeReply(record(null, { [HEADERS.correlationId]: id, [HEADERS.replyError]: '{"message":"no","statusCode":404,"code":"NOPE"}' }), 100)
  t.same(ours?.outcome, { ok: false, error: { message: 'no', code: 'NOPE', statusCode: 404 } })
  t.equal(ours?.json, '{"message":"no","code":"NOPE","statusCode":404}', 'stored as checked, not as it came')
  const nest = decodeReply(record(null, { [HEADERS.correlationId]: id, [HEADERS.nestError]: 'boom' }), 100)
  t.same(nest?.outcome, { ok: false, error: { message: 'boom' } }, 'NestJS\'s kafka_nest-err')
  const both = decodeReply(record(null, { [HEADERS.correlationId]: id, [HEADERS.replyError]: 'ours', [HEADERS.nestError]: 'theirs' }), 100)
  t.same(both?.outcome, { ok: false, error: { message: 'ours' } }, 'ours first when both are set')
})

t.test('a reply that is not JSON is an invalid outcome of its call, not a dropped record', async t => {
  const reply = decodeReply(record('OK, done', { [HEADERS.correlationId]: id }), 100)
  t.same(reply?.outcome, { ok: false, invalid: 'the reply is not JSON' })
  t.equal(reply?.json, '"the reply is not JSON"')
})

t.test('a reply that does not match the schema names where it differs', async t => {
  const schema = Type.Object({ price: Type.Number() })
  t.doesNotThrow(() => checkReply(schema, { price: 3 }))
  t.throws(() => checkReply(schema, { price: 'three' }), { code: 'FST_KAFKA_REPLY_INVALID_REPLY', statusCode: 502, message: /\/price/ })
  t.throws(() => checkReply(schema, 'three'), { code: 'FST_KAFKA_REPLY_INVALID_REPLY', message: /does not match the schema: \/ / }, 'the whole reply is /')
  t.throws(() => checkReply(Type.Array(Type.String()), [1]), { message: /\/0 / }, 'a schema compiled for its first use works for the next')
  t.throws(() => checkReply(Type.Array(Type.String()), [1]), { message: /\/0 / })
})
