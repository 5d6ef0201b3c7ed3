// npm run bench: every scenario, one after the other, against the same broker and Redis, with
// the same worker and load. Writes results/latest.{json,md,svg}; --quick writes results/quick/.
import { cpus, totalmem } from 'node:os'
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
import { BODY, httpLoad, percentileMs, type LoadResult } from './lib/load.js'
import { brokerPid, cpuSeconds, redisCommands, redisPid } from './lib/measure.js'
import { writeResults, type ScenarioResult } from './lib/report.js'
import { checkTargets } from './lib/targets.js'
import { scenarios } from './scenarios/index.js'
import type { Running, Scenario, ScenarioContext } from './scenarios/types.js'

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' }
  }
})
const quick = args.quick === true
const durationS = quick ? 3 : positive('duration', args.duration)
const warmupS = quick ? 1 : Math.min(5, durationS)
const connections = positive('connections', args.connections)
const IDLE_S = 2
const unloadedS = quick ? 1 : 5
const only = args.only?.split(',')
const chosen = only === undefined ? scenarios : scenarios.filter(s => only.includes(s.name))
if (chosen.length === 0) throw new Error(`--only names no scenario; there are: ${scenarios.map(s => s.name).join(', ')}`)

function positive (name: string, value: string | undefined): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} takes a whole number above 0, not ${value}`)
  return n
}

const stack = await import(pathToFileURL(join(projectRoot, 'stack/stack.mjs')).href) as typeof Stack
const { kafkaBrokers, redisUrl } = await stack.up({ log: line => console.log(`  ${line}`) })
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

async function measure (scenario: Scenario): Promise<ScenarioResult> {
  console.log(`\n${scenario.name}: ${scenario.description}`)
  const running = await scenario.start(ctx)
  try {
    await load(running, warmupS)
    await sleep(500) // let the warm-up's last replies drain
    const pids: Record<string, number | undefined> = Object.fromEntries(running.processes.map(p => [p.name, p.process.pid]))
    pids.broker = brokerPid()
    pids.redis = await redisPid(redis)
    const cpuBefore = Object.fromEntries(Object.entries(pids).map(([role, pid]) => [role, pid === undefined ? 0 : cpuSeconds(pid)]))
    const commandsBefore = await redisCommands(redis)
    const result = await load(running, durationS)
    const cpu = Object.fromEntries(Object.entries(pids).map(([role, pid]) => [role, pid === undefined ? 0 : round(cpuSeconds(pid) - cpuBefore[role], 2)]))
    await sleep(500) // the calls still in flight when the load stopped finish their Redis traffic
    const commandsAfter = await redisCommands(redis)
    const idleFrom = commandsAfter
    await sleep(IDLE_S * 1000)
    const idle = await redisCommands(redis) - idleFrom
    const pluginStats = await running.stats?.()
    const unloaded = Float64Array.from((await load(running, unloadedS, 1)).latenciesUs).sort() as unknown as number[]

    const sorted = Float64Array.from(result.latenciesUs).sort()
    const answered = sorted.length
    const cpuTotal = Object.values(cpu).reduce((sum, s) => sum + s, 0)
    const figures: ScenarioResult = {
      name: scenario.name,
      description: scenario.description,
      requestsPerSec: round(answered / result.durationS, 1),
      latency: {
        p50: percentileMs(sorted as unknown as number[], 50),
        p97_5: percentileMs(sorted as unknown as number[], 97.5),
        p99: percentileMs(sorted as unknown as number[], 99),
        max: percentileMs(sorted as unknown as number[], 100)
      },
      latencyUnloaded: { p50: percentileMs(unloaded, 50), p99: percentileMs(unloaded, 99) },
      requests: result.requests,
      errors: result.errors,
      timeouts: result.timeouts,
      non2xx: result.non2xx,
      cpuSeconds: cpu,
      requestsPerCpuSecond: round(answered / cpuTotal, 1),
      redisCommandsPerRequest: round((commandsAfter - commandsBefore) / Math.max(1, result.sent), 3),
      redisCommandsIdle: idle,
      ...(pluginStats === undefined ? {} : { pluginStats })
    }
    const { latency: l } = figures
    console.log(`  ${figures.requestsPerSec} req/s, p50 ${l.p50} ms, p97.5 ${l.p97_5} ms, p99 ${l.p99} ms, max ${l.max} ms, ` +
      `1 connection: p50 ${figures.latencyUnloaded.p50} ms, p99 ${figures.latencyUnloaded.p99} ms, ` +
      `errors ${figures.errors + figures.timeouts}, non-2xx ${figures.non2xx}, ${figures.requestsPerCpuSecond} req per CPU-s, ` +
      `${figures.redisCommandsPerRequest} Redis cmds per req, ${idle} while idle`)
    return figures
  } finally {
    await running.stop()
  }
}

function round (n: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}

const results: ScenarioResult[] = []
const info = await redis.info('server')
try {
  for (const scenario of chosen) results.push(await measure(scenario))
} finally {
  await admin.disconnect()
  redis.disconnect()
}

const cpu = cpus()
const out = join(projectRoot, 'benchmarks', 'results', ...(quick ? ['quick'] : []))
writeResults(out, {
  machine: {
    cpu: cpu[0]?.model,
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kafka: '4.4.0 (single-node KRaft, stack/)',
    redis: /redis_version:(\S+)/.exec(info)?.[1],
    date: new Date().toISOString()
  },
  config: { connections, pipelining: 1, durationS, warmupS, unloadedS, body: BODY, worker: 'responder, no work', quick },
  scenarios: results
})

console.log('\nTargets (ratios within this run):')
for (const check of checkTargets(results)) console.log(`  ${check.met ? 'met    ' : 'NOT MET'}  ${check.target}: ${check.measured}`)
console.log(`\nwrote ${join(out, 'latest.json')}, latest.md and latest.svg`)
process.exit(0)
