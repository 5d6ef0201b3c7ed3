// npm run bench: every scenario against the same broker and Redis, with the same worker and load;
// `--repeat N` runs them all N times, interleaved, and reports the medians. Writes
// results/latest.{json,md,svg}; --quick and --only write results/quick/. --libraries runs the
// scenarios that compare the Kafka client libraries (on Node 24) and writes results/libraries/.
import { cpus, loadavg, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Kafka, logLevel } from 'kafkajs'
import { Redis } from 'ioredis'
import type * as Stack from '../stack/stack.mjs'
import { projectRoot } from '../app/demo/paths.js'
import { startChild } from '../app/demo/children.js'
import { RedisServer } from '../faults/lib/redis-server.js'
import { BODY, httpLoad, percentileMs, type LoadResult } from './lib/load.js'
import { brokerPid, cpuSeconds, machineBusySeconds, ownCpuSeconds, redisCommands, redisPid } from './lib/measure.js'
import { openAgent, openLoad } from './lib/open-loop.js'
import { writeResults, type OpenLoopBlock, type OpenLoopRun, type OutageFigures, type OutageRun, type RunFigures, type ScenarioResult } from './lib/report.js'
import { aggregate, aggregateOpenLoop, aggregateOutage } from './lib/stats.js'
import { eventLoopFigures } from './lib/event-loop.js'
import { optionCosts } from './lib/option-cost.js'
import { checkTargets } from './lib/targets.js'
import { scenarios } from './scenarios/index.js'
import { platformaticNodeProblem } from '../plugin/kafka/index.js'
import type { Running, Scenario, ScenarioContext } from './scenarios/types.js'

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    repeat: { type: 'string', default: '1' },
    rate: { type: 'string' },
    libraries: { type: 'boolean', default: false }
  }
})
const quick = args.quick === true
const durationS = quick ? 3 : positive('duration', args.duration)
const warmupS = quick ? 1 : Math.min(5, durationS)
const connections = positive('connections', args.connections)
const repeat = positive('repeat', args.repeat)
const IDLE_S = 2
const unloadedS = quick ? 1 : 5
/** The scenarios that compare the two Kafka client libraries, with the baseline their target uses. */
const LIBRARY_SCENARIOS = ['kafka-floor', 'http-kafka-bare', 'plugin-one-replica', 'plugin-affinity', 'plugin-redis']
const libraries = args.libraries === true
const only = libraries ? LIBRARY_SCENARIOS.flatMap(name => name === 'http-kafka-bare' ? [name] : [name, `${name}-platformatic`]) : args.only?.split(',')
// @platformatic/kafka needs Node >= 22.22 or >= 24.6: its scenarios run only where it can, so that
// both libraries are measured on one Node version (run the benchmarks on Node 24).
const platformaticProblem = platformaticNodeProblem(process.versions.node)
const runnable = (s: typeof scenarios[number]) => s.library !== '@platformatic/kafka' || platformaticProblem === undefined
const chosen = (only === undefined ? scenarios : scenarios.filter(s => only.includes(s.name))).filter(runnable)
if (chosen.length === 0) throw new Error(`--only names no scenario that runs here; there are: ${scenarios.filter(runnable).map(s => s.name).join(', ')}`)
if (platformaticProblem !== undefined && libraries) throw new Error(`--libraries compares kafkajs with @platformatic/kafka: ${platformaticProblem} (run it on Node 24)`)
if (platformaticProblem !== undefined) console.log(`  the -platformatic scenarios are left out: ${platformaticProblem}`)
/** The open loop's rate: --rate, or half of what plugin-redis answered in the first round. */
let openRate = args.rate === undefined ? undefined : positive('rate', args.rate)
let openBasis = 'set with --rate'
const OPEN_LOOP_SHARE = 0.5
/** The worker-outage scenarios' rate and where it came from, fixed the first time one runs (see measureOutage). */
let outageRate: { ratePerS: number, basis: string } | undefined
const cores = cpus().length

