import t from 'tap'
import { Redis } from 'ioredis'
import { freshTopics, startInstances, startWorker } from './helpers/kafka-reply.js'
import { privateRedis } from './helpers/private-redis.js'
import { waitFor } from './helpers/wait.js'

t.test('Redis restarted: calls fail fast with 503 while it is down, and the instances recover by themselves', async t => {
  const names = await freshTopics(1)
  const redis = await privateRedis(t)
  // One reply partition for two instances: the other instance's replies must cross Redis.
  const apps = await startInstances(t, names, 2, { redis: redis.url, configureKeyspaceEvents: true })
  await startWorker(t, names, payload => payload)
  const callAll = () => Promise.all(apps.map((app, n) => app.inject({ method: 'POST', url: '/call', payload: { n } })))

  t.same((await callAll()).map(res => res.statusCode), [200, 200], 'both instances answer before the outage')

  await redis.kill()
  await waitFor('both instances to see Redis down', () => apps.every(app => !app.kafkaReply.health().redis))
  const during = await callAll()
  for (const res of during) {
    t.equal(res.statusCode, 503, 'refused at once, not left to its 5 s deadline (504)')
    t.equal(res.json().code, 'FST_KAFKA_REPLY_REDIS_UNAVAILABLE')
    t.equal(res.headers['retry-after'], '1')
  }
  t.same(apps.map(app => app.kafkaReply.stats().unavailable), [1, 1])

  // A fresh server: empty, and with notifications off until the plugin sets them again.
  await redis.start()
  await waitFor('both instances to see Redis back', () => apps.every(app => app.kafkaReply.health().redis), 20_000)
  const check = new Redis(redis.url)
  t.teardown(() => { check.disconnect() })
  await waitFor('notify-keyspace-events to be set again', async () => {
    const [, flags] = await check.config('GET', 'notify-keyspace-events') as [string, string]
    return flags.includes('K') && flags.includes('$')
  })
  const after = await callAll()
  t.same(after.map(res => res.statusCode), [200, 200], 'both instances answer again, without a restart')
  t.same(after.map(res => res.json().n), [0, 1])
  const [a, b] = apps.map(app => app.kafkaReply.stats())
  t.ok(a.resolvedViaRedis + b.resolvedViaRedis >= 2, 'replies crossed Redis before and after the outage')
})
