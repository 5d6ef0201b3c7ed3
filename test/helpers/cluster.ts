// Where the cluster stack of `npm run test:cluster` runs (`npm run stack:up -- --cluster`), and
// what the cluster tests do to it.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import Fastify, { type FastifyInstance } from 'fastify'
import { Kafka, logLevel, type Admin } from 'kafkajs'
import kafkaReply, { type KafkaReplyOptions } from '../../plugin/index.js'
import { kafkaConfig, redisUrl } from './stack.js'

/** The 3-node Kafka cluster: node n (1..3) listens on 127.0.0.1:2909(1+n). */
export const kafkaClusterBrokers: string[] = ['127.0.0.1:29092', '127.0.0.1:29093', '127.0.0.1:29094']

/** The address of node `id` of the Kafka cluster. */
export function kafkaNodeAddress (id: number): string {
  return kafkaClusterBrokers[id - 1]
}

/** The Redis Cluster: 3 masters and 3 replicas on 127.0.0.1:7001..7006 (roles change as tests move slots). */
export const redisClusterPorts: number[] = [7001, 7002, 7003, 7004, 7005, 7006]

/** The Redis Cluster's nodes as URLs, for `redis: { cluster: redisClusterUrls }`. */
export const redisClusterUrls: string[] = redisClusterPorts.map(port => `redis://127.0.0.1:${port}`)

const cli = fileURLToPath(new URL('../../stack/cli.mjs', import.meta.url))
const run = promisify(execFile)

// In a child process: tap would record coverage of the stack's modules if a test loaded them.
async function stack<T> (...args: string[]): Promise<T> {
  const { stdout } = await run(process.execPath, [cli, ...args], {
    env: { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' },
    timeout: 240_000
  })
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T
}

/** SIGKILLs node `id` of the Kafka cluster; resolves with when it was killed (epoch ms). */
export async function killKafkaNode (id: number): Promise<{ killedAt: number }> {
  return stack('kill-kafka-node', String(id))
}

/** Starts node `id` again on its data; resolves once the cluster lists all three brokers. */
export async function restartKafkaNode (id: number): Promise<{ readyAt: number }> {
  return stack('restart-kafka-node', String(id))
}

/** An admin client of the Kafka cluster, connected; the caller disconnects it. */
export async function clusterAdmin (clientId = 'test-cluster-admin'): Promise<Admin> {
  const admin = new Kafka({ clientId, brokers: kafkaClusterBrokers, logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  return admin
}

/** SIGKILLs the Redis Cluster node on `port`; resolves with when it was killed (epoch ms). */
export async function killRedisNode (port: number): Promise<{ killedAt: number }> {
  return stack('kill-redis-node', String(port))
}

/** Starts the Redis Cluster node on `port` again (it rejoins with its nodes.conf); resolves once it answers. */
export async function startRedisNode (port: number): Promise<{ readyAt: number }> {
  return stack('start-redis-node', String(port))
}

/** Node ids of the cluster other than `ids`. */
export function otherNodes (...ids: number[]): number[] {
  return [1, 2, 3].filter(id => !ids.includes(id))
}

/** The __consumer_offsets partition that holds `groupId`'s offsets, as Kafka computes it (Java's String.hashCode). */
export function offsetsPartitionOf (groupId: string, partitions: number): number {
  let hash = 0
  for (let i = 0; i < groupId.length; i++) hash = (Math.imul(hash, 31) + groupId.charCodeAt(i)) | 0
  return (hash & 0x7fffffff) % partitions
}

/** Leader node id of each partition of `topic`, by partition. */
export async function leadersOf (admin: Admin, topic: string): Promise<number[]> {
  const { topics: [metadata] } = await admin.fetchTopicMetadata({ topics: [topic] })
  return [...metadata.partitions].sort((a, b) => a.partitionId - b.partitionId).map(p => p.leader)
}

/** The node that coordinates `groupId` now: the leader of its __consumer_offsets partition. */
export async function coordinatorOf (admin: Admin, groupId: string): Promise<number> {
  const leaders = await leadersOf(admin, '__consumer_offsets')
  return leaders[offsetsPartitionOf(groupId, leaders.length)]
}

/**
 * Creates `topic` with one partition per entry of `leaders`, each replicated on all three nodes
 * with the given node first (its preferred and initial leader); resolves once every partition leads.
 */
export async function createPlacedTopic (admin: Admin, topic: string, leaders: number[]): Promise<void> {
  const replicaAssignment = leaders.map((leader, partition) => ({ partition, replicas: [leader, ...otherNodes(leader)] }))
  await admin.createTopics({ topics: [{ topic, replicaAssignment }], waitForLeaders: true })
}

/** Topics, groups and key prefix of one cluster test. */
export interface ClusterNames { requestTopic: string, replyTopic: string, groupId: string, keyPrefix: string }

/** A Fastify instance with the plugin on the Kafka cluster and `POST /call` awaiting the request topic; the caller closes it. */
export async function startClusterApp (names: ClusterNames, clientId: string, timeout: number, consumer: KafkaReplyOptions['consumer']): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(kafkaReply, {
    kafka: kafkaConfig(clientId, kafkaClusterBrokers),
    redis: redisUrl,
    replyTopic: names.replyTopic,
    groupId: names.groupId,
    keyPrefix: names.keyPrefix,
    timeout,
    consumer
  })
  app.post('/call', async (request, reply) => reply.awaitKafka(names.requestTopic, request.body))
  await app.ready()
  return app
}
