// The ground the plugin stands on: the test stack's Kafka and Redis behave as the plugin needs.
import { once } from 'node:events'
import t from 'tap'
import { Kafka, Partitioners, logLevel, type KafkaMessage } from 'kafkajs'
import { Redis } from 'ioredis'
import { createTopic, kafkaBrokers, redisDb, redisUrl, uniqueName, within } from './helpers/stack.js'

t.test('a record comes back to a consumer group with its headers intact', async t => {
  const topic = uniqueName('stack-test')
  await createTopic(topic, 2)
  const kafka = new Kafka({ clientId: uniqueName('stack-test'), brokers: kafkaBrokers, logLevel: logLevel.WARN })
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner })
  const consumer = kafka.consumer({ groupId: uniqueName('stack-test-group') })
  t.teardown(() => producer.disconnect())
  t.teardown(() => consumer.disconnect())
  await Promise.all([producer.connect(), consumer.connect()])
  await consumer.subscribe({ topic, fromBeginning: true })
  const received = new Promise<KafkaMessage>((resolve, reject) => {
    consumer.run({ eachMessage: async ({ message }) => resolve(message) }).catch(reject)
  })

  const headers = { kafka_correlationId: 'corr-1', kafka_replyTopic: `${topic}-reply`, 'x-deadline': '1700000000000' }
  await producer.send({ topic, messages: [{ key: 'k1', value: '{"hello":"world"}', headers }] })
  const message = await within(30_000, 'the record to be consumed', received)

  t.equal(message.key?.toString(), 'k1')
  t.equal(message.value?.toString(), '{"hello":"world"}')
  t.same(
    Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)])),
    headers
  )
})

t.test('a SET raises a keyspace notification', async t => {
  const client = new Redis(redisUrl)
  const subscriber = new Redis(redisUrl)
  t.teardown(() => client.quit())
  t.teardown(() => subscriber.quit())

  const [, flags] = await client.config('GET', 'notify-keyspace-events') as [string, string]
  t.match(flags, /K/, 'keyspace events are on')
  t.match(flags, /[$A]/, 'string commands raise events')

  const prefix = uniqueName('stack-test')
  await subscriber.psubscribe(`__keyspace@${redisDb}__:${prefix}:*`)
  const event = once(subscriber, 'pmessage')
  await client.set(`${prefix}:key`, 'value', 'PX', 10_000)
  const [, channel, message] = await within(5000, 'the keyspace event', event)

  t.equal(channel, `__keyspace@${redisDb}__:${prefix}:key`)
  t.equal(message, 'set')
})
