import { AssignerProtocol, type Assigner, type PartitionAssigner } from 'kafkajs'

/** Name of the group protocol; every member of a reply group uses this assigner. */
export const ASSIGNER_NAME = 'KafkaReplyRoundRobin'

/**
 * Round-robin over the members, like kafkajs's own, but each member's metadata carries its
 * instance id, so every member can tell which instances are alive in the group.
 */
export function replyAssigner (instanceId: string): PartitionAssigner {
  return ({ cluster }) => {
    const assigner: Assigner = {
      name: ASSIGNER_NAME,
      version: 0,
      async assign ({ members, topics }) {
        const memberIds = members.map(member => member.memberId).sort()
        const assignment = new Map<string, Record<string, number[]>>()
        let next = 0
        for (const topic of topics) {
          for (const { partitionId } of cluster.findTopicPartitionMetadata(topic)) {
            const memberId = memberIds[next++ % memberIds.length]
            const topicsOfMember = assignment.get(memberId) ?? {}
            ;(topicsOfMember[topic] ??= []).push(partitionId)
            assignment.set(memberId, topicsOfMember)
          }
        }
        return memberIds.map(memberId => ({
          memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: 0,
            assignment: assignment.get(memberId) ?? {},
            userData: Buffer.alloc(0)
          })
        }))
      },
      protocol ({ topics }) {
        return {
          name: ASSIGNER_NAME,
          metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.from(instanceId) })
        }
      }
    }
    return assigner
  }
}

/** The instance id a member announced in its metadata, if any. */
export function memberInstanceId (memberMetadata: Buffer): string | undefined {
  try {
    const userData = AssignerProtocol.MemberMetadata.decode(memberMetadata)?.userData
    return userData !== undefined && userData.length > 0 ? userData.toString() : undefined
  } catch {
    return undefined
  }
}
