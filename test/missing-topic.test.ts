// Calls to a topic that does not exist, on the stack's second broker (auto.create.topics.enable=false).
import t from 'tap'
import { Kafka, Partitioners, logLevel } from 'kafkajs'
import { newCorrelation } from '../plugin/correlation.js'
import { HEADERS } from '../plugin/protocol.js'
import { freshTopics, startInstance, startWorker } from './helpers/kafka-reply.js'
import { kafkaBrokers, kafkaConfig, noAutoCreateBrokers, uniqueName } from './helpers/stack.js'
import { waitFor } from './helpers/wait.js'

// The first test to run may start that broker (a JVM on two shared cores).
t.setTimeout(240_000)

const echo = (payload: unknown) => payload

t.test('a call to a missing topic fails alone, before its deadline, with an error naming the topic', async t => {
  const brokers = await noAutoCreateBrokers()
  const kafka = { brokers, clientId: 'test-app' }
  const names = await freshTopics(1, 2, brokers)
  const app = await startInstance(t, names, { kafka })
  await startWorker(t, names, echo, { kafka: kafkaConfig('test-worker', brokers) })
  const missing = uniqueName('missing')

  // Alone, as the topic's first record.
  const alone = app.kafkaReply.request(missing, { n: -1 }, { timeout: 30_000 })
  await t.rejects(alone, {
    code: 'FST_KAFKA_REPLY_TOPIC_UNAVAILABLE',
    statusCode: 503,
    message: `Kafka topic "${missing}" cannot be written: UNKNOWN_TOPIC_OR_PARTITION`
  })

  // Among good calls made in the same turn, once the good topic is known and its calls coalesce.
  t.same(await app.kafkaReply.request(names.requestTopic, { n: 1000 }, { timeout: 30_000 }), { n: 1000 })
  const good = Array.from({ length: 30 }, (_, n) => app.kafkaReply.request(names.requestTopic, { n }, { timeout: 30_000 }))
  const bad = [missing, uniqueName('missing')].map(topic => app.kafkaReply.request(topic, { n: -1 }, { timeout: 30_000 }))
  const outcomes = await Promise.allSettled([...bad, ...good])
  for (const [i, outcome] of outcomes.slice(0, 2).entries()) {
    t.match(outcome, { status: 'rejected', reason: { code: 'FST_KAFKA_REPLY_TOPIC_UNAVAILABLE', message: new RegExp(`"${i === 0 ? missing : 'missing-[0-9a-f]+'}"`) } })
  }
  t.same(outcomes.slice(2).map(o => o.status === 'fulfilled' ? o.value : o.reason), Array.from({ length: 30 }, (_, n) => ({ n })), 'every other call answered')
})

t.test('a request naming a reply topic that does not exist: the responder fails that reply alone', async t => {
  const brokers = await noAutoCreateBrokers()
  const names = await freshTopics(1, 1, brokers)
  const app = await startInstance(t, names, { kafka: kafkaConfig('test-app', brokers) })
  const worker = await startWorker(t, names, echo, { kafka: kafkaConfig('test-worker', brokers) })
  t.same(await app.kafkaReply.request(names.requestTopic, { n: 1000 }, { timeout: 30_000 }), { n: 1000 })

  // A request asking for its reply on a topic that does not exist, beside ordinary calls.
  const producer = new Kafka({ brokers, clientId: 'test-forger', logLevel: logLevel.NOTHING }).producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  t.teardown(() => producer.disconnect())
  const correlation = newCorrelation('forger', Date.now() + 30_000)
  const good = Array.from({ length: 20 }, (_, n) => app.kafkaReply.request(names.requestTopic, { n }, { timeout: 30_000 }))
  await producer.send({
    topic: names.requestTopic,
    messages: [{ value: '{"n":-1}', headers: { [HEADERS.correlationId]: correlation.id, [HEADERS.replyTopic]: uniqueName('missing-replies'), [HEADERS.deadline]: String(correlation.deadline) } }]
  })
  t.same(await Promise.all(good), Array.from({ length: 20 }, (_, n) => ({ n })), 'every other call answered')
  await waitFor('the reply to the missing topic to fail and the others to be counted', () => worker.stats().unsent === 1 && worker.stats().replied >= 21).catch(() => {})
  t.match(worker.stats(), { replied: 21, unsent: 1 })
})

t.test('on a broker that creates topics, neither the plugin nor the responder asks it to unless createTopics says so', async t => {
  const names = await freshTopics(1)
  const app = await startInstance(t, names)
  const worker = await startWorker(t, names, echo)
  const admin = new Kafka({ brokers: kafkaBrokers, clientId: 'test-topics', logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  t.teardown(() => admin.disconnect())

  const missing = uniqueName('missing')
  await t.rejects(app.kafkaReply.request(missing, { n: -1 }, { timeout: 30_000 }), { code: 'FST_KAFKA_REPLY_TOPIC_UNAVAILABLE', statusCode: 503 })

  const producer = new Kafka({ brokers: kafkaBrokers, clientId: 'test-forger', logLevel: logLevel.NOTHING }).producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
  await producer.connect()
  t.teardown(() => producer.disconnect())
  const elsewhere = uniqueName('missing-replies')
  const correlation = newCorrelation('forger', Date.now() + 30_000)
  await producer.send({
    topic: names.requestTopic,
    messages: [{ value: '{"n":-1}', headers: { [HEADERS.correlationId]: correlation.id, [HEADERS.replyTopic]: elsewhere, [HEADERS.deadline]: String(correlation.deadline) } }]
  })
  await waitFor('the reply to the missing topic to fail', () => worker.stats().unsent === 1)
  const topics = await admin.listTopics()
  t.notOk(topics.includes(missing), 'the request topic was not created')
  t.notOk(topics.includes(elsewhere), 'the reply topic a request named was not created')

  const creating = await startInstance(t, await freshTopics(1), { createTopics: true })
  const created = uniqueName('created')
  await t.rejects(creating.kafkaReply.request(created, { n: -1 }, { timeout: 1000 }), { code: 'FST_KAFKA_REPLY_TIMEOUT' }, 'with createTopics: true the broker creates it (and nobody answers)')
  t.ok((await admin.listTopics()).includes(created))
})
