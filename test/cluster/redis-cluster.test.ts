// The hand-over on the stack's Redis Cluster (`npm run stack:up -- --cluster`): through a Cluster
// client, through each way a slot moves under load, with configureKeyspaceEvents and an ACL user.
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { consumerAndCaller, freshTopics, startInstance, startWorker, type Names } from '../helpers/kafka-reply.js'
import { redisClusterPorts, redisClusterUrls } from '../helpers/cluster.js'
import { keysOnMasters } from '../../faults/lib/redis-cluster.js'
import {
  clusterClient, countBetween, instanceSlot, killMaster, load, manualFailover, migrateSlot,
  nodeClient, notificationsBack, rejoin, type Move
} from '../helpers/redis-cluster.js'
import { waitFor } from '../helpers/wait.js'
import type { KafkaReplyOptions } from '../../plugin/index.js'

const TIMEOUT = 2000

/**
 * Two instances on one reply partition: `consumer` holds the partition and consumes every reply,
 * and every reply of `caller` crosses the Redis Cluster.
 */
async function pair (t: Test, names: Names, overrides: Partial<KafkaReplyOptions> = {}): Promise<{ consumer: FastifyInstance, caller: FastifyInstance }> {
  const options = { redis: { cluster: redisClusterUrls }, affinity: false, ...overrides }
  const roles = await consumerAndCaller(t, names, [options, options])
  await startWorker(t, names, payload => payload)
  return roles
}

/** No key under the prefix on any master, once every deadline (and grace) has passed. */
async function noKeysLeft (t: Test, keyPrefix: string): Promise<void> {
  await waitFor('every reply key to be taken or expired', async () => (await keysOnMasters(keyPrefix)).length === 0, TIMEOUT + 5000)
  t.same(await keysOnMasters(keyPrefix), [], 'no key left on any master')
}

t.test('replies cross a Redis Cluster, borrowed as a Cluster client or created from { cluster: [...] }', async t => {
  const names = await freshTopics(1)
  // One instance creates its Cluster client, the other borrows one: whichever consumes, both write or read.
  const borrowed = clusterClient(t)
  const { consumer, caller, apps: [, borrower] } = await consumerAndCaller(t, names, [{ redis: { cluster: redisClusterUrls }, affinity: false }, { redis: borrowed, affinity: false }])
  await startWorker(t, names, payload => payload)
  const responses = await Promise.all(Array.from({ length: 40 }, (_, n) => caller.inject({ method: 'POST', url: '/call', payload: { n } })))
  t.same(responses.map(res => res.statusCode), responses.map(() => 200))
  t.same(responses.map(res => res.json().n), responses.map((_, n) => n), 'every call got its own reply')
  const stats = caller.kafkaReply.stats()
  t.equal(stats.resolvedViaRedis, 40, 'every reply crossed the cluster')
  t.equal(stats.resolvedByNotification, 40, 'each found by its keyspace notification')
  t.equal(consumer.kafkaReply.stats().handedOver, 40)
  await noKeysLeft(t, names.keyPrefix)
  t.equal(borrowed.status, 'ready', 'the borrowed Cluster client is not closed by the plugin')
  await borrower.close()
  t.equal(borrowed.status, 'ready', 'not even when the instance closes')
})

t.test('the subscriber reaches its node as the Cluster client does: through its natMap and dnsLookup', async t => {
  const names = await freshTopics(1)
  // The nodes announce 127.0.0.1; the client maps them to a host name (ioredis connects to it as it is).
  const natMap = Object.fromEntries(redisClusterPorts.map(port => [`127.0.0.1:${port}`, { host: 'localhost', port }]))
  const looked: string[] = []
  const dnsLookup = (hostname: string, callback: (err: NodeJS.ErrnoException | null, address: string) => void) => {
    looked.push(hostname)
    if (hostname === 'localhost') callback(null, '127.0.0.1')
    else callback(Object.assign(new Error(`unknown host ${hostname}`), { code: 'ENOTFOUND' }), '')
  }
  const options = { natMap, dnsLookup }
  const { caller } = await consumerAndCaller(t, names, [0, 1].map(() => ({ redis: { cluster: redisClusterUrls, options }, affinity: false })))
  await startWorker(t, names, payload => payload)
  const res = await caller.inject({ method: 'POST', url: '/call', payload: { n: 1 } })
  t.equal(res.statusCode, 200)
  t.equal(caller.kafkaReply.stats().resolvedByNotification, 1, 'the reply arrived by notification on the mapped address')
  t.ok(looked.includes('localhost'), 'the subscriber\'s host was resolved with the Cluster\'s dnsLookup')
})

