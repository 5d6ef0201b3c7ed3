import type { GroupAssignment, GroupPartitionsAssigner, GroupPartitionsAssignments, GroupProtocolSubscription } from '@platformatic/kafka'
import { ASSIGNER_NAME, instanceOfUserData, instanceUserData, roundRobin } from '../assignment.js'

/**
 * The group protocol of members without an instance id: kafkajs's default assigner's name, so
 * that kafkajs and @platformatic/kafka members of one group (a worker's, during a migration) agree
 * on a protocol. The library's own default, `roundrobin`, would make the broker refuse whichever
 * library joins second (INCONSISTENT_GROUP_PROTOCOL), and a kafkajs member never recovers.
 */
export const KAFKAJS_DEFAULT_PROTOCOL = 'RoundRobinAssigner'

/**
 * The subscription this member announces. Version 0 of the consumer protocol's member metadata
 * (version int16, topics, user data bytes) is the layout kafkajs writes and reads.
 */
export function groupProtocols (instanceId: string | undefined): GroupProtocolSubscription[] {
  if (instanceId === undefined) return [{ name: KAFKAJS_DEFAULT_PROTOCOL, version: 0 }]
  return [{ name: ASSIGNER_NAME, version: 0, metadata: instanceUserData(instanceId) }]
}

/**
 * The group leader's assignment: the project's round-robin over the members sorted by member id,
 * as kafkajs's members compute it when one of them leads. The library hands over every member's
 * subscription; a member alone in its group never gets here (the library assigns it everything).
 */
export const replyAssigner: GroupPartitionsAssigner = (_current, members, _topics, metadata) => {
  // The union of the members' subscriptions, as kafkajs assigns; sorted, so any leader picks the same order.
  const subscribed = new Set<string>()
  for (const member of members.values()) for (const topic of member.topics ?? []) subscribed.add(topic)
  const topics = [...subscribed].sort().flatMap(topic => {
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0
    return count > 0 ? [{ topic, partitions: Array.from({ length: count }, (_, partition) => partition) }] : []
  })
  const assignment = roundRobin([...members.keys()], topics)
  const result: GroupPartitionsAssignments[] = []
  for (const [memberId, ofMember] of assignment) {
    const assignments = new Map<string, GroupAssignment>()
    for (const [topic, partitions] of Object.entries(ofMember)) assignments.set(topic, { topic, partitions })
    result.push({ memberId, assignments })
  }
  return result
}

/** The instance id a member announced in its subscription's user data, if any. */
export function memberInstanceId (userData: Buffer | string | undefined | null): string | undefined {
  return instanceOfUserData(typeof userData === 'string' ? Buffer.from(userData) : userData)
}
