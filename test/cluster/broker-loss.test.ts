// A broker of the 3-node cluster SIGKILLed under load, once per role: the reply partition's leader,
// the request partition's leader, the reply group's coordinator. Each role sits on its own broker.
// The assertions are counts; the recovery times are measured and written to .tap/cluster-broker-loss.jsonl
// (every run, appended) and test/cluster/results/ (each library's latest run, and broker-loss.md, the
// two side by side, which the docs include).
import t from 'tap'
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { Kafka, logLevel, type Admin } from 'kafkajs'
import { createResponder, type Responder } from '../../plugin/responder/index.js'
import {
  clusterAdmin, coordinatorOf, createPlacedTopic, kafkaClusterBrokers, kafkaNodeAddress, killKafkaNode,
  leadersOf, offsetsPartitionOf, otherNodes, restartKafkaNode, startClusterApp, type ClusterNames
} from '../helpers/cluster.js'
import { kafkaConfig, kafkaLibrary, redisUrl, uniqueName } from '../helpers/stack.js'
import { waitFor } from '../helpers/wait.js'
import { leftBehind, trackTimers } from '../helpers/leaks.js'

// Where every timer is made, so that what is left after close() can be told apart from tap's own.
trackTimers()

type Role = 'reply-leader' | 'request-leader' | 'coordinator'

const RATE_MS = 25 // 40 calls a second, alternating between the two replicas
const DEADLINE_MS = 4000
const MEASUREMENTS = new URL('../../.tap/cluster-broker-loss.jsonl', import.meta.url)
const RESULTS = new URL('./results/', import.meta.url)

interface Measured {
  role: Role
  victim: number
  at: string
  electedAfterKillMs: number
  resumedAfterKillMs: number
  statuses: Record<string, number>
  medianMsBefore: number
  medianMsAfterReturn: number
}
const measuredRuns: Measured[] = []
const librarySlug = kafkaLibrary.replace(/^@platformatic\/kafka$/, 'platformatic')

// Once every role ran: this run's figures (results/broker-loss-<library>.json), and the table of
// the latest run of each library side by side (results/broker-loss.md, which the docs include).
t.teardown(() => {
  if (measuredRuns.length === 0) return
  mkdirSync(RESULTS, { recursive: true })
  const run = { library: kafkaLibrary, node: process.version, date: new Date().toISOString().slice(0, 10), rows: measuredRuns }
  writeFileSync(new URL(`broker-loss-${librarySlug}.json`, RESULTS), JSON.stringify(run, null, 2) + '\n')
  const runs = ['kafkajs', 'platformatic'].flatMap(slug => {
    try {
      return [JSON.parse(readFileSync(new URL(`broker-loss-${slug}.json`, RESULTS), 'utf8')) as typeof run]
    } catch {
      return []
    }
  })
  const rows = runs.flatMap(r => r.rows.map(m => `| ${m.role} | ${r.library} | ${m.electedAfterKillMs} | ${m.resumedAfterKillMs} | ${m.statuses['504'] ?? 0} | ${m.statuses['503'] ?? 0} | ${m.statuses['200'] ?? 0} | ${m.medianMsBefore} / ${m.medianMsAfterReturn} |`))
    .sort()
  writeFileSync(new URL('broker-loss.md', RESULTS), [
    '# Broker loss on the 3-node cluster',
    '',
    'Written by `npm run test:cluster` (test/cluster/broker-loss.test.ts), the latest run of each library:',
    ...runs.map(r => `- ${r.library}: ${r.date}, Node ${r.node}`),
    '',
    `Two replicas and one worker, ${1000 / RATE_MS} calls/s, ${DEADLINE_MS} ms deadline; one broker SIGKILLed per role, brought back once calls were answered again.`,
    'Times in ms from the kill; "resumed" is when calls sent after the kill were answered again.',
    '',
    '| broker killed | library | election after the kill | answers resumed after the kill | 504s | 503s | 200s | median ms before the kill / after the return |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
    ''
  ].join('\n'))
})

interface Call { n: number, app: number, sentAt: number, endedAt?: number, status?: number, own?: boolean }

/** The node holding the role, and where the other partitions and the coordinator go. */
interface Placement { victim: number, replyLeaders: number[], requestLeaders: number[], coordinator: number }

async function place (admin: Admin, role: Role): Promise<Placement & { groupId: string }> {
  const offsetsLeaders = await leadersOf(admin, '__consumer_offsets')
  // A group id whose offsets partition has the same leader as the worker's (`<id>-worker`): that
  // leader coordinates both groups. The two partitions are not independent (the ids share a
  // prefix, so their hashes' parity differs by a fixed amount): a node that leads only even
  // partitions can never coordinate both, so the coordinator is found from the ids, not chosen.
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const groupId = uniqueName('group')
    const coordinator = offsetsLeaders[offsetsPartitionOf(groupId, offsetsLeaders.length)]
    if (offsetsLeaders[offsetsPartitionOf(`${groupId}-worker`, offsetsLeaders.length)] !== coordinator) continue
    const [a, b] = otherNodes(coordinator)
    // Each partition of a topic on its own broker; the victim holds only its role.
    const placement: Placement = role === 'reply-leader'
      ? { victim: a, replyLeaders: [a, b], requestLeaders: [b, coordinator], coordinator }
      : role === 'request-leader'
        ? { victim: a, replyLeaders: [b, coordinator], requestLeaders: [a, b], coordinator }
        : { victim: coordinator, replyLeaders: [a, b], requestLeaders: [b, a], coordinator }
    return { ...placement, groupId }
  }
  throw new Error(`no group id found whose group and worker's group share a coordinator (offsets partitions led by ${offsetsLeaders.join(',')})`)
}

