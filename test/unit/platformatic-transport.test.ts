// The @platformatic/kafka transport's decisions that need no broker: how a library error is
// classified, what a failed send says per partition, the client options, and the assignment.
import t from 'tap'
import { ProduceError } from '../../plugin/kafka/transport.js'
import { ASSIGNER_NAME } from '../../plugin/kafka/assignment.js'
import { groupProtocols, KAFKAJS_DEFAULT_PROTOCOL, memberInstanceId, replyAssigner } from '../../plugin/kafka/platformatic/assigner.js'
import { clientOptions } from '../../plugin/kafka/platformatic/options.js'
import {
  brokerErrorName, isRetriable, isRetriableBrokerError, partitionKey, partitionOutcomes, produceErrorKind, toProduceError, unknownTopic
} from '../../plugin/kafka/platformatic/produce-errors.js'

const option = { library: '@platformatic/kafka' as const, brokers: ['b1:9092', 'b2:9092'] }

t.test('the broker\'s error name is found through retries and wrappers, the latest attempt first', async t => {
  t.equal(brokerErrorName({ apiId: 'MESSAGE_TOO_LARGE' }), 'MESSAGE_TOO_LARGE')
  t.equal(brokerErrorName({ errors: [{ apiId: 'NOT_LEADER_OR_FOLLOWER' }, { apiId: 'TOPIC_AUTHORIZATION_FAILED' }] }), 'TOPIC_AUTHORIZATION_FAILED')
  t.equal(brokerErrorName({ errors: [{ apiId: 'NOT_LEADER_OR_FOLLOWER' }, { message: 'socket hang up' }] }), 'NOT_LEADER_OR_FOLLOWER', 'an attempt without a name is skipped')
  t.equal(brokerErrorName({ cause: { cause: { apiId: 'INVALID_RECORD' } } }), 'INVALID_RECORD')
  t.equal(brokerErrorName({ code: 'PLT_KFK_USER', message: 'Unknown topic orders.' }), 'UNKNOWN_TOPIC_OR_PARTITION', 'the library\'s own word for a missing topic')
  t.equal(brokerErrorName(new Error('plain')), undefined)
  t.equal(brokerErrorName('text'), undefined)
})

t.test('four classes of produce errors', async t => {
  t.equal(produceErrorKind('MESSAGE_TOO_LARGE'), 'tooLarge')
  t.equal(produceErrorKind('RECORD_LIST_TOO_LARGE'), 'tooLarge')
  t.equal(produceErrorKind('UNKNOWN_TOPIC_OR_PARTITION'), 'topicMissing')
  t.equal(produceErrorKind('INVALID_TOPIC_EXCEPTION'), 'topicMissing')
  t.equal(produceErrorKind('TOPIC_AUTHORIZATION_FAILED'), 'notAuthorized')
  t.equal(produceErrorKind('NOT_LEADER_OR_FOLLOWER'), 'retriable')
  t.equal(produceErrorKind(undefined), 'retriable')
  const error = toProduceError({ apiId: 'MESSAGE_TOO_LARGE' })
  t.ok(error instanceof ProduceError)
  t.match(error, { kind: 'tooLarge', brokerCode: 'MESSAGE_TOO_LARGE' })
  t.equal(toProduceError(error), error, 'a ProduceError passes as it is')
  t.match(toProduceError(new Error('x'), 'TOPIC_AUTHORIZATION_FAILED'), { kind: 'notAuthorized' }, 'the caller may know the name better')
})

t.test('a failed send, per partition: written, or the broker\'s error', async t => {
  const failure = {
    errors: [{
      code: 'PLT_KFK_RESPONSE',
      response: { responses: [{ name: 'orders', partitionResponses: [{ index: 0, errorCode: 0 }, { index: 1, errorCode: 10 }, { index: 2, errorCode: 9999 }, { index: 'x' }] }, { name: 7 }] }
    }],
    produced: { offsets: [{ topic: 'quotes', partition: 3 }] }
  }
  const outcomes = partitionOutcomes(failure)
  t.equal(outcomes.get(partitionKey('orders', 0)), undefined)
  t.ok(outcomes.has(partitionKey('orders', 0)), 'partition 0 was written')
  t.equal(outcomes.get(partitionKey('orders', 1)), 'MESSAGE_TOO_LARGE')
  t.equal(outcomes.get(partitionKey('orders', 2)), 'ERROR_9999', 'an error code the library does not know keeps its number')
  t.ok(outcomes.has(partitionKey('quotes', 3)), 'what the library reports as produced counts as written')
  t.equal(partitionOutcomes(null).size, 0)
})

