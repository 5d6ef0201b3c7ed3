// createResponder refuses options it cannot run with, naming each, before connecting anything.
import t from 'tap'
import { createResponder, type Handler, type ResponderOptions } from '../../plugin/responder/index.js'

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
    ['kafka', { brokers: [] }, /Invalid option kafka\.brokers/]
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
