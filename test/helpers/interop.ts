// What the Spring and NestJS interop tests share: plugin replicas calling a foreign replier, and
// the count of calls answered and resolved in memory that the README's Interop table reports.
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import type { KafkaReplyOptions } from '../../plugin/index.js'
import { freshTopics, startInstances, type Names } from './kafka-reply.js'

/** Two plugin instances on a reply topic of two partitions, calling `requestTopic`. */
export async function twoInstances (t: Test, requestTopic: string, overrides: Partial<KafkaReplyOptions> = {}): Promise<FastifyInstance[]> {
  const names: Names = { ...await freshTopics(2), requestTopic }
  return await startInstances(t, names, 2, overrides)
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
