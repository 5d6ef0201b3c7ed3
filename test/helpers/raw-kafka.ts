// Plain kafkajs clients that write and read records the way another framework would, for tests of
// the wire protocol.
import { Kafka, logLevel, type IHeaders, type KafkaMessage, type Producer } from 'kafkajs'
import type { Test } from 'tap'
import { kafkaBrokers, uniqueName } from './stack.js'

/** A record read from a topic, with the partition it was on. */
export interface ReadRecord {
  partition: number
  message: KafkaMessage
}

function kafka (clientId: string): Kafka {
  return new Kafka({ brokers: kafkaBrokers, clientId, logLevel: logLevel.NOTHING })
}

/** A connected producer; disconnected at the end of the test. */
export async function rawProducer (t: Test): Promise<Producer> {
  const producer = kafka('raw-producer').producer()
  await producer.connect()
  t.teardown(() => producer.disconnect())
  return producer
}

/**
 * Reads `topic` from the beginning in a group of its own, calling onRecord for every record (its
 * result, when a promise, is awaited before the next). Resolves once the consumer has joined.
 */
export async function readTopic (t: Test, topic: string, onRecord: (record: ReadRecord) => unknown = () => {}): Promise<ReadRecord[]> {
  const consumer = kafka('raw-reader').consumer({ groupId: uniqueName('raw'), heartbeatInterval: 500, maxWaitTimeInMs: 100 })
  const records: ReadRecord[] = []
  await consumer.connect()
  t.teardown(() => consumer.disconnect())
  await consumer.subscribe({ topic, fromBeginning: true })
  const joined = new Promise<void>(resolve => consumer.on(consumer.events.GROUP_JOIN, () => resolve()))
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const record = { partition, message }
      records.push(record)
      await onRecord(record)
    }
  })
  await joined
  return records
}

/**
 * A replier that imitates another framework: for every request it reads, `reply` returns the reply
 * record (or undefined for none), which goes to the request's `kafka_replyTopic`.
 */
export async function rawReplier (t: Test, requestTopic: string, reply: (request: KafkaMessage) => { value: string | null, headers?: IHeaders, partition?: number } | undefined): Promise<ReadRecord[]> {
  const producer = await rawProducer(t)
  return await readTopic(t, requestTopic, async ({ message }) => {
    const answer = reply(message)
    if (answer === undefined) return
    const replyTopic = message.headers!.kafka_replyTopic!.toString()
    await producer.send({ topic: replyTopic, messages: [{ ...answer, headers: { kafka_correlationId: message.headers!.kafka_correlationId as Buffer, ...answer.headers } }] })
  })
}
