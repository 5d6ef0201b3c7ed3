import { AssignerProtocol, type Assigner, type PartitionAssigner } from 'kafkajs'
import { ASSIGNER_NAME, instanceOfUserData, instanceUserData, roundRobin } from '../assignment.js'

/**
 * The reply group's assigner on kafkajs: round-robin over the members, each member's metadata
 * carrying its instance id, so every member can tell which instances are alive in the group.
 */
export function replyAssigner (instanceId: string): PartitionAssigner {
  return ({ cluster }) => {
    const assigner: Assigner = {
      name: ASSIGNER_NAME,
      version: 0,
      async assign ({ members, topics }) {
        const partitions = topics.map(topic => ({ topic, partitions: cluster.findTopicPartitionMetadata(topic).map(p => p.partitionId) }))
        const assignment = roundRobin(members.map(member => member.memberId), partitions)
        return [...assignment].map(([memberId, ofMember]) => ({
          memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: ofMember, userData: Buffer.alloc(0) })
        }))
      },
      protocol ({ topics }) {
        return {
          name: ASSIGNER_NAME,
          metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: instanceUserData(instanceId) })
        }
      }
    }
    return assigner
  }
}

/** The instance id a member announced in its metadata, if any. */
export function memberInstanceId (memberMetadata: Buffer): string | undefined {
  try {
    return instanceOfUserData(AssignerProtocol.MemberMetadata.decode(memberMetadata)?.userData)
  } catch {
    return undefined
  }
}