function positive (name: string, value: string | undefined): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} takes a whole number above 0, not ${value}`)
  return n
}

const stack = await import(pathToFileURL(join(projectRoot, 'stack/stack.mjs')).href) as typeof Stack
const { kafkaBrokers } = await stack.up({ log: line => console.log(`  ${line}`) })
// A redis-server of the benchmark's own: the machine's shared one also serves tests running
// meanwhile, whose commands would count as the scenario's (per request, while idle) and whose
// work would show in Redis's CPU time.
const redisServer = await RedisServer.start({ notifyKeyspaceEvents: 'K$' })
process.once('exit', () => { redisServer.kill().catch(() => {}) }) // the signal goes out at once, also when the run fails
const redisUrl = redisServer.url
console.log(`  redis-server of this run at ${redisServer.address}`)
const redis = new Redis(redisUrl)
const admin = new Kafka({ brokers: kafkaBrokers, clientId: 'bench-admin', logLevel: logLevel.WARN }).admin()
await admin.connect()
const run = randomBytes(3).toString('hex')

const ctx: ScenarioContext = {
  kafkaBrokers,
  redisUrl,
  unique: prefix => `${prefix}-${run}-${randomBytes(3).toString('hex')}`,
  createTopic: async (topic, partitions) => {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true })
  },
  start: (role, server, env) => startChild(role, join(import.meta.dirname, 'servers', `${server}.js`), {
    env: { KAFKA_BROKERS: kafkaBrokers.join(','), REDIS_URL: redisUrl, ...env }
  })
}

async function load (running: Running, seconds: number, concurrency = connections): Promise<LoadResult> {
  if (running.load !== undefined) {
    const started = performance.now()
    const result = await running.load({ connections: concurrency, durationMs: seconds * 1000 })
    const requests = result.latenciesUs.length + result.timeouts
    return { ...result, requests, sent: requests, non2xx: 0, durationS: (performance.now() - started) / 1000 }
  }
  return httpLoad(running.targets!, concurrency, seconds)
}

/**
 * Counts the CPU that the scenario's processes, this process (the load generator) and the whole
 * machine use while `work` runs; what the machine used beyond the first two is other work on it.
 */
async function cpuWindow<T> (pids: Record<string, number | undefined>, work: () => Promise<T>) {
  const before = Object.fromEntries(Object.entries(pids).map(([role, pid]) => [role, pid === undefined ? 0 : cpuSeconds(pid)]))
  const machineBefore = machineBusySeconds()
  const ownBefore = ownCpuSeconds()
  const started = performance.now()
  const result = await work()
  const wallS = (performance.now() - started) / 1000
  const own = ownCpuSeconds() - ownBefore
  const machine = machineBusySeconds() - machineBefore
  const cpu = Object.fromEntries(Object.entries(pids).map(([role, pid]) => [role, pid === undefined ? 0 : round(cpuSeconds(pid) - before[role], 2)]))
  const counted = Object.values(cpu).reduce((sum, s) => sum + s, 0) + own
  return { result, cpu, loadGeneratorCpuSeconds: round(own, 2), otherCpuShare: round(Math.max(0, machine - counted) / (cores * wallS), 3) }
}

async function measure (scenario: Scenario, roundNo: number): Promise<{ figures: RunFigures, open?: OpenLoopRun }> {
  console.log(`\n${scenario.name}${repeat > 1 ? ` (round ${roundNo} of ${repeat})` : ''}: ${scenario.description}`)
  const loadAverage = round2(loadavg()[0])
  const running = await scenario.start(ctx)
  try {
    await load(running, warmupS)
    await sleep(500) // let the warm-up's last replies drain
    const pids: Record<string, number | undefined> = Object.fromEntries(running.processes.map(p => [p.name, p.process.pid]))
    pids.broker = brokerPid(kafkaBrokers)
    pids.redis = await redisPid(redis)
    const commandsBefore = await redisCommands(redis)
    const { result, cpu, loadGeneratorCpuSeconds, otherCpuShare } = await cpuWindow(pids, () => load(running, durationS))
    await drained(running) // the calls still in flight when the load stopped finish their Redis traffic
    const commandsAfter = await redisCommands(redis)
    const idleFrom = commandsAfter
    await sleep(IDLE_S * 1000)
    const idle = await redisCommands(redis) - idleFrom
    const pluginStats = await running.stats?.()
    const unloaded = sortedUs((await load(running, unloadedS, 1)).latenciesUs)

    const sorted = sortedUs(result.latenciesUs)
    const answered = sorted.length
    const cpuTotal = Object.values(cpu).reduce((sum, s) => sum + s, 0)
    const figures: RunFigures = {
      round: roundNo,
      requestsPerSec: round1(answered / result.durationS),
      latency: {
        p50: percentileMs(sorted, 50),
        p97_5: percentileMs(sorted, 97.5),
        p99: percentileMs(sorted, 99),
        max: percentileMs(sorted, 100)
      },
      latencyUnloaded: { p50: percentileMs(unloaded, 50), p99: percentileMs(unloaded, 99) },
      requests: result.requests,
      errors: result.errors,
      timeouts: result.timeouts,
      non2xx: result.non2xx,
      cpuSeconds: cpu,
      requestsPerCpuSecond: round1(answered / cpuTotal),
      redisCommandsPerRequest: round((commandsAfter - commandsBefore) / Math.max(1, result.sent), 3),
      redisCommandsIdle: idle,
      loadGeneratorCpuSeconds,
      otherCpuShare,
      loadAverage,
      ...(pluginStats === undefined ? {} : { pluginStats })
    }
    const { latency: l } = figures
    console.log(`  ${figures.requestsPerSec} req/s, p50 ${l.p50} ms, p97.5 ${l.p97_5} ms, p99 ${l.p99} ms, max ${l.max} ms, ` +
      `1 connection: p50 ${figures.latencyUnloaded.p50} ms, p99 ${figures.latencyUnloaded.p99} ms, ` +
      `errors ${figures.errors + figures.timeouts}, non-2xx ${figures.non2xx}, ${figures.requestsPerCpuSecond} req per CPU-s, ` +
      `${figures.redisCommandsPerRequest} Redis cmds per req, ${idle} while idle; ` +
      `others used ${Math.round(otherCpuShare * 100)}% of the machine, load average ${loadAverage}; ` +
      `CPU-s ${Object.entries(cpu).map(([role, s]) => `${role} ${s}`).join(', ')}, load generator ${loadGeneratorCpuSeconds}`)

    if (scenario.name === 'plugin-redis' && openRate === undefined) {
      openRate = shareOf(figures.requestsPerSec)
      openBasis = `half of plugin-redis's ${Math.round(figures.requestsPerSec)} req/s in round 1, rounded to 50`
    }
    const open = scenario.openLoop === true && openRate !== undefined && running.targets !== undefined
      ? await measureOpenLoop(running.targets, openRate, pids, roundNo)
      : undefined
    return { figures, open }
  } finally {
    await running.stop()
  }
}

