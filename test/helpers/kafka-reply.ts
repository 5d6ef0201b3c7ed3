// Builds plugin instances and workers against the test stack, each with its own names.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { Redis } from 'ioredis'
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs'
import type { Test } from 'tap'
import kafkaReply, { type KafkaOption, type KafkaReplyOptions } from '../../plugin/index.js'
import { createResponder, type Handler, type Responder, type ResponderOptions } from '../../plugin/responder/index.js'
import { createTopic, kafkaBrokers, kafkaConfig, redisUrl, uniqueName } from './stack.js'
import { waitFor } from './wait.js'

/** Topic, group and key prefix of one test, unused by any other. */
export interface Names {
  requestTopic: string
  replyTopic: string
  groupId: string
  keyPrefix: string
}

/** Fresh names; creates the request topic and the reply topic with `replyPartitions` partitions (on `brokers`, default the stack's). */
export async function freshTopics (replyPartitions = 1, requestPartitions = 1, brokers = kafkaBrokers): Promise<Names> {
  const names = {
    requestTopic: uniqueName('req'),
    replyTopic: uniqueName('reply'),
    groupId: uniqueName('group'),
    keyPrefix: uniqueName('kr')
  }
  await createTopic(names.requestTopic, requestPartitions, brokers)
  await createTopic(names.replyTopic, replyPartitions, brokers)
  return names
}

/** Options for one instance; heartbeats are quick so that a rebalance in a test takes little time. */
export function instanceOptions (names: Names, overrides: Partial<KafkaReplyOptions> = {}): KafkaReplyOptions {
  return {
    kafka: kafkaConfig('test-app'),
    redis: redisUrl,
    replyTopic: names.replyTopic,
    groupId: names.groupId,
    keyPrefix: names.keyPrefix,
    consumer: { heartbeatInterval: 500, sessionTimeout: 10_000, maxWaitTimeInMs: 100 },
    ...overrides
  }
}

/**
 * A Fastify instance with the plugin and a route `POST /call` that awaits the request topic.
 * The query string may set `timeout`. Closed at the end of the test.
 */
export async function startInstance (t: Test, names: Names, overrides: Partial<KafkaReplyOptions> = {}, fastifyOptions: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions)
  await app.register(kafkaReply, instanceOptions(names, overrides))
  app.post<{ Querystring: { timeout?: string } }>('/call', async (request, reply) => {
    const timeout = request.query.timeout === undefined ? undefined : Number(request.query.timeout)
    return reply.awaitKafka(names.requestTopic, request.body, { timeout })
  })
  t.teardown(() => app.close())
  await app.ready()
  return app
}

/** Starts instances one after the other: each join rebalances the group. */
export async function startInstances (t: Test, names: Names, count: number, overrides: Partial<KafkaReplyOptions> = {}): Promise<FastifyInstance[]> {
  const apps: FastifyInstance[] = []
  for (let i = 0; i < count; i++) apps.push(await startInstance(t, names, overrides))
  return apps
}

/**
 * Two instances of one group on a reply topic of one partition: `consumer` holds the partition, so
 * it consumes every reply, and every reply of `caller` crosses Redis. Which one holds it is read
 * from the group once it is stable, not assumed from how an assigner orders its members. `apps`
 * are the two in the order of `overrides`; `kafka` makes each one's `kafka` option.
 */
export async function consumerAndCaller (
  t: Test,
  names: Names,
  overrides: Array<Partial<KafkaReplyOptions>> = [{}, {}],
  kafka: Array<(clientId: string) => KafkaOption> = [kafkaConfig, kafkaConfig],
  fastifyOptions: FastifyServerOptions = {}
): Promise<{ consumer: FastifyInstance, caller: FastifyInstance, apps: FastifyInstance[] }> {
  const clientIds = overrides.map(() => uniqueName('app'))
  const apps: FastifyInstance[] = []
  for (const [i, clientId] of clientIds.entries()) {
    apps.push(await startInstance(t, names, { ...overrides[i], kafka: kafka[i](clientId) }, fastifyOptions))
  }
  const admin = new Kafka({ brokers: kafkaBrokers, clientId: 'test-roles', logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  let owner = -1
  try {
    await waitFor('the reply group to be stable with both instances, one holding the partition', async () => {
      const [group] = (await admin.describeGroups([names.groupId])).groups
      if (group.state !== 'Stable' || group.members.length !== apps.length) return false
      const holder = group.members.find(member => {
        const assigned = AssignerProtocol.MemberAssignment.decode(member.memberAssignment)?.assignment[names.replyTopic] ?? []
        return assigned.includes(0)
      })
      owner = holder === undefined ? -1 : clientIds.indexOf(holder.clientId)
      return owner !== -1
    })
  } finally {
    await admin.disconnect()
  }
  return { consumer: apps[owner], caller: apps[1 - owner], apps }
}

/** A responder on the request topic; closed at the end of the test. */
export async function startWorker (t: Test, names: Names, handler: Handler, overrides: Partial<ResponderOptions> = {}): Promise<Responder> {
  const responder = await createResponder({
    kafka: kafkaConfig('test-worker'),
    groupId: `${names.groupId}-worker`,
    handlers: { [names.requestTopic]: handler },
    consumer: { heartbeatInterval: 500, maxWaitTimeInMs: 100 },
    ...overrides
  })
  t.teardown(() => responder.close())
  return responder
}

/** A Redis client for assertions; closed at the end of the test. */
export function redisClient (t: Test): Redis {
  const redis = new Redis(redisUrl)
  t.teardown(() => { redis.disconnect() })
  return redis
}

export { keysUnder } from '../../app/demo/keys.js'
