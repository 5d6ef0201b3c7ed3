// Short versions of the fault suite's rolling restart and replica SIGKILL: replicas leave and join
// while calls wait.
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import * as net from 'node:net'
import { fileURLToPath } from 'node:url'
import { Kafka, logLevel, type ISocketFactory } from 'kafkajs'
import { freshTopics, keysUnder, redisClient, startInstance, startInstances, startWorker } from './helpers/kafka-reply.js'
import { kafkaBrokers, kafkajsOnly } from './helpers/stack.js'
import { gate, waitFor } from './helpers/wait.js'

t.test('a replica stops and another joins while calls wait: every call of the replica that stayed gets its reply', async t => {
  const names = await freshTopics(2)
  const release = gate()
  t.teardown(release.open)
  await startWorker(t, names, async payload => {
    await release.promise
    return payload
  })
  const [leaving, staying] = await startInstances(t, names, 2, { affinity: false })
  const calls = Array.from({ length: 20 }, (_, n) => staying.inject({ method: 'POST', url: '/call', payload: { n } }))
  await waitFor('the calls to be published', () => staying.kafkaReply.stats().sent === 20)

  await leaving.close()
  const joining = await startInstance(t, names, { affinity: false })
  release.open()
  const responses = await Promise.all(calls)
  t.ok(responses.every((res, n) => res.statusCode === 200 && res.json().n === n), 'all 20 answered, each with its own reply')
  const { resolvedLocal, resolvedViaRedis } = staying.kafkaReply.stats()
  t.equal(resolvedLocal + resolvedViaRedis, 20)
  t.ok(joining.kafkaReply.stats().handedOver > 0, 'the replica that joined consumed some of them and handed them over')
})

t.test('a replica killed while its calls wait: the replies meant for it expire, no key is left', async t => {
  // One reply partition, taken by the survivor, which starts first: it consumes every reply.
  const names = await freshTopics(1)
  const survivor = await startInstance(t, names)
  const release = gate()
  t.teardown(release.open)
  await startWorker(t, names, async payload => {
    await release.promise
    return payload
  })
  const fixture = fileURLToPath(new URL('./fixtures/wait-then-die.ts', import.meta.url))
  const child = spawn(process.execPath, [...process.execArgv, fixture, JSON.stringify(names)], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { child.kill('SIGKILL') })
  let output = ''
  child.stdout.on('data', chunk => { output += chunk })
  await waitFor('the doomed replica\'s calls to wait', () => output.includes('waiting'), 30_000)
  child.kill('SIGKILL')
  await once(child, 'exit')

  // Its three replies arrive while it is still a member of the group (until its session times out).
  release.open()
  await waitFor('the survivor to hand the three replies over', () => survivor.kafkaReply.stats().handedOver === 3)
  const redis = redisClient(t)
  t.equal((await keysUnder(redis, names.keyPrefix)).length, 3, 'written for the dead replica')
  // Deadline (5 s after the call) plus replyGrace (1 s): then Redis has expired them.
  await waitFor('the keys to expire', async () => (await keysUnder(redis, names.keyPrefix)).length === 0, 8000)
  const res = await survivor.inject({ method: 'POST', url: '/call', payload: { n: 7 } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { n: 7 })
})

/** Kafka connections that can be cut off and restored: while frozen, nothing is written or read. */
function freezableConnections (): { socketFactory: ISocketFactory, freeze: () => void, thaw: () => void } {
  const sockets = new Set<net.Socket>()
  let frozen = false
  const freeze = (socket: net.Socket) => { socket.cork(); socket.pause() }
  const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    const socket = net.connect({ host, port }, onConnect)
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    if (frozen) freeze(socket)
    return socket
  }
  return {
    socketFactory,
    freeze: () => { frozen = true; sockets.forEach(freeze) },
    thaw: () => { frozen = false; sockets.forEach(socket => { socket.uncork(); socket.resume() }) }
  }
}

t.test('a replica dropped from the group while its call waits (its heartbeats held back): the member that took its partition hands the reply over', kafkajsOnly, async t => {
  const names = await freshTopics(2)
  const release = gate()
  t.teardown(release.open)
  let received = false
  await startWorker(t, names, async payload => {
    received = true
    await release.promise
    return payload
  })
  const staying = await startInstance(t, names)
  const connections = freezableConnections()
  t.teardown(connections.thaw)
  const dropped = await startInstance(t, names, {
    kafka: { brokers: kafkaBrokers, clientId: 'test-app-dropped', socketFactory: connections.socketFactory },
    consumer: { heartbeatInterval: 500, sessionTimeout: 6000, maxWaitTimeInMs: 100 }
  })
  // Its request names its own reply partition (affinity), which the other member takes over.
  const call = dropped.inject({ method: 'POST', url: '/call?timeout=30000', payload: { n: 1 } })
  await waitFor('the worker to receive the call', () => received)

  connections.freeze()
  const admin = new Kafka({ clientId: 'test-admin', brokers: kafkaBrokers, logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  t.teardown(() => admin.disconnect())
  await waitFor('the group to be stable without the frozen member', async () => {
    const { groups: [group] } = await admin.describeGroups([names.groupId])
    return group.state === 'Stable' && group.members.length === 1
  }, 20_000)
  // The staying member reads the group's members after it rejoined: let that lookup end.
  await sleep(1000)

  release.open()
  const res = await call
  t.equal(res.statusCode, 200, 'the call was answered, not timed out')
  t.same(res.json(), { n: 1 })
  t.equal(staying.kafkaReply.stats().handedOver, 1, 'the staying member handed the reply over through Redis')
  t.equal(staying.kafkaReply.stats().malformed, 0, 'and did not skip it as a reply for an unknown instance')
  connections.thaw()
})