/**
 * Waits until no app of the scenario has a call pending (up to 10 s; a busy machine answers the
 * last calls of a run late), then a moment for their last Redis commands. Scenarios without the
 * plugin's counters get the moment alone.
 */
async function drained (running: Running): Promise<void> {
  const giveUp = performance.now() + 10_000
  while (running.stats !== undefined && performance.now() < giveUp) {
    const stats = Object.values(await running.stats()) as Array<{ pending?: number }>
    if (stats.every(s => (s.pending ?? 0) === 0)) break
    await sleep(100)
  }
  await sleep(500)
}

/** The open loop against a running scenario: a warm-up at the rate, then the measured run. */
async function measureOpenLoop (targets: string[], rate: number, pids: Record<string, number | undefined>, roundNo: number): Promise<OpenLoopRun> {
  await openLoad(targets, rate, warmupS)
  await sleep(500)
  const { result, otherCpuShare } = await cpuWindow(pids, () => openLoad(targets, rate, durationS))
  const sorted = sortedUs(result.latenciesUs)
  const lag = sortedUs(result.lagUs)
  const open: OpenLoopRun = {
    round: roundNo,
    requestsPerSec: round1(sorted.length / result.durationS),
    latency: { p50: percentileMs(sorted, 50), p99: percentileMs(sorted, 99), max: percentileMs(sorted, 100) },
    lagMs: { p50: percentileMs(lag, 50), p99: percentileMs(lag, 99) },
    sent: result.sent,
    errors: result.errors,
    non2xx: result.non2xx,
    otherCpuShare
  }
  console.log(`  open loop at ${rate} req/s: ${open.requestsPerSec} answered per s, p50 ${open.latency.p50} ms, p99 ${open.latency.p99} ms, ` +
    `max ${open.latency.max} ms, errors ${open.errors + open.non2xx}, generator lag p99 ${open.lagMs.p99} ms`)
  return open
}

