// What the Spring and NestJS interop tests share: plugin replicas calling a foreign replier, and
// the count of calls answered and resolved in memory that the README's Interop table reports.
import type { FastifyInstance } from 'fastify'
import { Kafka, logLevel } from 'kafkajs'
import type { Test } from 'tap'
import type { KafkaReplyOptions } from '../../plugin/index.js'
import { freshTopics, startInstances, type Names } from './kafka-reply.js'
import { kafkaBrokers } from './stack.js'
import { waitFor } from './wait.js'

/**
 * Two plugin instances on a reply topic of two partitions, calling `requestTopic`. Resolves once
 * their group is stable: the first instance learns that it gave a partition to the second only
 * then, and until then it may ask for replies on a partition it no longer consumes.
 */
export async function twoInstances (t: Test, requestTopic: string, overrides: Partial<KafkaReplyOptions> = {}): Promise<FastifyInstance[]> {
  const names: Names = { ...await freshTopics(2), requestTopic }
  const apps = await startInstances(t, names, 2, overrides)
  const admin = new Kafka({ brokers: kafkaBrokers, clientId: 'interop-admin', logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    await waitFor('the reply group to be stable with both instances', async () => {
      const { groups: [group] } = await admin.describeGroups([names.groupId])
      return group.state === 'Stable' && group.members.length === 2
    }, 30_000)
  } finally {
    await admin.disconnect()
  }
  return apps
}

/**
 * `count` calls spread over the instances to a replier that answers `{ echo: <request>, by }`:
 * asserts each got its own reply, reports and returns how many resolved in memory.
 */
export async function callEcho (t: Test, apps: FastifyInstance[], by: string, setting: string, count = 20): Promise<number> {
  const responses = await Promise.all(Array.from({ length: count }, (_, n) =>
    apps[n % apps.length].inject({ method: 'POST', url: '/call?timeout=10000', payload: { n } })))
  const answered = responses.filter((res, n) => res.statusCode === 200 && res.json().echo.n === n && res.json().by === by.toLowerCase()).length
  t.equal(answered, count, `affinity ${setting}: every call answered by the ${by} replier with its own reply`)
  const local = apps.reduce((sum, app) => sum + app.kafkaReply.stats().resolvedLocal, 0)
  t.comment(`${by} replier, affinity ${setting}: ${answered} of ${count} answered, ${local} resolved in memory (${Math.round(100 * local / count)}%)`)
  return local
}