/** Load on the caller, a move of its slot, and what happened: counts asserted, times reported. */
async function moveUnderLoad (t: Test, what: string, move: (slot: number) => Promise<Move>, after?: (move: Move) => Promise<void>): Promise<void> {
  const names = await freshTopics(1)
  const { caller } = await pair(t, names)
  const slot = instanceSlot(names.keyPrefix, caller.kafkaReply.instanceId)
  const running = load(caller, 8, TIMEOUT)
  await waitFor('replies by notification before the move', () => caller.kafkaReply.stats().resolvedByNotification >= 50, 20_000)
  const moved = await move(slot)
  await waitFor('replies by notification after the move', () => notificationsBack(running.samples, moved.settledAt) !== undefined, 30_000)
  const back = notificationsBack(running.samples, moved.settledAt)!
  // Then a while of steady load: every reply found by notification, none by the sweep or the last look.
  const steadyFrom = Date.now() + TIMEOUT
  await waitFor('a steady while after the move', () => Date.now() > steadyFrom + 3000, 10_000)
  await running.stop()
  if (after !== undefined) await after(moved)

  const { calls, samples } = running
  const during = countBetween(calls, samples, moved.startedAt, back)
  const steady = countBetween(calls, samples, steadyFrom, steadyFrom + 3000)
  t.comment(`${what}: slot ${slot} from ${moved.from} to ${moved.to}; the new owner served it ${moved.settledAt - moved.startedAt} ms after the move began, ` +
    `replies by notification again ${back - moved.settledAt} ms after that (${back - moved.startedAt} ms after the move began); ` +
    `from the move until then: calls sent ${JSON.stringify(during.statuses)}, ` +
    `found by notification ${during.notification}, sweep ${during.sweep}, last look ${during.lastLook}`)
  t.equal(calls.filter(call => call.crossed).length, 0, '0 crossed')
  t.same(calls.filter(call => ![200, 503, 504].includes(call.status)).map(call => call.status), [], 'only 200, 503 and 504')
  const stats = caller.kafkaReply.stats()
  t.equal(stats.pending, 0, '0 lost: no call still waits')
  t.equal(stats.resolvedViaRedis, stats.resolvedByNotification + stats.resolvedBySweep + stats.resolvedByLastLook)
  t.ok(steady.notification > 0, `replies by notification after the move (${steady.notification})`)
  t.same([steady.sweep, steady.lastLook], [0, 0], 'none by the sweep or the last look once it settled')
  t.same(Object.keys(steady.statuses), ['200'], 'every call answered once it settled')
  await noKeysLeft(t, names.keyPrefix)
}

t.test('a manual failover (CLUSTER FAILOVER) under load', async t => {
  await moveUnderLoad(t, 'manual failover', manualFailover)
})

t.test('the master of the slot killed under load: its replica is promoted', async t => {
  await moveUnderLoad(t, 'master killed', killMaster, async moved => await rejoin(moved.from))
})

t.test('the slot migrated to another master under load', async t => {
  await moveUnderLoad(t, 'slot migration', migrateSlot)
})