/** The open loop's share of a closed loop's req/s, rounded to 50. */
function shareOf (requestsPerSec: number): number {
  return Math.max(50, Math.round((requestsPerSec * OPEN_LOOP_SHARE) / 50) * 50)
}

/**
 * A worker-outage scenario: the worker stopped, calls sent on schedule at the open loop's rate
 * (--rate, or half of plugin-redis's req/s when it ran first; otherwise half of what this
 * scenario's replica answers in a closed loop while the worker is still up), each due to end 504
 * at its deadline. Counts every ending, takes how late each 504 came as the generator saw it, and
 * what each process (CPU) and each replica's event loop did meanwhile.
 */
async function measureOutage (scenario: Scenario, { timeoutMs }: { timeoutMs: number }, roundNo: number): Promise<OutageRun> {
  console.log(`\n${scenario.name}${repeat > 1 ? ` (round ${roundNo} of ${repeat})` : ''}: ${scenario.description}`)
  const loadAverage = round2(loadavg()[0])
  const running = await scenario.start(ctx)
  try {
    const targets = running.targets!
    if (outageRate === undefined && openRate !== undefined) outageRate = { ratePerS: openRate, basis: openBasis }
    if (outageRate === undefined) {
      await load(running, warmupS)
      await sleep(500)
      const capacity = await load(running, durationS)
      const perS = capacity.latenciesUs.length / capacity.durationS
      outageRate = { ratePerS: shareOf(perS), basis: `half of the ${Math.round(perS)} req/s its replica answered in round 1 with the worker up, ${connections} connections, rounded to 50` }
      console.log(`  with the worker up: ${Math.round(perS)} req/s (${connections} connections)`)
    }
    const rate = outageRate.ratePerS
    await running.stopWorker!()
    const alive = running.processes.filter(p => p.process.exitCode === null && p.process.signalCode === null)
    const pids: Record<string, number | undefined> = Object.fromEntries(alive.map(p => [p.name, p.process.pid]))
    pids.broker = brokerPid(kafkaBrokers)
    pids.redis = await redisPid(redis)
    // The warm-up opens the connections the measured run goes on: a burst of new ones, accepted by a
    // busy replica, would overflow its listen backlog, and the calls whose handshake was dropped
    // would reach it a second or more late, which its deadline does not count and the generator does.
    const agent = openAgent()
    await openLoad(targets, rate, warmupS, { agent }) // the 504's path warmed up too
    await sleep(500)
    await Promise.all([running.eventLoop?.(), running.deadlines?.()]) // the replicas' readings start with the measured window
    const commandsBefore = await redisCommands(redis)
    const { result, cpu, loadGeneratorCpuSeconds, otherCpuShare } = await cpuWindow(pids, () => openLoad(targets, rate, durationS, { stamp: true, agent }))
    agent.destroy()
    const commandsAfter = await redisCommands(redis)
    const readings = await running.eventLoop?.() ?? {}
    const ended = await running.deadlines?.() ?? {}

    const late = sortedUs((result.otherLatenciesUs[504] ?? []).map(us => us - timeoutMs * 1000))
    const others: Record<string, number> = {}
    if (result.latenciesUs.length > 0) others['2xx'] = result.latenciesUs.length
    for (const [status, list] of Object.entries(result.otherLatenciesUs)) if (status !== '504') others[status] = list.length
    if (result.errors > 0) others.error = result.errors
    const lag = sortedUs(result.lagUs)
    const outage: OutageRun = {
      round: roundNo,
      sent: result.sent,
      timeouts: late.length,
      lateMs: { min: percentileMs(late, 0), p50: percentileMs(late, 50), p99: percentileMs(late, 99), max: percentileMs(late, 100) },
      lateBeyondTenth: late.filter(us => us > timeoutMs * 100).length,
      others,
      lagMs: { p50: percentileMs(lag, 50), p99: percentileMs(lag, 99) },
      connectionsOpened: result.connectionsOpened,
      cpuSeconds: cpu,
      loadGeneratorCpuSeconds,
      otherCpuShare,
      redisCommandsPerRequest: round((commandsAfter - commandsBefore) / Math.max(1, result.sent), 3),
      eventLoop: Object.fromEntries(Object.entries(readings).map(([app, reading]) => [app, eventLoopFigures(reading)])),
      replicaLateMs: Object.fromEntries(Object.entries(ended).filter(([, d]) => d.count > 0).map(([app, d]) => [app, { timer: d.timerLateMs, written: d.writtenLateMs, inbound: d.inboundMs }])),
      loadAverage
    }
    const { lateMs: l } = outage
    console.log(`  worker stopped, open loop at ${rate} req/s, ${timeoutMs} ms deadline: ${outage.sent} sent, ${outage.timeouts} 504s ` +
      `late by min ${l.min} ms, p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms (${outage.lateBeyondTenth} over ${timeoutMs / 10} ms); ` +
      `other endings ${JSON.stringify(others)}; generator lag p99 ${outage.lagMs.p99} ms, ${outage.connectionsOpened} connections opened; ${outage.redisCommandsPerRequest} Redis cmds per call; ` +
      `others used ${Math.round(otherCpuShare * 100)}% of the machine, load average ${loadAverage}; ` +
      `CPU-s ${Object.entries(cpu).map(([role, s]) => `${role} ${s}`).join(', ')}, load generator ${loadGeneratorCpuSeconds}`)
    for (const [app, { timer, written, inbound }] of Object.entries(outage.replicaLateMs)) {
      console.log(`  ${app} ended its 504s late by p50 ${timer.p50} ms, p99 ${timer.p99} ms, max ${timer.max} ms, and wrote them late by p50 ${written.p50} ms, p99 ${written.p99} ms, max ${written.max} ms; ` +
        `their calls reached it p50 ${inbound.p50} ms, p99 ${inbound.p99} ms, max ${inbound.max} ms after the generator sent them`)
    }
    for (const [app, e] of Object.entries(outage.eventLoop)) {
      console.log(`  ${app} event loop: delay p50 ${e.delayMs.p50} ms, p99 ${e.delayMs.p99} ms, max ${e.delayMs.max} ms, utilization ${e.utilization}; ` +
        `per second (as under-pressure reads it): mean delay ${e.perSecond?.delayMs.join(' ')} ms, utilization ${e.perSecond?.utilization.join(' ')}`)
    }
    return outage
  } finally {
    await running.stop()
  }
}

