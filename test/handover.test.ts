import t from 'tap'
import type { KafkaReplyStats, ReplyRoute } from '../plugin/index.js'
import { Redis } from 'ioredis'
import { consumerAndCaller, freshTopics, keysUnder, redisClient, startInstances, startWorker } from './helpers/kafka-reply.js'
import { privateRedis } from './helpers/private-redis.js'
import { waitFor } from './helpers/wait.js'

const square = (payload: unknown) => {
  const { n } = payload as { n: number }
  return { n, square: n * n }
}

t.test('three instances, one group, three reply partitions: 300 concurrent calls each get their own reply', async t => {
  const names = await freshTopics(3)
  // Without affinity the worker's replies spread over all partitions: most cross Redis.
  const apps = await startInstances(t, names, 3, { affinity: false })
  await startWorker(t, names, square)

  const calls = Array.from({ length: 300 }, (_, n) => apps[n % 3].inject({ method: 'POST', url: '/call', payload: { n } }))
  const responses = await Promise.all(calls)
  responses.forEach((res, n) => {
    if (res.statusCode !== 200) t.fail(`call ${n}: ${res.statusCode} ${res.body}`)
    else if (res.json().square !== n * n) t.fail(`call ${n} got another call's reply: ${res.body}`)
  })
  t.ok(responses.every((res, n) => res.statusCode === 200 && res.json().n === n), 'every call got its own reply')

  // A consuming instance counts its hand-over once its pipeline returns, which may be after the
  // waiting instance has already answered.
  const total = (key: keyof KafkaReplyStats) => apps.reduce((sum, app) => sum + app.kafkaReply.stats()[key], 0)
  await waitFor('every hand-over to be counted', () => total('handedOver') >= total('resolvedViaRedis'))
  t.equal(total('sent'), 300)
  t.equal(total('resolvedLocal') + total('resolvedViaRedis'), 300, 'every reply was handed over exactly once')
  t.ok(total('resolvedLocal') > 0, `some replies resolved in memory (${total('resolvedLocal')})`)
  t.ok(total('resolvedViaRedis') > 0, `some replies crossed Redis (${total('resolvedViaRedis')})`)
  t.equal(total('handedOver'), total('resolvedViaRedis'), 'every reply written to Redis was read')
  t.equal(total('timeouts') + total('malformed') + total('duplicates'), 0)
  t.equal(total('pending'), 0)
  t.same(await keysUnder(redisClient(t), names.keyPrefix), [], 'read replies are deleted from Redis')
})

t.test('a one-partition reply topic owned by one instance: every reply of the other crosses Redis', async t => {
  const names = await freshTopics(1)
  const apps = await startInstances(t, names, 2)
  await startWorker(t, names, square)

  // Whoever the group gave the partition, calls from both instances must all be answered.
  const responses = await Promise.all(Array.from({ length: 40 }, (_, n) =>
    apps[n % 2].inject({ method: 'POST', url: '/call', payload: { n } })))
  t.ok(responses.every((res, n) => res.statusCode === 200 && res.json().square === n * n), 'every call got its own reply')

  const handedOver = () => apps.reduce((sum, app) => sum + app.kafkaReply.stats().handedOver, 0)
  await waitFor('every hand-over to be counted', () => handedOver() >= 20)
  const [a, b] = apps.map(app => app.kafkaReply.stats())
  const [owner, other] = a.resolvedLocal > 0 ? [a, b] : [b, a]
  t.equal(owner.resolvedLocal, 20, 'the partition owner resolves its own calls in memory')
  t.equal(owner.handedOver, 20, 'and hands the other instance\'s replies to Redis')
  t.equal(other.resolvedLocal, 0)
  t.equal(other.resolvedViaRedis, 20, 'every reply of the other instance arrived through Redis')
  t.same(await keysUnder(redisClient(t), names.keyPrefix), [])
})

t.test('onRoute tells how each reply arrived and which instance consumed it', async t => {
  const names = await freshTopics(1)
  const apps = await startInstances(t, names, 2)
  await startWorker(t, names, square)

  const routes = await Promise.all(apps.map(async app => {
    let route: ReplyRoute | undefined
    await app.kafkaReply.request(names.requestTopic, { n: 3 }, { onRoute: r => { route = r } })
    return route
  }))
  const ids = apps.map(app => app.kafkaReply.instanceId)
  const owner = routes[0]!.consumedBy
  t.ok(ids.includes(owner), 'consumed by one of the instances')
  t.same(routes.map(route => route!.consumedBy), [owner, owner], 'the partition owner consumed both replies')
  t.same(routes.map(route => route!.path), ids.map(id => id === owner ? 'memory' : 'redis'))
})

t.test('affinity: each instance asks for replies on a partition it consumes, so they resolve in memory', async t => {
  const names = await freshTopics(2)
  const apps = await startInstances(t, names, 2) // affinity is on by default
  await startWorker(t, names, square)

  const responses = await Promise.all(Array.from({ length: 40 }, (_, n) =>
    apps[n % 2].inject({ method: 'POST', url: '/call', payload: { n } })))
  t.ok(responses.every((res, n) => res.statusCode === 200 && res.json().square === n * n), 'every call got its own reply')
  t.same(apps.map(app => app.kafkaReply.stats().resolvedLocal), [20, 20], 'every reply was consumed by its waiting instance')
  t.same(apps.map(app => app.kafkaReply.stats().resolvedViaRedis), [0, 0])
})

t.test('notifications lost: the last look before each deadline finds the replies, and the calls end with them, not with 504', async t => {
  const names = await freshTopics(1)
  const redis = await privateRedis(t)
  const admin = new Redis(redis.url)
  t.teardown(() => { admin.disconnect() })
  await admin.config('SET', 'notify-keyspace-events', 'K$')
  const { consumer, caller } = await consumerAndCaller(t, names, [{ redis: redis.url, affinity: false }, { redis: redis.url, affinity: false }])
  await startWorker(t, names, square)
  // From here on Redis publishes no keyspace event: every hand-over is silent.
  await admin.config('SET', 'notify-keyspace-events', '')

  const responses = await Promise.all(Array.from({ length: 20 }, (_, n) => caller.inject({ method: 'POST', url: '/call?timeout=1000', payload: { n } })))
  t.same(responses.map(res => res.statusCode), responses.map(() => 200), 'every call answered')
  t.same(responses.map(res => res.json().square), responses.map((_, n) => n * n))
  t.match(caller.kafkaReply.stats(), { resolvedByLastLook: 20, resolvedByNotification: 0, timeouts: 0 }, 'each found by its last look, before its deadline')
  t.equal(consumer.kafkaReply.stats().handedOver, 20)
})
