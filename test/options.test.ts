import t from 'tap'
import Fastify from 'fastify'
import kafkaReply, { errors } from '../plugin/index.js'
import { resolveOptions } from '../plugin/options.js'
import { freshTopics, instanceOptions } from './helpers/kafka-reply.js'

const base = {
  kafka: { brokers: ['127.0.0.1:9092'] },
  redis: 'redis://127.0.0.1:6379',
  replyTopic: 'replies',
  groupId: 'group'
}

t.test('defaults are filled in', async t => {
  const options = resolveOptions(base)
  t.equal(options.timeout, 5000)
  t.equal(options.maxPending, 10_000)
  t.equal(options.keyPrefix, 'kafka-reply')
  t.match(options.instanceId, /^[A-Za-z0-9_-]+$/)
})

t.test('an invalid option is an error that names it', async t => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ timeout: 0 }, /Invalid option timeout/],
    [{ timeout: 'soon' }, /Invalid option timeout/],
    [{ maxPending: 1.5 }, /Invalid option maxPending/],
    [{ keyPrefix: 'a*b' }, /Invalid option keyPrefix/],
    [{ instanceId: 'has.dot' }, /Invalid option instanceId/],
    [{ replyTopic: '' }, /Invalid option replyTopic/],
    [{ timeot: 5 }, /Invalid option timeot/],
    [{ consumer: { sessionTimeot: 5 } }, /Invalid option consumer.sessionTimeot/],
    [{ kafka: { brokers: [] } }, /Invalid option kafka.brokers/],
    [{ kafka: { client: {} } }, /Invalid option kafka.client/],
    [{ redis: 'http://localhost' }, /Invalid option redis/],
    [{ redis: { host: 'x' } }, /Invalid option redis/],
    [{ timeout: 10_000, maxTimeout: 5000 }, /Invalid option timeout: must not exceed maxTimeout/]
  ]
  for (const [change, message] of cases) {
    t.throws(() => resolveOptions({ ...base, ...change }), { code: 'FST_KAFKA_REPLY_INVALID_OPTION', message }, JSON.stringify(change))
  }
  t.throws(() => resolveOptions({ ...base, groupId: undefined }), { message: /Invalid option groupId/ })
})

t.test('registration with an invalid option fails before connecting anything', async t => {
  const app = Fastify()
  app.register(kafkaReply, { ...base, timeout: -1 })
  await t.rejects(async () => { await app.ready() }, { code: 'FST_KAFKA_REPLY_INVALID_OPTION' })
})

t.test('registering twice is an error', async t => {
  const names = await freshTopics()
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(kafkaReply, instanceOptions(names))
  app.register(kafkaReply, instanceOptions(names))
  await t.rejects(async () => { await app.ready() }, new errors.ALREADY_REGISTERED())
})

t.test('a missing reply topic is an error unless createTopics is set', async t => {
  const names = await freshTopics()
  const missing = { ...names, replyTopic: `${names.replyTopic}-missing` }

  const refused = Fastify()
  t.teardown(() => refused.close())
  refused.register(kafkaReply, instanceOptions(missing))
  await t.rejects(async () => { await refused.ready() }, { code: 'FST_KAFKA_REPLY_TOPIC_MISSING', message: new RegExp(missing.replyTopic) })

  const created = Fastify()
  t.teardown(() => created.close())
  created.register(kafkaReply, instanceOptions(missing, { createTopics: true, replyTopicPartitions: 2 }))
  await created.ready()
  t.equal(created.kafkaReply.health().ready, true)
})
