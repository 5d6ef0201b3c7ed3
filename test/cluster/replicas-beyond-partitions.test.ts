// Replicas beyond partitions on the 3-broker cluster, in one process: 8 plugin instances share a
// 2-partition reply topic, 2 responders a 2-partition request topic. A rolling restart of all 8
// instances, then of both responders, under load. kafkajs rebalances eagerly (every member stops
// fetching while one joins or leaves): each step's pause is the longest stretch in which no call was
// answered, written with its 504s to .tap/cluster-rebalance.jsonl. The assertions are counts.
// TEST_KAFKA_HEARTBEAT_MS and TEST_KAFKA_SESSION_TIMEOUT_MS set the consumers' settings (to measure
// kafkajs's defaults, 3000 and 30000, against the tuned ones).
import t from 'tap'
import { leftBehind, trackTimers } from '../helpers/leaks.js'
import { appendFileSync, mkdirSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { createResponder, type Responder } from '../../plugin/responder/index.js'
import { clusterAdmin, kafkaClusterBrokers, startClusterApp } from '../helpers/cluster.js'
import { kafkaConfig, redisUrl, uniqueName } from '../helpers/stack.js'
import { waitFor } from '../helpers/wait.js'

trackTimers()

const REPLICAS = 8
const WORKERS = 2
const DEADLINE_MS = 2000
const RATE_MS = 20 // 50 calls a second over the replicas up
const QUIET_MS = 3000
const HEARTBEAT_MS = Number(process.env.TEST_KAFKA_HEARTBEAT_MS ?? 500)
const SESSION_MS = Number(process.env.TEST_KAFKA_SESSION_TIMEOUT_MS ?? 6000)
const MEASUREMENTS = new URL('../../.tap/cluster-rebalance.jsonl', import.meta.url)

interface Call { n: number, sentAt: number, endedAt?: number, status?: number, own?: boolean }
interface Step { what: string, from: number, to: number }

t.test(`${REPLICAS} replicas on 2 reply partitions, ${WORKERS} workers: rolling restarts of all, under load: 0 lost, 0 crossed, only 200/503/504`, async t => {
  const names = { requestTopic: uniqueName('req'), replyTopic: uniqueName('reply'), groupId: uniqueName('group'), keyPrefix: uniqueName('kr') }
  const admin = await clusterAdmin()
  await admin.createTopics({ topics: [{ topic: names.requestTopic, numPartitions: 2 }, { topic: names.replyTopic, numPartitions: 2 }], waitForLeaders: true })
  await admin.disconnect()
  const consumer = { heartbeatInterval: HEARTBEAT_MS, sessionTimeout: SESSION_MS, maxWaitTimeInMs: 100 }

  let nextWorker = 0
  const startWorker = () => createResponder({
    kafka: kafkaConfig(`cluster-worker-${++nextWorker}`, kafkaClusterBrokers),
    groupId: `${names.groupId}-worker`,
    handlers: { [names.requestTopic]: payload => payload },
    concurrency: 64,
    consumer
  })
  let nextApp = 0
  const startApp = () => startClusterApp(names, `cluster-app-${++nextApp}`, DEADLINE_MS, consumer)
  const workers: Responder[] = []
  const apps: FastifyInstance[] = []
  const closing: Array<Promise<void>> = []
  t.teardown(async () => {
    await Promise.allSettled([...closing, ...apps.map(app => app.close()), ...workers.map(w => w.close())])
  })
  for (let i = 0; i < WORKERS; i++) workers.push(await startWorker())
  for (let i = 0; i < REPLICAS; i++) apps.push(await startApp())

  const calls: Call[] = []
  let turn = 0
  const send = () => {
    const app = apps[turn++ % apps.length]
    const call: Call = { n: calls.length, sentAt: Date.now() }
    calls.push(call)
    app.inject({ method: 'POST', url: '/call', payload: { n: call.n } }).then(res => {
      call.endedAt = Date.now()
      call.status = res.statusCode
      call.own = res.statusCode === 200 && res.json().n === call.n
    }, () => { call.endedAt = Date.now() })
  }
  await waitFor('every replica to answer', async () => {
    const res = await Promise.all(apps.map(app => app.inject({ method: 'POST', url: '/call', payload: { n: -1 } })))
    return res.every(r => r.statusCode === 200)
  }, 60_000)
  const load = setInterval(send, RATE_MS)
  t.teardown(() => clearInterval(load))
  const started = Date.now()

  const steps: Step[] = []
  const step = async (what: string, run: () => Promise<void>) => {
    const from = Date.now()
    await run()
    steps.push({ what, from, to: Date.now() })
  }
  await sleep(QUIET_MS)
  for (let i = 0; i < REPLICAS; i++) {
    await step('replica', async () => {
      // Out of the rotation first, as a load balancer drains a pod; its waiting calls end 503.
      const [old] = apps.splice(0, 1)
      closing.push(old.close())
      apps.push(await startApp())
    })
  }
  await sleep(QUIET_MS)
  for (let i = 0; i < WORKERS; i++) {
    await step('worker', async () => {
      const [old] = workers.splice(0, 1)
      await old.close()
      workers.push(await startWorker())
    })
  }
  await sleep(QUIET_MS)
  clearInterval(load)
  await waitFor('every call to end', () => calls.every(c => c.endedAt !== undefined), DEADLINE_MS + 10_000).catch(() => {})
  await Promise.all(closing)

  const statuses: Record<string, number> = {}
  for (const c of calls) statuses[String(c.status ?? 'none')] = (statuses[String(c.status ?? 'none')] ?? 0) + 1
  t.equal(calls.filter(c => c.endedAt === undefined).length, 0, 'lost: 0 (every call ended)')
  t.equal(calls.filter(c => c.status === 200 && c.own !== true).length, 0, 'crossed: 0')
  t.same(Object.keys(statuses).filter(s => !['200', '503', '504'].includes(s)), [], `only 200, 503 and 504 (${JSON.stringify(statuses)})`)
  t.equal(steps.length, REPLICAS + WORKERS, 'every restart ran')

  const measured = steps.map(s => ({ ...s, ...measure(calls, s.from, s.to) }))
  const of = (what: string) => measured.filter(s => s.what === what)
  const result = {
    at: new Date(started).toISOString(),
    heartbeatMs: HEARTBEAT_MS,
    sessionTimeoutMs: SESSION_MS,
    statuses,
    quietPauseMs: measure(calls, started + 1000, started + QUIET_MS).pauseMs,
    replicaPausesMs: of('replica').map(s => s.pauseMs),
    replicaPhase: phase(calls, of('replica')),
    workerPausesMs: of('worker').map(s => s.pauseMs),
    workerPhase: phase(calls, of('worker'))
  }
  t.comment(JSON.stringify(result))
  mkdirSync(new URL('.', MEASUREMENTS), { recursive: true })
  appendFileSync(MEASUREMENTS, JSON.stringify(result) + '\n')

  // Closed while rejoining a group (every restart made the others rejoin), nothing of a replica or
  // a worker may keep running: no socket to a broker or Redis, no timer (a heartbeat) of its clients.
  await Promise.allSettled([...apps.map(app => app.close()), ...workers.map(w => w.close())])
  const ports = [...kafkaClusterBrokers.map(address => Number(address.split(':')[1])), Number(new URL(redisUrl).port || 6379)]
  await waitFor('nothing left running after close', () => leftBehind(ports).length === 0, 5000).catch(() => {})
  t.same(leftBehind(ports), [], `after close: no socket, no timer left (active resources: ${process.getActiveResourcesInfo().join(', ')})`)
})

/** The 504s and 503s of the calls sent from a phase's first step to a deadline after its last. */
function phase (calls: Call[], steps: Step[]): { 504: number, 503: number } {
  const sent = calls.filter(c => c.sentAt >= steps[0].from && c.sentAt < steps.at(-1)!.to + DEADLINE_MS)
  return { 504: sent.filter(c => c.status === 504).length, 503: sent.filter(c => c.status === 503).length }
}

/** Around one step (its start to a deadline after its end): the longest stretch in which no call ended 200. */
function measure (calls: Call[], from: number, to: number): { pauseMs: number } {
  const ends = calls.filter(c => c.status === 200 && c.endedAt! >= from && c.endedAt! <= to + DEADLINE_MS).map(c => c.endedAt!).sort((a, b) => a - b)
  let pauseMs = 0
  for (let i = 1; i < ends.length; i++) pauseMs = Math.max(pauseMs, ends[i] - ends[i - 1])
  return { pauseMs }
}
