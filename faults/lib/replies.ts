import { randomBytes } from 'node:crypto'
import { Kafka, logLevel } from 'kafkajs'

/** How long reading a topic to its end may take: a fresh group joins in well under this. */
const READ_MS = 30_000

/**
 * The value of every record on `topic`, from its first offset to the end it has when called, each
 * parsed as JSON (null for an error reply, which carries no value, or one that is not JSON). Read
 * by a group of its own, apart from the replicas': what the worker wrote, whoever consumed it.
 */
export async function readTopic (brokers: string[], topic: string): Promise<unknown[]> {
  const kafka = new Kafka({ brokers, clientId: 'faults-reader', logLevel: logLevel.WARN })
  const admin = kafka.admin()
  await admin.connect()
  const ends = new Map<number, number>()
  try {
    for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
      if (Number(high) > Number(low)) ends.set(partition, Number(high))
    }
  } finally {
    await admin.disconnect()
  }
  const values: unknown[] = []
  if (ends.size === 0) return values
  const consumer = kafka.consumer({ groupId: `faults-reader-${randomBytes(4).toString('hex')}`, heartbeatInterval: 500 })
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${topic} not read to its end within ${READ_MS / 1000} s`)), READ_MS)
      consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            if (Number(message.offset) >= (ends.get(batch.partition) ?? 0)) continue
            values.push(parse(message.value))
          }
          const end = ends.get(batch.partition)
          if (end !== undefined && Number(batch.lastOffset()) + 1 >= end) ends.delete(batch.partition)
          if (ends.size === 0) {
            clearTimeout(timer)
            resolve()
          }
        }
      }).catch(reject)
    })
  } finally {
    await consumer.disconnect()
  }
  return values
}

function parse (value: Buffer | null): unknown {
  if (value === null) return null
  try {
    return JSON.parse(value.toString()) as unknown
  } catch {
    return null
  }
}
