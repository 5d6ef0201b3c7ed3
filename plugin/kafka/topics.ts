import type { Kafka } from 'kafkajs'
import { errors } from '../errors.js'

/**
 * Makes sure the reply topic exists: created with `partitions` partitions (and `replicationFactor`
 * replicas; -1 is the broker's default) when `create` is set, otherwise a missing topic is an error
 * at startup rather than a silent auto-creation.
 */
export async function ensureTopic (kafka: Kafka, topic: string, create: boolean, partitions: number, replicationFactor: number): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const topics = await admin.listTopics()
    if (topics.includes(topic)) return
    if (!create) throw new errors.TOPIC_MISSING(topic)
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor }], waitForLeaders: true })
  } finally {
    await admin.disconnect()
  }
}
