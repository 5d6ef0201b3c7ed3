import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { freshTopics, startInstance, startWorker } from './helpers/kafka-reply.js'
import { privateRedis } from './helpers/private-redis.js'
import { waitFor } from './helpers/wait.js'
import { setTimeout as sleep } from 'node:timers/promises'

t.test('a Redis ACL user limited to the key prefix and its own notification channels is enough', async t => {
  const names = await freshTopics(1)
  const redis = await privateRedis(t)
  const ids = ['replica-a', 'replica-b']
  const admin = new Redis(redis.url)
  t.teardown(() => { admin.disconnect() })
  await admin.config('SET', 'notify-keyspace-events', 'K$')
  // PSUBSCRIBE is checked against the user's channel patterns literally: one pattern per instance.
  await admin.call('ACL', 'SETUSER', 'kafka-reply', 'on', '>s3cret', 'resetkeys', `~${names.keyPrefix}:*`, 'resetchannels',
    ...ids.map(id => `&__keyspace@0__:${names.keyPrefix}:{${id}}:*`),
    '-@all', '+set', '+getdel', '+del', '+psubscribe', '+ping', '+info', '+client|setname',
    // Calls with an idempotency key: the record scripts, and what they run.
    '+eval', '+evalsha', '+get')
  const url = redis.url.replace('redis://', 'redis://kafka-reply:s3cret@')

  const apps: FastifyInstance[] = []
  for (const instanceId of ids) apps.push(await startInstance(t, names, { redis: url, instanceId }))
  // Job 4 takes longer than its caller waits: an accepted call answered 202.
  await startWorker(t, names, async payload => {
    if ((payload as { n: number }).n === 4) await sleep(300)
    return payload
  })

  const responses = await Promise.all(apps.map((app, n) => app.inject({ method: 'POST', url: '/call', payload: { n } })))
  t.same(responses.map(res => res.statusCode), [200, 200])
  t.same(responses.map(res => res.json().n), [0, 1])
  t.equal(apps.reduce((sum, app) => sum + app.kafkaReply.stats().resolvedViaRedis, 0), 1, 'one reply crossed Redis under the ACL user')
  const keyed = (app: FastifyInstance) => app.kafkaReply.request(names.requestTopic, { n: 2 }, { idempotencyKey: 'acl-key' })
  t.same(await keyed(apps[0]), { n: 2 })
  t.same(await keyed(apps[1]), { n: 2 }, 'a keyed call, replayed on the other replica')
  t.equal(apps[1].kafkaReply.stats().replayed, 1)
  // Accepted calls: the same scripts, a DEL when answered in time, a GET per poll.
  t.same(await apps[0].kafkaReply.request(names.requestTopic, { n: 3 }, { accepted: true }), { n: 3 })
  const accepted = await apps[0].kafkaReply.request(names.requestTopic, { n: 4 }, { accepted: true, timeout: 100 }).catch((err: { code: string, replyId: string }) => err) as { code: string, replyId: string }
  t.equal(accepted.code, 'FST_KAFKA_REPLY_ACCEPTED')
  await waitFor('the accepted reply', async () => (await apps[1].kafkaReply.poll(accepted.replyId).catch(() => undefined)) !== undefined)
  t.same(await apps[1].kafkaReply.poll(accepted.replyId), { n: 4 })
  t.same(await admin.call('ACL', 'LOG'), [], 'ACL LOG is empty: the plugin ran no command, key or channel the rules leave out')

  const limited = new Redis(url)
  t.teardown(() => { limited.disconnect() })
  await t.rejects(limited.set('someone-else:key', '1'), /NOPERM/, 'the user cannot touch keys outside the prefix')
})