function sortedUs (values: number[]): number[] {
  return Array.from(Float64Array.from(values).sort())
}

const round1 = (n: number) => round(n, 1)
const round2 = (n: number) => round(n, 2)

function round (n: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}

const runs = new Map<string, RunFigures[]>(chosen.map(s => [s.name, []]))
const openRuns = new Map<string, OpenLoopRun[]>()
const outageRuns = new Map<string, OutageRun[]>()
/** Runs that failed (a server that did not start in time on a busy machine, say): left out of the medians. */
const failed: Array<{ scenario: string, round: number, error: string }> = []
const info = await redis.info('server')
const loadBefore = loadavg().map(round2)
// A quick or partial run does not replace the committed results of a full one.
const out = join(projectRoot, 'benchmarks', 'results', ...(libraries ? ['libraries'] : quick || only !== undefined ? ['quick'] : []))

/** Aggregates the runs so far and writes the results: after every round, so a cut-short run still leaves its figures. */
function report (rounds: number) {
  const results: ScenarioResult[] = chosen.filter(s => runs.get(s.name)!.length > 0).map(s => aggregate(s.name, s.description, runs.get(s.name)!))
  const openLoop: OpenLoopBlock | undefined = openRate === undefined || openRuns.size === 0
    ? undefined
    : { ratePerS: openRate, basis: openBasis, durationS, warmupS, scenarios: [...openRuns].map(([name, list]) => aggregateOpenLoop(name, list)) }
  const workerOutage: OutageFigures[] = chosen.filter(s => (outageRuns.get(s.name)?.length ?? 0) > 0).map(s => aggregateOutage({
    name: s.name,
    description: s.description,
    ratePerS: outageRate!.ratePerS,
    basis: outageRate!.basis,
    timeoutMs: s.workerOutage!.timeoutMs,
    durationS,
    warmupS
  }, outageRuns.get(s.name)!))
  const targets = checkTargets(results)
  const costs = optionCosts(results)
  const cpu = cpus()
  writeResults(out, {
    machine: {
      cpu: cpu[0]?.model,
      cores: cpu.length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      kafka: '4.4.0 (single-node KRaft, stack/)',
      redis: `${/redis_version:(\S+)/.exec(info)?.[1] ?? '?'} (a redis-server of the run's own)`,
      date: new Date().toISOString(),
      loadAverage: { before: loadBefore, after: loadavg().map(round2) }
    },
    config: { connections, pipelining: 1, durationS, warmupS, unloadedS, repeat: rounds, ...(rounds < repeat ? { repeatAsked: repeat } : {}), body: BODY, worker: 'responder, no work', quick },
    scenarios: results,
    ...(openLoop === undefined ? {} : { openLoop }),
    ...(workerOutage.length === 0 ? {} : { workerOutage }),
    targets,
    ...(costs.length === 0 ? {} : { optionCosts: costs }),
    ...(failed.length === 0 ? {} : { failed })
  })
  return { results, openLoop, workerOutage, targets, costs }
}

