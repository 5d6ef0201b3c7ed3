// What a call is refused for before anything is published, and the error a caller gets for each
// way publishing or the worker can fail.
import t from 'tap'
import { checkTarget, encodePayload, publishError, remoteError } from '../../plugin/call-checks.js'
import { errors } from '../../plugin/errors.js'
import { ProduceError } from '../../plugin/kafka/transport.js'
import { HEADERS, affinityHeaders } from '../../plugin/protocol.js'

t.test('topic and timeout are checked against maxTimeout', async t => {
  t.doesNotThrow(() => checkTarget('orders', 1, 100))
  t.doesNotThrow(() => checkTarget('orders', 100, 100))
  t.throws(() => checkTarget('', 10, 100), { code: 'FST_KAFKA_REPLY_INVALID_CALL', message: /topic must be a non-empty string/ })
  t.throws(() => checkTarget(7, 10, 100), { code: 'FST_KAFKA_REPLY_INVALID_CALL' })
  for (const timeout of [0, 101, 1.5, '10']) {
    t.throws(() => checkTarget('orders', timeout, 100), { code: 'FST_KAFKA_REPLY_INVALID_CALL', message: /from 1 to maxTimeout \(100 ms\)/ }, `timeout ${String(timeout)}`)
  }
})

t.test('a payload is published as JSON within maxRequestBytes', async t => {
  t.equal(encodePayload({ a: 'é' }, 100), '{"a":"é"}')
  t.throws(() => encodePayload(undefined, 100), { code: 'FST_KAFKA_REPLY_INVALID_CALL', message: /JSON-serialisable/ })
  t.throws(() => encodePayload(() => 1, 100), { code: 'FST_KAFKA_REPLY_INVALID_CALL' })
  t.throws(() => encodePayload('éé', 5), { code: 'FST_KAFKA_REPLY_PAYLOAD_TOO_LARGE', statusCode: 413, message: /6 bytes, maxRequestBytes is 5/ }, 'bytes, not characters')
})

t.test('each class of produce error answers with its own status', async t => {
  const cause = new Error('broker said no')
  t.match(publishError('orders', new ProduceError('tooLarge', 'MESSAGE_TOO_LARGE', cause)), { code: 'FST_KAFKA_REPLY_PAYLOAD_TOO_LARGE', statusCode: 413, message: /MESSAGE_TOO_LARGE/ })
  t.match(publishError('orders', new ProduceError('topicMissing', 'UNKNOWN_TOPIC_OR_PARTITION', cause)), { code: 'FST_KAFKA_REPLY_TOPIC_UNAVAILABLE', statusCode: 503, message: /"orders" cannot be written: UNKNOWN_TOPIC_OR_PARTITION/ })
  t.match(publishError('orders', new ProduceError('notAuthorized', 'TOPIC_AUTHORIZATION_FAILED', cause)), { code: 'FST_KAFKA_REPLY_TOPIC_UNAVAILABLE', statusCode: 503 })
  t.match(publishError('orders', new ProduceError('retriable', undefined, cause)), { code: 'FST_KAFKA_REPLY_PUBLISH_FAILED', statusCode: 503 })
  t.match(publishError('orders', new Error('not a produce error')), { code: 'FST_KAFKA_REPLY_PUBLISH_FAILED' })
  t.equal(publishError('orders', new ProduceError('retriable', undefined, cause)).cause instanceof ProduceError, true, 'the cause is kept for the logs')
})

t.test('a worker\'s error: 502 unless the worker set a 4xx, its code kept apart', async t => {
  const plain = remoteError({ message: 'boom' })
  t.ok(plain instanceof errors.REMOTE_ERROR)
  t.match(plain, { statusCode: 502, message: 'The worker failed: boom' })
  t.match(remoteError({ message: 'no such sku', statusCode: 422, code: 'INVALID_SKU' }), { statusCode: 422, remoteCode: 'INVALID_SKU' })
})

t.test('affinity headers: the hint always, kafka_replyPartition only in the encoding asked for', async t => {
  t.equal(affinityHeaders(false, 2), undefined)
  t.equal(affinityHeaders(true, undefined), undefined, 'no partition of its own: no hint')
  t.same(affinityHeaders(true, 2), { [HEADERS.replyPartitionHint]: '2' })
  t.same(affinityHeaders('nestjs', 2), { [HEADERS.replyPartitionHint]: '2', [HEADERS.replyPartition]: '2' })
  t.same(affinityHeaders('spring', 258), { [HEADERS.replyPartitionHint]: '258', [HEADERS.replyPartition]: Buffer.from([0, 0, 1, 2]) })
})
