// createResponder refuses options it cannot run with, naming each, before connecting anything; what
// its replyTopics allow and what of a handler's error reaches the caller.
import t from 'tap'
import { createResponder, type Handler, type ResponderOptions } from '../../plugin/responder/index.js'
import { ReplyError, toRemoteError } from '../../plugin/responder/error-replies.js'
import { replyTopicFilter } from '../../plugin/responder/options.js'

const kafka = { brokers: ['127.0.0.1:1'] } // nothing listens there: a refusal must not need Kafka
const handlers: Record<string, Handler> = { requests: () => null }
const base: ResponderOptions = { kafka, groupId: 'g', handlers }

t.test('each invalid option fails with FST_KAFKA_REPLY_INVALID_OPTION naming its path', async t => {
  const invalid: Array<[string, unknown, RegExp]> = [
    ['handlers', {}, /Invalid option handlers: must name at least one topic/],
    ['handlers', [], /Invalid option handlers: expected an object/],
    ['handlers', { requests: 'not a function' }, /Invalid option handlers\.requests: expected a function/],
    ['groupId', '', /Invalid option groupId/],
    ['concurrency', 0, /Invalid option concurrency/],
    ['concurrency', 1.5, /Invalid option concurrency/],
    ['maxReplyBytes', 2.5, /Invalid option maxReplyBytes/],
    ['maxRequestAge', -1, /Invalid option maxRequestAge/],
    ['readyTimeout', 0, /Invalid option readyTimeout/],
    ['fromBeginning', 'yes', /Invalid option fromBeginning/],
    ['logger', { info () {} }, /Invalid option logger: expected a logger with a debug\(\) method/],
    ['consumer', { sessionTimeout: 'long' }, /Invalid option consumer\.sessionTimeout/],
    ['kafka', { brokers: [] }, /Invalid option kafka\.brokers/],
    ['exposeErrors', 'yes', /Invalid option exposeErrors/],
    ['replyTopics', 'replies', /Invalid option replyTopics: expected an array/],
    ['replyTopics', ['replies', 7], /Invalid option replyTopics\.1: expected a topic name or a RegExp/],
    ['replyTopics', [''], /Invalid option replyTopics\.0/]
  ]
  for (const [name, value, message] of invalid) {
    await t.rejects(createResponder({ ...base, [name]: value } as ResponderOptions), { code: 'FST_KAFKA_REPLY_INVALID_OPTION', message }, `${name}: ${JSON.stringify(value)}`)
  }
})

t.test('an unknown option is refused, not ignored', async t => {
  await t.rejects(createResponder({ ...base, concurency: 4 } as unknown as ResponderOptions), { code: 'FST_KAFKA_REPLY_INVALID_OPTION', message: /concurency/ })
  await t.rejects(createResponder({ ...base, consumer: { sessionTimout: 1000 } } as unknown as ResponderOptions), { code: 'FST_KAFKA_REPLY_INVALID_OPTION', message: /consumer/ })
  await t.rejects(createResponder(null as unknown as ResponderOptions), { code: 'FST_KAFKA_REPLY_INVALID_OPTION', message: /options: expected an object/ })
})

t.test('replyTopics: names match exactly, a RegExp must match the whole name, none listed allows any', async t => {
  const allowed = replyTopicFilter(['orders-replies', /api-\d+-replies/g])
  t.ok(allowed('orders-replies'))
  t.ok(allowed('api-12-replies'))
  t.ok(allowed('api-12-replies'), 'a global RegExp keeps no state between topics')
  t.notOk(allowed('orders-replies-2'), 'a name is not a prefix')
  t.notOk(allowed('evil-api-1-replies'), 'a RegExp is anchored at both ends')
  t.notOk(allowed('api-1-replies.evil'))
  t.ok(replyTopicFilter(undefined)('anything'))
  t.notOk(replyTopicFilter([])('anything'), 'an empty list allows nothing')
})

t.test('a handler\'s error: deliberate ones pass, the rest are masked unless exposeErrors', async t => {
  t.same(toRemoteError(new ReplyError(409, 'taken', 'CONFLICT'), 'c1', false), { message: 'taken', code: 'CONFLICT', statusCode: 409 })
  t.same(toRemoteError(new ReplyError(503, 'try later', 'BUSY'), 'c1', false), { message: 'try later', code: 'BUSY' }, 'a ReplyError passes; only a 4xx status travels')
  t.same(toRemoteError(Object.assign(new Error('gone'), { statusCode: 410 }), 'c1', false), { message: 'gone', statusCode: 410 })
  t.same(toRemoteError(new Error('ECONNREFUSED 10.0.0.1:5432'), 'c1', false), { message: 'internal error (correlation id c1)', code: 'WORKER_ERROR' })
  t.same(toRemoteError(new Error('ECONNREFUSED 10.0.0.1:5432'), 'c1', true), { message: 'ECONNREFUSED 10.0.0.1:5432' })
})