t.test('a Redis ACL user without what the plugin needs: ready() fails with FST_KAFKA_REPLY_NOT_AUTHORIZED naming what to grant', async t => {
  const names = await freshTopics(1)
  const redis = await privateRedis(t)
  const admin = new Redis(redis.url)
  t.teardown(() => { admin.disconnect() })
  await admin.config('SET', 'notify-keyspace-events', 'K$')
  const commands = ['-@all', '+set', '+getdel', '+del', '+psubscribe', '+ping', '+info', '+client|setname']
  // Another replica's channel only: this one's pattern is not among the user's.
  await admin.call('ACL', 'SETUSER', 'no-channel', 'on', '>s3cret', 'resetkeys', `~${names.keyPrefix}:*`, 'resetchannels',
    `&__keyspace@0__:${names.keyPrefix}:{replica-b}:*`, ...commands)
  // Its channel, but keys under another prefix.
  await admin.call('ACL', 'SETUSER', 'no-keys', 'on', '>s3cret', 'resetkeys', '~other-app:*', 'resetchannels',
    `&__keyspace@0__:${names.keyPrefix}:{replica-a}:*`, ...commands)
  const as = (user: string) => redis.url.replace('redis://', `redis://${user}:s3cret@`)

  await t.rejects(startInstance(t, names, { redis: as('no-channel'), instanceId: 'replica-a' }), {
    code: 'FST_KAFKA_REPLY_NOT_AUTHORIZED',
    message: `Not authorized: the Redis user may not PSUBSCRIBE to "__keyspace@0__:${names.keyPrefix}:{replica-a}:*": grant it that channel pattern (&__keyspace@0__:${names.keyPrefix}:{replica-a}:*), which needs a fixed instanceId, or allchannels (Redis said: NOPERM this user has no permissions to access one of the channels used as arguments)`
  })
  await t.rejects(startInstance(t, names, { redis: as('no-keys'), instanceId: 'replica-a' }), {
    code: 'FST_KAFKA_REPLY_NOT_AUTHORIZED',
    message: new RegExp(`^Not authorized: the Redis user may not write and take keys under "${names.keyPrefix}:": grant ~${names.keyPrefix}:\\* with \\+set \\+getdel \\+del \\(Redis said: NOPERM`)
  })
})

t.test('a Redis ACL user without the idempotency scripts: keyed calls fail with FST_KAFKA_REPLY_NOT_AUTHORIZED naming what to grant, others work', async t => {
  const names = await freshTopics(1)
  const redis = await privateRedis(t)
  const admin = new Redis(redis.url)
  t.teardown(() => { admin.disconnect() })
  await admin.config('SET', 'notify-keyspace-events', 'K$')
  await admin.call('ACL', 'SETUSER', 'no-scripts', 'on', '>s3cret', 'resetkeys', `~${names.keyPrefix}:*`, 'resetchannels',
    `&__keyspace@0__:${names.keyPrefix}:{replica-a}:*`, '-@all', '+set', '+getdel', '+del', '+psubscribe', '+ping', '+info', '+client|setname')
  const app = await startInstance(t, names, { redis: redis.url.replace('redis://', 'redis://no-scripts:s3cret@'), instanceId: 'replica-a' })
  const worker = await startWorker(t, names, payload => payload)

  await t.rejects(app.kafkaReply.request(names.requestTopic, { n: 1 }, { idempotencyKey: 'k' }), {
    code: 'FST_KAFKA_REPLY_NOT_AUTHORIZED',
    message: new RegExp(`^Not authorized: the Redis user may not run the idempotency scripts on "${names.keyPrefix}:idempotency:\\*": grant \\+eval \\+evalsha, and \\+get \\+set \\+del on ~${names.keyPrefix}:idempotency:\\* \\(Redis said: NOPERM`)
  })
  t.same(await app.kafkaReply.request(names.requestTopic, { n: 2 }), { n: 2 }, 'a call without a key needs no script')
  // The worker counts a reply once the broker acknowledged it, which may come after the caller read it.
  await waitFor('the worker to count its reply', () => worker.stats().replied >= 1)
  t.equal(worker.stats().replied, 1, 'the keyed call published nothing')
})
