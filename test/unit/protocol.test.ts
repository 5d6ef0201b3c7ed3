// The parts of the wire protocol that read untrusted input: header values as kafkajs hands them
// over, a worker's error, and a reply stored in Redis by another replica.
import t from 'tap'
import { headerString, parseRemoteError } from '../../plugin/protocol.js'
import { decodeStored, encodeStored } from '../../plugin/redis/stored-reply.js'

t.test('a header reads as text whether it came as a string, bytes or repeated', async t => {
  t.equal(headerString(undefined, 'h'), undefined, 'a record without headers')
  t.equal(headerString({}, 'h'), undefined)
  t.equal(headerString({ h: 'text' }, 'h'), 'text')
  t.equal(headerString({ h: Buffer.from('bytes') }, 'h'), 'bytes')
  t.equal(headerString({ h: [Buffer.from('first'), 'second'] }, 'h'), 'first', 'the first of a repeated header')
  t.equal(headerString({ h: [] }, 'h'), undefined, 'a repeated header with no value')
})

t.test('a worker\'s error: JSON or plain text, cut short, and only a well-formed code and a 4xx status pass', async t => {
  t.same(parseRemoteError('{"message":"sku 7 is unknown","code":"INVALID_SKU","statusCode":422}'),
    { message: 'sku 7 is unknown', code: 'INVALID_SKU', statusCode: 422 })
  t.same(parseRemoteError('the database is down'), { message: 'the database is down' }, 'plain text is the message')
  t.same(parseRemoteError('42'), { message: '42' }, 'JSON that is no object is the message as text')
  t.same(parseRemoteError('null'), { message: 'null' })
  t.equal(parseRemoteError('x'.repeat(5000)).message.length, 1024, 'a long text is cut')
  t.equal(parseRemoteError(JSON.stringify({ message: 'y'.repeat(5000) })).message.length, 1024, 'a long message is cut')
  t.same(parseRemoteError('{"code":"E1"}'), { message: 'unknown error', code: 'E1' }, 'no message')
  t.same(parseRemoteError('{"message":7}'), { message: 'unknown error' }, 'a message that is not text')
  t.same(parseRemoteError('{"message":"m","code":"has space"}'), { message: 'm' }, 'a code that does not look like one')
  t.same(parseRemoteError('{"message":"m","code":42}'), { message: 'm' })
  t.same(parseRemoteError('{"message":"m","code":"' + 'C'.repeat(65) + '"}'), { message: 'm' }, 'a code too long')
  for (const statusCode of [500, 503, 302, 200, 399, 422.5, '404']) {
    t.same(parseRemoteError(JSON.stringify({ message: 'm', statusCode })), { message: 'm' }, `status ${JSON.stringify(statusCode)} is the gateway's 502`)
  }
  t.same(parseRemoteError('{"message":"m","statusCode":499}'), { message: 'm', statusCode: 499 })
  t.same(parseRemoteError('{"message":"m","statusCode":400}'), { message: 'm', statusCode: 400 })
})

t.test('stored replies: each outcome round-trips, a value that is not ours is refused', async t => {
  const outcomes = [
    { ok: true, value: { n: 1 } },
    { ok: false, error: { message: 'no', code: 'E', statusCode: 404 } },
    { ok: false, invalid: 'the reply is not JSON' }
  ] as const
  for (const outcome of outcomes) {
    const json = JSON.stringify('value' in outcome ? outcome.value : 'error' in outcome ? outcome.error : outcome.invalid)
    t.same(decodeStored(encodeStored(outcome, 'api-1', json)), { outcome, consumedBy: 'api-1' }, json)
  }
  t.equal(decodeStored(''), undefined, 'empty')
  t.equal(decodeStored('Rapi-1'), undefined, 'no separator')
  t.equal(decodeStored('Rapi-1|{not json'), undefined, 'a reply whose JSON is broken')
  t.equal(decodeStored('Iapi-1|not json'), undefined, 'an invalid outcome whose reason is not JSON')
  t.equal(decodeStored('rapi-1|{}'), undefined, 'a marker that is no capital letter is not a layout at all')
  t.equal(decodeStored('1api-1|{}'), undefined)
  t.equal((decodeStored(`Iapi-1|${JSON.stringify('w'.repeat(5000))}`)?.outcome as { invalid: string }).invalid.length, 1024, 'a long reason is cut')
})
