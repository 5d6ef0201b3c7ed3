import t from 'tap'
import Fastify from 'fastify'
import { Kafka, type KafkaConfig } from 'kafkajs'
import { Redis } from 'ioredis'
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
  t.equal(options.idempotencyTtl, 86_400_000, 'an idempotent call\'s outcome is kept a day')
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
    [{ timeout: 10_000, maxTimeout: 5000 }, /Invalid option timeout: must not exceed maxTimeout/],
    [{ idempotencyTtl: 999 }, /Invalid option idempotencyTtl/],
    [{ idempotencyTtl: '1d' }, /Invalid option idempotencyTtl/]
  ]
  for (const [change, message] of cases) {
    t.throws(() => resolveOptions({ ...base, ...change }), { code: 'FST_KAFKA_REPLY_INVALID_OPTION', message }, JSON.stringify(change))
  }
  t.throws(() => resolveOptions({ ...base, groupId: undefined }), { message: /Invalid option groupId/ })
})

t.test('options that are not an object are refused as a whole', async t => {
  for (const options of [undefined, null, 'redis://127.0.0.1:6379', 5]) {
    t.throws(() => resolveOptions(options), { code: 'FST_KAFKA_REPLY_INVALID_OPTION', message: 'Invalid option options: expected an object' }, String(options))
  }
  t.throws(() => resolveOptions([base]), { code: 'FST_KAFKA_REPLY_INVALID_OPTION', message: /^Invalid option options: / }, 'an array')
})

t.test('kafka: a config with brokers, or { client } with a kafkajs instance', async t => {
  const refused: Array<[unknown, RegExp]> = [
    [null, /Invalid option kafka: expected a kafkajs config/],
    ['127.0.0.1:9092', /Invalid option kafka: expected a kafkajs config/],
    [{ client: null }, /Invalid option kafka.client: expected a kafkajs Kafka instance/],
    [{ client: { producer () {}, consumer () {} } }, /Invalid option kafka.client/],
    [{ client: { producer () {}, admin () {} } }, /Invalid option kafka.client/],
    [{}, /Invalid option kafka.brokers/],
    [{ brokers: '127.0.0.1:9092' }, /Invalid option kafka.brokers/],
    [{ brokers: ['127.0.0.1:9092', ''] }, /Invalid option kafka.brokers/],
    [{ brokers: ['127.0.0.1:9092'], clientId: '' }, /Invalid option kafka.clientId: expected a non-empty string/],
    [{ brokers: ['127.0.0.1:9092'], clientId: 7 }, /Invalid option kafka.clientId/]
  ]
  for (const [kafka, message] of refused) {
    t.throws(() => resolveOptions({ ...base, kafka }), { code: 'FST_KAFKA_REPLY_INVALID_OPTION', message }, JSON.stringify(kafka))
  }
  const client = new Kafka({ brokers: ['127.0.0.1:9092'] })
  t.equal((resolveOptions({ ...base, kafka: { client } }).kafka as { client: Kafka }).client, client, 'a Kafka instance, taken as it is')
  const brokers = async () => ['127.0.0.1:9092']
  t.equal((resolveOptions({ ...base, kafka: { brokers } }).kafka as KafkaConfig).brokers, brokers, 'brokers may be a function, as kafkajs allows')
  t.equal((resolveOptions({ ...base, kafka: { brokers: ['b:9092'], clientId: 'api' } }).kafka as KafkaConfig).clientId, 'api')
})

t.test('redis: a URL, a client, or { cluster } with redis:// URLs', async t => {
  const refused: Array<[unknown, RegExp]> = [
    [null, /Invalid option redis: expected a redis:\/\/ URL, { url, options }, an ioredis client or Cluster/],
    [{ duplicate () {} }, /Invalid option redis: expected a redis:\/\/ URL/],
    [{ cluster: [] }, /Invalid option redis.cluster: expected a non-empty array of redis:\/\/ or rediss:\/\/ URLs/],
    [{ cluster: ['127.0.0.1:7001'] }, /Invalid option redis.cluster/],
    [{ cluster: ['redis://127.0.0.1:7001', 'http://127.0.0.1:7002'] }, /Invalid option redis.cluster/],
    [{ cluster: ['redis://[bad'] }, /Invalid option redis.cluster/],
    [{ cluster: [7001] }, /Invalid option redis.cluster/],
    [{ cluster: ['redis://127.0.0.1:7001'], options: 'fast' }, /Invalid option redis.options: expected ioredis Cluster options/],
    [{ cluster: ['redis://127.0.0.1:7001'], options: null }, /Invalid option redis.options/],
    [{ url: 'http://127.0.0.1:6379' }, /Invalid option redis.url: expected a redis:\/\/ or rediss:\/\/ URL/],
    [{ url: 'rediss://127.0.0.1:6379', options: 'tls' }, /Invalid option redis.options: expected ioredis options/],
    [{ url: 'redis://127.0.0.1:6379', options: { keyPrefix: 'app:' } }, /Invalid option redis.options.keyPrefix: the Redis client has an ioredis keyPrefix \("app:"\).*set the plugin's keyPrefix option instead/],
    [{ cluster: ['redis://127.0.0.1:7001'], options: { keyPrefix: 'app:' } }, /Invalid option redis.options.keyPrefix/],
    [new Redis({ lazyConnect: true, keyPrefix: 'app:' }), /Invalid option redis: the Redis client has an ioredis keyPrefix/]
  ]
  for (const [redis, message] of refused) {
    t.throws(() => resolveOptions({ ...base, redis }), { code: 'FST_KAFKA_REPLY_INVALID_OPTION', message }, JSON.stringify(redis))
  }
  t.doesNotThrow(() => resolveOptions({ ...base, redis: 'rediss://user:secret@cache.example:6380/2' }), 'TLS and a database')
  t.doesNotThrow(() => resolveOptions({ ...base, redis: { cluster: ['redis://127.0.0.1:7001', 'rediss://[::1]:7002'], options: { scaleReads: 'master' } } }))
  t.doesNotThrow(() => resolveOptions({ ...base, redis: { url: 'rediss://cache.example:6380', options: { tls: { ca: 'PEM' } } } }), 'a URL with TLS options')
})

t.test('consumer settings keep the plugin\'s defaults for what they leave out', async t => {
  t.same(resolveOptions(base).consumer, { maxWaitTimeInMs: 500 })
  t.same(resolveOptions({ ...base, consumer: { sessionTimeout: 20_000, maxWaitTimeInMs: undefined } }).consumer, { maxWaitTimeInMs: 500, sessionTimeout: 20_000 },
    'an undefined value is left out, not a default replaced by undefined')
  t.equal(resolveOptions({ ...base, timeout: undefined }).timeout, 5000)
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