try {
  for (let r = 1; r <= repeat; r++) {
    for (const scenario of chosen) {
      try {
        if (scenario.workerOutage !== undefined) {
          outageRuns.set(scenario.name, [...outageRuns.get(scenario.name) ?? [], await measureOutage(scenario, scenario.workerOutage, r)])
          continue
        }
        const { figures, open } = await measure(scenario, r)
        runs.get(scenario.name)!.push(figures)
        if (open !== undefined) openRuns.set(scenario.name, [...openRuns.get(scenario.name) ?? [], open])
      } catch (err) {
        console.log(`  FAILED: ${(err as Error).message}`)
        failed.push({ scenario: scenario.name, round: r, error: (err as Error).message.split('\n')[0] })
      }
    }
    if (r < repeat) report(r)
  }
} finally {
  await admin.disconnect()
  redis.disconnect()
  await redisServer.kill()
}
const { results, openLoop, workerOutage, targets, costs } = report(repeat)
const loadAfter = loadavg().map(round2)
if (openLoop === undefined && chosen.some(s => s.openLoop === true)) console.log('\nNo open loop: it needs plugin-redis in the run, or --rate.')

if (repeat > 1) {
  console.log(`\nMedians of ${repeat} runs:`)
  for (const s of results) console.log(`  ${s.name}: ${Math.round(s.requestsPerSec)} req/s, p50 ${s.latency.p50} ms, p99 ${s.latency.p99} ms, 1 connection p50 ${s.latencyUnloaded.p50} ms`)
  for (const s of openLoop?.scenarios ?? []) console.log(`  ${s.name}, open loop at ${openLoop!.ratePerS} req/s: p50 ${s.latency.p50} ms, p99 ${s.latency.p99} ms`)
  for (const o of workerOutage) console.log(`  ${o.name} at ${o.ratePerS} req/s: ${o.timeouts} 504s late by p50 ${o.lateMs.p50} ms, p99 ${o.lateMs.p99} ms, max ${o.lateMs.max} ms`)
}
console.log(`\nLoad average: ${loadBefore.join(', ')} before, ${loadAfter.join(', ')} after`)
console.log(`\nTargets (ratios within this run${repeat > 1 ? ', on the medians' : ''}):`)
for (const check of targets) console.log(`  ${check.met ? 'met    ' : 'NOT MET'}  ${check.target}: ${check.measured}`)
if (costs.length > 0) console.log(`\nWhat an option on every call costs (with it over without${repeat > 1 ? ', on the medians' : ''}):`)
for (const k of costs) {
  console.log(`  ${k.option}: ${k.withOption} / ${k.without}: req/s ${k.ratios.requestsPerSec} x, p50 ${k.ratios.p50} x, p99 ${k.ratios.p99} x, 1 connection p50 ${k.ratios.unloadedP50} x, ` +
    `req per CPU-s ${k.ratios.requestsPerCpuSecond} x, Redis cmds per req ${k.redisCommandsPerRequest.withOption} vs ${k.redisCommandsPerRequest.without}`)
}
for (const f of failed) console.log(`FAILED  ${f.scenario}, round ${f.round}: ${f.error}`)
console.log(`\nwrote ${join(out, 'latest.json')}, latest.md and latest.svg`)
process.exit(failed.length === 0 ? 0 : 1)