const startApp = (names: ClusterNames, clientId: string) =>
  startClusterApp(names, clientId, DEADLINE_MS, { heartbeatInterval: 500, sessionTimeout: 10_000, maxWaitTimeInMs: 100 })

function timeline (calls: Call[], from: number): string {
  const seconds: Array<[number, number]> = []
  for (const c of calls) {
    if (c.sentAt < from) continue
    const s = Math.floor((c.sentAt - from) / 1000)
    seconds[s] ??= [0, 0]
    seconds[s][0]++
    if (c.status === 200) seconds[s][1]++
  }
  return Array.from(seconds, (counts = [0, 0]) => `${counts[1]}/${counts[0]}`).join(' ')
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)]
}

const roles: Array<[Role, string]> = [
  ['reply-leader', 'the broker leading the reply partition'],
  ['request-leader', 'the broker leading the request partition'],
  ['coordinator', 'the broker coordinating the reply group (and the worker\'s group)']
]

for (const [role, what] of roles) {
  t.test(`${what} is SIGKILLed under load: 0 crossed, 0 lost, only 200/503/504, every call answered again`, async t => {
    const admin = await clusterAdmin()
    const { victim, replyLeaders, requestLeaders, coordinator, groupId } = await place(admin, role)
    const names = { requestTopic: uniqueName('req'), replyTopic: uniqueName('reply'), groupId, keyPrefix: uniqueName('kr') }
    await createPlacedTopic(admin, names.replyTopic, replyLeaders)
    await createPlacedTopic(admin, names.requestTopic, requestLeaders)
    t.comment(`placement: reply partitions led by ${replyLeaders.join(',')}, request partitions by ${requestLeaders.join(',')}, ` +
      `groups coordinated by ${await coordinatorOf(admin, groupId)} (wanted ${coordinator}); victim node ${victim}`)
    await admin.disconnect()

    const worker: Responder = await createResponder({
      kafka: kafkaConfig('cluster-worker', kafkaClusterBrokers),
      groupId: `${groupId}-worker`,
      handlers: { [names.requestTopic]: payload => payload },
      consumer: { heartbeatInterval: 500, maxWaitTimeInMs: 100 }
    })
    const apps = [await startApp(names, 'cluster-app-0'), await startApp(names, 'cluster-app-1')]
    let closed = false
    const closeAll = async () => {
      if (closed) return
      closed = true
      await Promise.all([...apps.map(app => app.close()), worker.close()])
    }
    t.teardown(closeAll)

    const calls: Call[] = []
    const send = (app: number) => {
      const call: Call = { n: calls.length, app, sentAt: Date.now() }
      calls.push(call)
      apps[app].inject({ method: 'POST', url: '/call', payload: { n: call.n } }).then(res => {
        call.endedAt = Date.now()
        call.status = res.statusCode
        call.own = res.statusCode === 200 && res.json().n === call.n
      }, () => { call.endedAt = Date.now() })
    }
    // Warm: every partition has been produced to and replied on.
    await waitFor('the replicas to answer', async () => {
      const res = await Promise.all(apps.map(app => app.inject({ method: 'POST', url: '/call', payload: { n: -1 } })))
      return res.every(r => r.statusCode === 200)
    }, 30_000)
    let sent = 0
    const load = setInterval(() => send(sent++ % 2), RATE_MS)
    t.teardown(() => clearInterval(load))

    await sleep(3000)
    const survivors = kafkaClusterBrokers.filter(address => address !== kafkaNodeAddress(victim))
    const { killedAt } = await killKafkaNode(victim)
    let restarted = false
    t.teardown(async () => { if (!restarted) await restartKafkaNode(victim) })

    // When Kafka moved the role away from the victim, as a client of the survivors sees it.
    const survivorsAdmin = new Kafka({ clientId: 'test-cluster-watcher', brokers: survivors, logLevel: logLevel.NOTHING }).admin()
    await survivorsAdmin.connect()
    const moved = async () => {
      if (role === 'coordinator') return (await coordinatorOf(survivorsAdmin, groupId)) !== victim
      const leaders = await leadersOf(survivorsAdmin, role === 'reply-leader' ? names.replyTopic : names.requestTopic)
      return leaders[0] !== victim
    }
    await waitFor('Kafka to elect a new leader or coordinator', async () => moved().catch(() => false), 30_000)
    const electedAt = Date.now()
    await survivorsAdmin.disconnect()
    t.comment(`node ${victim} killed; Kafka moved the ${role} ${electedAt - killedAt} ms later`)

    // Answered again: 3 s of calls, all 200, sent after the election (or give up 40 s after it).
    const answeredAgain = () => {
      const recent = calls.filter(c => c.sentAt >= electedAt && c.sentAt <= Date.now() - DEADLINE_MS - 500)
      const last = recent.filter(c => c.sentAt >= Date.now() - DEADLINE_MS - 3500)
      return last.length > 50 && last.every(c => c.status === 200)
    }
    await waitFor('calls to be answered again', answeredAgain, 40_000).catch(() => {})
    const restartFrom = Date.now()
    const { readyAt } = await restartKafkaNode(victim)
    restarted = true
    await sleep(4000)
    clearInterval(load)
    await waitFor('every call to end', () => calls.every(c => c.endedAt !== undefined), DEADLINE_MS + 10_000).catch(() => {})

    const statuses: Record<string, number> = {}
    for (const c of calls) statuses[String(c.status ?? 'none')] = (statuses[String(c.status ?? 'none')] ?? 0) + 1
    t.equal(calls.filter(c => c.endedAt === undefined).length, 0, 'lost: 0 (every call ended)')
    t.equal(calls.filter(c => c.status === 200 && c.own !== true).length, 0, 'crossed: 0')
    t.same(Object.keys(statuses).filter(s => !['200', '503', '504'].includes(s)), [], `only 200, 503 and 504 (${JSON.stringify(statuses)})`)
    // A reply for a replica whose member was rejoining (its session expired while the coordinator
    // was away) must still be handed over, not skipped as one for an unknown instance.
    t.same(apps.map(app => app.kafkaReply.stats().malformed), [0, 0], 'no reply skipped as malformed')

    const afterKill = calls.filter(c => c.sentAt >= killedAt && c.sentAt < restartFrom)
    const failed = afterKill.filter(c => c.status !== 200)
    const resumedAt = failed.length === 0 ? killedAt : (calls.find(c => c.n > failed.at(-1)!.n)?.sentAt ?? NaN)
    const beforeRestart = calls.filter(c => c.sentAt >= restartFrom - 2000 && c.sentAt < restartFrom)
    t.ok(beforeRestart.length > 0 && beforeRestart.every(c => c.status === 200), 'answered again before the node came back: every call of the last 2 s answered')
    const returned = calls.filter(c => c.sentAt >= readyAt)
    t.ok(returned.length > 0 && returned.every(c => c.status === 200), `after the node came back: all ${returned.length} calls answered`)
    if (role !== 'coordinator') {
      const during = calls.filter(c => c.sentAt >= killedAt && c.sentAt < electedAt && c.status === 200)
      t.ok(during.length > 0, `before the new leader: ${during.length} calls answered through the partitions that kept their leader`)
    }

    const check = await clusterAdmin('test-cluster-check')
    const { groups } = await check.describeGroups([groupId, `${groupId}-worker`])
    await check.disconnect()
    const group = (id: string) => groups.find(g => g.groupId === id)
    t.same([group(groupId)?.state, group(groupId)?.members.length], ['Stable', 2], 'the reply group is stable, both replicas in it')
    t.same([group(`${groupId}-worker`)?.state, group(`${groupId}-worker`)?.members.length], ['Stable', 1], 'the worker\'s group is stable, the worker in it')

    const latency = (list: Call[]) => median(list.filter(c => c.status === 200).map(c => c.endedAt! - c.sentAt))
    const measured = {
      role,
      victim,
      at: new Date(killedAt).toISOString(),
      electedAfterKillMs: electedAt - killedAt,
      resumedAfterElectionMs: resumedAt - electedAt,
      resumedAfterKillMs: resumedAt - killedAt,
      statuses,
      medianMsBefore: latency(calls.filter(c => c.sentAt >= killedAt - 2000 && c.sentAt < killedAt)),
      medianMsAfterReturn: latency(returned),
      // Per second from the kill: calls sent, and how many of them were answered 200.
      timeline: timeline(calls, killedAt)
    }
    t.comment(JSON.stringify(measured))
    measuredRuns.push(measured)
    mkdirSync(new URL('.', MEASUREMENTS), { recursive: true })
    appendFileSync(MEASUREMENTS, JSON.stringify(measured) + '\n')

    await closeAll()
    // Nothing of the replicas or the worker may keep the process alive once they are closed, also
    // after a broker died and came back (kafkajs's connections to a broker its metadata dropped
    // included): no socket to a broker or to Redis, no timer of the plugin or its clients.
    const ports = [...kafkaClusterBrokers.map(address => Number(address.split(':')[1])), Number(new URL(redisUrl).port || 6379)]
    await waitFor('nothing left running after close', () => leftBehind(ports).length === 0, 5000).catch(() => {})
    t.same(leftBehind(ports), [], `after close: no socket, no timer left (active resources: ${process.getActiveResourcesInfo().join(', ')})`)
  })
}
