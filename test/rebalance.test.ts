// Short versions of the fault suite's rolling restart and replica SIGKILL: replicas leave and join
// while calls wait.
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { freshTopics, keysUnder, redisClient, startInstance, startInstances, startWorker } from './helpers/kafka-reply.js'
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
