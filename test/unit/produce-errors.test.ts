// How a failed send is classified: whose fault it was decides whether the plugin's batching
// producer sends the batch again apart, and which error (413, 503) a caller gets.
import t from 'tap'
import kafkajs from 'kafkajs'
import { brokerErrorType, failureScope, isTooLarge, isTopicUnwritable, recordSize } from '../../plugin/kafka/kafkajs/produce-errors.js'

// kafkajs's error classes are not named exports of its CommonJS module for an ES module.
const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } = kafkajs

/** A broker error as kafkajs makes it from an error code of a produce response. */
const brokerError = (type: string) => new KafkaJSProtocolError(Object.assign(new Error(`broker says ${type}`), { type }))
/** As a send() rejects after its retries: the broker's error is the cause. */
const afterRetries = (type: string) => new KafkaJSNumberOfRetriesExceeded(brokerError(type), { retryCount: 3, retryTime: 100 })

t.test('the broker error type is found through kafkajs wrappers, not too deep', async t => {
  t.equal(brokerErrorType(brokerError('MESSAGE_TOO_LARGE')), 'MESSAGE_TOO_LARGE')
  t.equal(brokerErrorType(afterRetries('TOPIC_AUTHORIZATION_FAILED')), 'TOPIC_AUTHORIZATION_FAILED')
  t.equal(brokerErrorType(new Error('gave up', { cause: afterRetries('INVALID_RECORD') })), 'INVALID_RECORD', 'two wrappers deep')
  t.equal(brokerErrorType(new KafkaJSConnectionError('Connection error: ECONNREFUSED')), undefined, 'no broker error at all')
  t.equal(brokerErrorType(undefined), undefined)
  t.equal(brokerErrorType(null), undefined)
  t.equal(brokerErrorType({ type: 5 }), undefined, 'a type that is not text is no broker error type')
  let deep: unknown = brokerError('MESSAGE_TOO_LARGE')
  for (let i = 0; i < 5; i++) deep = new Error('wrapped', { cause: deep })
  t.equal(brokerErrorType(deep), undefined, 'a cycle or a long chain of causes is not followed for ever')
  const cycle: { cause?: unknown } = {}
  cycle.cause = cycle
  t.equal(brokerErrorType(cycle), undefined)
})

t.test('failureScope: a topic\'s errors, a record\'s errors, and everything else shared', async t => {
  for (const type of ['UNKNOWN_TOPIC_OR_PARTITION', 'TOPIC_AUTHORIZATION_FAILED', 'INVALID_TOPIC_EXCEPTION']) {
    t.equal(failureScope(afterRetries(type)), 'topic', type)
    t.ok(isTopicUnwritable(afterRetries(type)), type)
    t.notOk(isTooLarge(afterRetries(type)), type)
  }
  for (const type of ['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TIMESTAMP']) {
    t.equal(failureScope(afterRetries(type)), 'record', type)
    t.notOk(isTopicUnwritable(afterRetries(type)), type)
  }
  t.ok(isTooLarge(afterRetries('MESSAGE_TOO_LARGE')))
  t.ok(isTooLarge(afterRetries('RECORD_LIST_TOO_LARGE')))
  t.notOk(isTooLarge(afterRetries('INVALID_RECORD')), 'an invalid record is not a 413')
  t.equal(failureScope(afterRetries('NOT_LEADER_FOR_PARTITION')), 'shared', 'a broker error of no record in particular')
  t.equal(failureScope(new KafkaJSConnectionError('Connection error: ECONNREFUSED')), 'shared', 'Kafka unreachable')
  t.notOk(isTooLarge(new Error('plain')))
  t.notOk(isTopicUnwritable(new Error('plain')))
})

t.test('a record\'s size counts its value, key and headers, repeated headers included', async t => {
  t.equal(recordSize({ value: null }), 0)
  t.equal(recordSize({ value: 'héllo' }), 6, 'UTF-8 bytes, not characters')
  t.equal(recordSize({ key: Buffer.alloc(3), value: Buffer.alloc(10) }), 13)
  t.equal(recordSize({ value: 'x', headers: { ab: 'cd', e: Buffer.alloc(4), multi: ['1', Buffer.alloc(2)], gone: undefined } }),
    1 + 2 + 2 + 1 + 4 + 5 + 1 + 2 + 4, 'names and values; an undefined value adds its name only')
})