t.test('configureKeyspaceEvents sets the flags on every node, replicas included; without it the error names the node', async t => {
  const names = await freshTopics(1)
  const nodes = redisClusterPorts.map(port => nodeClient(t, port))
  const setAll = async (flags: string) => await Promise.all(nodes.map(node => node.config('SET', 'notify-keyspace-events', flags)))
  t.teardown(async () => { await setAll('K$') })
  await setAll('')

  await t.rejects(startInstance(t, names, { redis: { cluster: redisClusterUrls }, readyTimeout: 10_000 }),
    /no keyspace notification.*127\.0\.0\.1:700\d \(the master of slot \d+, which holds this instance's keys\) has notify-keyspace-events ''/,
    'the error names the slot\'s master that lacks the flags')

  const { caller } = await pair(t, names, { configureKeyspaceEvents: true })
  const flags = await Promise.all(nodes.map(async node => (await node.config('GET', 'notify-keyspace-events') as string[])[1]))
  t.ok(flags.every(f => f.includes('K') && f.includes('$')), `every node has K and $ (${flags.join(', ')})`)

  // The replica that takes over had its flags set at startup, as a replica.
  const slot = instanceSlot(names.keyPrefix, caller.kafkaReply.instanceId)
  await manualFailover(slot)
  await waitFor('the caller to follow the slot', () => caller.kafkaReply.health().redis, 10_000)
  const before = caller.kafkaReply.stats().resolvedByNotification
  await waitFor('a reply by notification on the promoted replica', async () => {
    const res = await caller.inject({ method: 'POST', url: `/call?timeout=${TIMEOUT}`, payload: { n: 1 } })
    return res.statusCode === 200 && caller.kafkaReply.stats().resolvedByNotification > before
  }, 20_000)
  t.pass('replies arrive by notification from the promoted replica')
})

t.test('an ACL user on the cluster, the subscriber\'s connection included', async t => {
  const names = await freshTopics(1)
  const ids = ['acl-consumer', 'acl-caller']
  const nodes = redisClusterPorts.map(port => nodeClient(t, port))
  // ACL users are per node: every node, replicas included (one may become master).
  await Promise.all(nodes.map(node => node.call('ACL', 'SETUSER', 'kafka-reply', 'on', '>s3cret', 'resetkeys', `~${names.keyPrefix}:*`, 'resetchannels',
    ...ids.map(id => `&__keyspace@0__:${names.keyPrefix}:{${id}}:*`),
    '-@all', '+set', '+getdel', '+del', '+exists', '+psubscribe', '+ping', '+info', '+client|setname', '+cluster|slots', '+cluster|info', '+readonly')))
  t.teardown(async () => { await Promise.all(nodes.map(node => node.call('ACL', 'DELUSER', 'kafka-reply'))) })
  await Promise.all(nodes.map(node => node.call('ACL', 'LOG', 'RESET'))) // a reused cluster keeps earlier runs' denials
  const redis = { cluster: redisClusterUrls.map(url => url.replace('redis://', 'redis://kafka-reply:s3cret@')) }
  const { consumer, caller } = await consumerAndCaller(t, names, ids.map(instanceId => ({ redis, instanceId, affinity: false })))
  await startWorker(t, names, payload => payload)
  const responses = await Promise.all([consumer, caller].map((app, n) => app.inject({ method: 'POST', url: '/call', payload: { n } })))
  t.same(responses.map(res => res.statusCode), [200, 200])
  t.same(responses.map(res => res.json().n), [0, 1])
  t.equal(caller.kafkaReply.stats().resolvedByNotification, 1, 'the caller\'s reply crossed the cluster under the ACL user')
  const denied = (await Promise.all(nodes.map(node => node.call('ACL', 'LOG') as Promise<unknown[]>))).flat()
  t.same(denied, [], 'ACL LOG is empty on every node: the plugin ran no command, key or channel the rules leave out')
})

t.test('an ACL user on the cluster without EXISTS: ready() fails with FST_KAFKA_REPLY_NOT_AUTHORIZED, not a silent loss of the slot check', async t => {
  const names = await freshTopics(1)
  const nodes = redisClusterPorts.map(port => nodeClient(t, port))
  await Promise.all(nodes.map(node => node.call('ACL', 'SETUSER', 'no-exists', 'on', '>s3cret', 'resetkeys', `~${names.keyPrefix}:*`, 'resetchannels',
    `&__keyspace@0__:${names.keyPrefix}:{no-exists}:*`,
    '-@all', '+set', '+getdel', '+del', '+psubscribe', '+ping', '+info', '+client|setname', '+cluster|slots', '+cluster|info', '+readonly')))
  t.teardown(async () => { await Promise.all(nodes.map(node => node.call('ACL', 'DELUSER', 'no-exists'))) })
  const redis = { cluster: redisClusterUrls.map(url => url.replace('redis://', 'redis://no-exists:s3cret@')) }
  await t.rejects(startInstance(t, names, { redis, instanceId: 'no-exists' }), {
    code: 'FST_KAFKA_REPLY_NOT_AUTHORIZED',
    message: /^Not authorized: the Redis user may not run EXISTS, .*grant it \+exists/
  })
})
