// The producer that coalesces concurrent sends, against the real broker: one caller's record that
// the broker refuses fails alone, whatever topics shared its send, and a burst is cut to maxBatchBytes.
import t, { type Test } from 'tap'
import { Kafka, logLevel, type Producer } from 'kafkajs'
import { BatchingProducer } from '../plugin/kafka/kafkajs/batching-producer.js'
import { isTooLarge } from '../plugin/kafka/kafkajs/produce-errors.js'
import { readTopic } from './helpers/raw-kafka.js'
import { createTopic, kafkaBrokers, uniqueName } from './helpers/stack.js'
import { waitFor } from './helpers/wait.js'

const kafka = new Kafka({ brokers: kafkaBrokers, clientId: 'batching-test', logLevel: logLevel.NOTHING })

/** A connected producer whose sendBatch calls are counted; disconnected at the end of the test. */
async function countedProducer (t: Test, options?: ConstructorParameters<typeof BatchingProducer>[3]) {
  const producer: Producer = kafka.producer()
  const sendBatch = producer.sendBatch.bind(producer)
  const counter = { sends: 0 }
  producer.sendBatch = async batch => { counter.sends++; return await sendBatch(batch) }
  // The plain constructor: one producer for probes and coalesced sends.
  const batching = new BatchingProducer(producer, undefined, undefined, options)
  await batching.connect()
  t.teardown(() => batching.disconnect())
  return { batching, counter }
}

t.test('a record the broker refuses as too large fails alone, though another topic\'s record shared its send', async t => {
  const small = uniqueName('small-records')
  const other = uniqueName('other')
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: small, configEntries: [{ name: 'max.message.bytes', value: '1000' }] }] })
  await admin.disconnect()
  await createTopic(other)
  const { batching, counter } = await countedProducer(t)
  await waitFor('the topic with a small limit to take a record', () => batching.send(small, { value: 'first' }).then(() => true, () => false))
  await batching.send(other, { value: 'first' })

  const sendsBefore = counter.sends
  const big = batching.send(small, { value: 'x'.repeat(5000) })
  const beside = batching.send(other, { value: 'beside' })
  let settled = 0
  for (const send of [big, beside]) send.then(() => settled++, () => settled++)
  const settledAtIdle = batching.idle().then(() => settled)
  const refused = await big.then(() => undefined, (err: unknown) => err)
  t.ok(isTooLarge(refused), 'the broker\'s MESSAGE_TOO_LARGE reaches its sender')
  await beside
  t.equal(await settledAtIdle, 2, 'idle() waited for both sends to settle')
  t.equal(counter.sends - sendsBefore, 3, 'one coalesced send, then one per topic')
  const records = await readTopic(t, other)
  await waitFor('the record sent beside the refused one', () => records.some(r => r.message.value?.toString() === 'beside'))
  // At least once: the broker wrote the other topic's partition in the shared send it failed.
  t.same([...new Set(records.map(r => r.message.value?.toString()))], ['first', 'beside'])
})

t.test('a burst goes out in sends of at most maxBatchBytes, each record once', async t => {
  const topic = uniqueName('burst')
  await createTopic(topic)
  const { batching, counter } = await countedProducer(t, { maxBatchBytes: 100 })
  await batching.send(topic, { value: 'known' })
  const sendsBefore = counter.sends
  await Promise.all(Array.from({ length: 5 }, (_, i) => batching.send(topic, { value: `${i}`.padEnd(40, '.') })))
  t.equal(counter.sends - sendsBefore, 3, 'five records of 40 bytes: 2, 2 and 1')
  const records = await readTopic(t, topic)
  await waitFor('every record', () => records.length === 6)
  t.same(records.slice(1).map(r => r.message.value?.toString()[0]), ['0', '1', '2', '3', '4'], 'in the order they were sent')
})
