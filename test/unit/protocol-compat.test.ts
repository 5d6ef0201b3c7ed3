// The protocol between replicas and workers that may run different versions during a rolling
// deploy: what the previous layout (0.1.0) wrote must still be read the same way.
import t from 'tap'
import { AssignerProtocol } from 'kafkajs'
import { newCorrelation, parseCorrelationId } from '../../plugin/correlation.js'
import { HEADERS } from '../../plugin/protocol.js'
import { replyKey } from '../../plugin/redis/keys.js'
import { decodeStored, encodeStored } from '../../plugin/redis/stored-reply.js'
import { ASSIGNER_NAME } from '../../plugin/kafka/assignment.js'
import { memberInstanceId } from '../../plugin/kafka/kafkajs/assigner.js'

// Written by 0.1.0: newCorrelation('api-1', 1795980000000).
const OLD_ID = 'api-1.mx284d1c.0f8fad5b-d9cb-469f-a165-70867728950e'

t.test('a correlation id of the previous layout: same instance, deadline and Redis key', async t => {
  const correlation = parseCorrelationId(OLD_ID)
  t.match(correlation, { id: OLD_ID, instanceId: 'api-1', deadline: parseInt('mx284d1c', 36) })
  t.equal(replyKey('quotes', correlation!), 'quotes:{api-1}:mx284d1c.0f8fad5b-d9cb-469f-a165-70867728950e')
})

t.test('stored replies of the previous layout read the same; this layout writes them the same', async t => {
  t.same(decodeStored('Rapi-2|{"n":1}'), { outcome: { ok: true, value: { n: 1 } }, consumedBy: 'api-2' })
  t.same(decodeStored('Eapi-2|{"message":"sku 7 is unknown","code":"INVALID_SKU","statusCode":422}'),
    { outcome: { ok: false, error: { message: 'sku 7 is unknown', code: 'INVALID_SKU', statusCode: 422 } }, consumedBy: 'api-2' })
  t.equal(encodeStored({ ok: true, value: { n: 1 } }, 'api-2', '{"n":1}'), 'Rapi-2|{"n":1}')
  t.equal(encodeStored({ ok: false, error: { message: 'x' } }, 'api-2', '{"message":"x"}'), 'Eapi-2|{"message":"x"}')
})

t.test('a stored layout of a newer version fails the call at once, saying so, rather than at its deadline', async t => {
  t.match(decodeStored('Zapi-3|{"n":1}'), { outcome: { ok: false, invalid: /newer version of fastify-kafka-reply \(marker Z\)/ }, consumedBy: 'api-3' })
  t.equal(decodeStored('not ours'), undefined, 'a value that is not a stored reply at all is still refused')
})

t.test('the group protocol: the assigner name and a member metadata of the previous layout', async t => {
  t.equal(ASSIGNER_NAME, 'KafkaReplyRoundRobin', 'a renamed assigner would keep old and new replicas out of one group')
  const old = AssignerProtocol.MemberMetadata.encode({ version: 0, topics: ['quotes.replies'], userData: Buffer.from('api-1') })
  t.equal(memberInstanceId(old), 'api-1')
  const anonymous = AssignerProtocol.MemberMetadata.encode({ version: 0, topics: ['quotes.replies'], userData: Buffer.alloc(0) })
  t.equal(memberInstanceId(anonymous), undefined, 'a member that announced no instance (another assigner\'s) is none')
  t.equal(memberInstanceId(Buffer.from([0, 1])), undefined, 'metadata that cannot be read is none')
})

t.test('the header names of the previous version are unchanged', async t => {
  t.match(HEADERS, {
    correlationId: 'kafka_correlationId',
    replyTopic: 'kafka_replyTopic',
    replyPartition: 'kafka_replyPartition',
    deadline: 'kafka_deadline',
    replyError: 'kafka_replyError',
    nestError: 'kafka_nest-err'
  })
})

t.test('a rolling deploy with idempotency keys: an older replica reads ids without a key as before, and refuses a keyed one', async t => {
  // The previous layout's rule, as older replicas apply it to every reply they consume.
  const previous = /^([A-Za-z0-9_-]{1,64})\.([0-9a-z]{1,11})\.([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})$/
  t.match(newCorrelation('api-1', Date.now() + 5000).id, previous, 'a call without a key: an older replica hands its reply over as before')
  t.notMatch(newCorrelation('api-1', Date.now() + 5000, 'a'.repeat(22)).id, previous, 'a keyed call: an older replica drops its reply as malformed (see docs/idempotency.md)')
})