t.test('what may pass later, and a missing topic named by the library', async t => {
  t.equal(isRetriableBrokerError('NOT_LEADER_OR_FOLLOWER'), true)
  t.equal(isRetriableBrokerError('MESSAGE_TOO_LARGE'), false)
  t.equal(isRetriable({ errors: [{ canRetry: true }, { canRetry: true }] }), true)
  t.equal(isRetriable({ errors: [{ canRetry: true }, { canRetry: false }] }), false)
  t.equal(isRetriable({ canRetry: true, closed: true }), false, 'a closed client does not come back')
  t.equal(isRetriable({ code: 'PLT_KFK_RESPONSE' }), false, 'a broker response is not retried as a whole')
  t.equal(isRetriable(undefined), false)
  t.equal(unknownTopic({ errors: [{ code: 'PLT_KFK_USER', message: 'Unknown topic orders.v2.' }] }), 'orders.v2')
  t.equal(unknownTopic({ code: 'PLT_KFK_USER', message: 'something else' }), undefined)
})

t.test('the library\'s client options from the plugin\'s, a new object each time', async t => {
  const plain = clientOptions(option, 3)
  t.match(plain, { clientId: 'fastify-kafka-reply', bootstrapBrokers: ['b1:9092', 'b2:9092'], retries: 3 })
  t.not(plain.bootstrapBrokers, option.brokers, 'the library adds to what it is given: a copy')
  t.equal(plain.tls, undefined)
  t.equal(typeof plain.retryDelay, 'function')
  const full = clientOptions({
    ...option,
    clientId: 'api',
    ssl: { rejectUnauthorized: false },
    sasl: { mechanism: 'scram-sha-256', username: 'u', password: 'p' },
    connectionTimeout: 2000,
    requestTimeout: 9000,
    platformatic: { clientRack: 'r1', metadataMaxAge: 1000, maxInflights: 2, handleBackPressure: true, tlsServerName: true }
  }, 5)
  t.match(full, {
    clientId: 'api',
    tls: { rejectUnauthorized: false },
    sasl: { mechanism: 'SCRAM-SHA-256', username: 'u', password: 'p' },
    connectTimeout: 2000,
    requestTimeout: 9000,
    clientRack: 'r1',
    metadataMaxAge: 1000,
    maxInflights: 2,
    handleBackPressure: true,
    tlsServerName: true
  })
  t.same(clientOptions({ ...option, ssl: true }, 1).tls, {}, 'ssl: true is TLS with Node\'s defaults')
})

t.test('the group protocol and the assignment: the same as a kafkajs member\'s', async t => {
  t.same(groupProtocols(undefined), [{ name: KAFKAJS_DEFAULT_PROTOCOL, version: 0 }], 'a worker\'s member speaks kafkajs\'s default protocol')
  const [protocol] = groupProtocols('api-1')
  t.equal(protocol.name, ASSIGNER_NAME)
  t.equal(memberInstanceId(protocol.metadata as Buffer), 'api-1')
  t.equal(memberInstanceId('api-2'), 'api-2')
  t.equal(memberInstanceId(undefined), undefined)
  const members = new Map([['m-b', { topics: ['replies'] }], ['m-a', { topics: ['replies', 'other'] }]])
  const metadata = { topics: new Map([['replies', { partitionsCount: 3 }], ['other', { partitionsCount: 0 }]]) }
  const assigned = replyAssigner(undefined as never, members as never, undefined as never, metadata as never)
  t.same(assigned.map(({ memberId, assignments }) => [memberId, [...assignments.values()]]), [
    ['m-a', [{ topic: 'replies', partitions: [0, 2] }]],
    ['m-b', [{ topic: 'replies', partitions: [1] }]]
  ], 'round-robin over the sorted members; a topic without partitions is left out')
})
