// What the logs hold when something refuses the plugin's work: the error's code and message, never
// a request's or reply's payload. A sentinel travels in the payload of each call, and everything the
// apps and the worker logged (at debug level and up) is searched for it.
import t from 'tap'
import { Redis } from 'ioredis'
import { createLogger } from '../worker/log.js'
import { consumerAndCaller, freshTopics, startWorker } from './helpers/kafka-reply.js'
import { captureLogs } from './helpers/logs.js'
import { privateRedis } from './helpers/private-redis.js'
import { kafkaConfig } from './helpers/stack.js'
import { waitFor } from './helpers/wait.js'

const SENTINEL = 'sentinel-iban-DE89370400440532013000'

t.test('Redis refusing a hand-over write (OOM): the error is logged with its code, not the reply\'s payload', async t => {
  const names = await freshTopics(1)
  const redis = await privateRedis(t)
  const lines: string[] = []
  await startWorker(t, names, payload => payload, { logger: createLogger('debug', {}, line => { lines.push(line) }) })
  // One reply partition: the caller's reply is consumed by the other instance and must cross Redis.
  const { caller } = await consumerAndCaller(t, names, [{ redis: redis.url, configureKeyspaceEvents: true }, { redis: redis.url, configureKeyspaceEvents: true }], [kafkaConfig, kafkaConfig], captureLogs(lines))
  const admin = new Redis(redis.url)
  t.teardown(() => { admin.disconnect() })
  await admin.config('SET', 'maxmemory-policy', 'noeviction')
  await admin.config('SET', 'maxmemory', '1')
  t.teardown(() => admin.config('SET', 'maxmemory', '0'))

  const res = await caller.inject({ method: 'POST', url: '/call?timeout=1500', payload: { secret: SENTINEL } })
  t.equal(res.statusCode, 504, 'the reply could not be handed over: the call times out')
  await waitFor('the refusal to be logged', () => lines.some(line => line.includes('OOM')))
  await admin.config('SET', 'maxmemory', '0')
  t.match(lines.join(''), /OOM command not allowed/, 'the log says what Redis refused')
  t.notMatch(lines.join(''), new RegExp(SENTINEL), 'and nothing of the payload')
})
