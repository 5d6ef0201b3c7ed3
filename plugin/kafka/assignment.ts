/** @internal The reply group's assignment and member metadata, the same whichever library a member runs on. */

/** Name of the group protocol; every member of a reply group uses it. */
export const ASSIGNER_NAME = 'KafkaReplyRoundRobin'

/** The partitions of one topic. */
export interface TopicPartitions {
  topic: string
  partitions: number[]
}

/**
 * Round-robin over the members sorted by member id, topic after topic, as kafkajs's own
 * round-robin does. Returns each member's partitions by topic; a member left without partitions
 * gets an empty record.
 */
export function roundRobin (memberIds: string[], topics: TopicPartitions[]): Map<string, Record<string, number[]>> {
  const sorted = [...memberIds].sort()
  const assignment = new Map<string, Record<string, number[]>>(sorted.map(id => [id, {}]))
  if (sorted.length === 0) return assignment
  let next = 0
  for (const { topic, partitions } of topics) {
    for (const partition of partitions) {
      const ofMember = assignment.get(sorted[next++ % sorted.length])!
      ;(ofMember[topic] ??= []).push(partition)
    }
  }
  return assignment
}

/** The user data a member announces in its group metadata: its instance id. */
export function instanceUserData (instanceId: string): Buffer {
  return Buffer.from(instanceId)
}

/** The instance id in a member's user data, if any. */
export function instanceOfUserData (userData: Buffer | undefined | null): string | undefined {
  return userData !== undefined && userData !== null && userData.length > 0 ? userData.toString() : undefined
}
