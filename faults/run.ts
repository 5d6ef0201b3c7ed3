// npm run test:faults: steady load through the reference app and worker, each scenario breaking
// something. Prints a table, writes results/latest.{json,md}, exits 1 when a scenario failed.
import { randomBytes } from 'node:crypto'
import { join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Kafka, logLevel, type Admin } from 'kafkajs'
import { Redis } from 'ioredis'
import type * as Stack from '../stack/stack.mjs'
import { projectRoot } from '../app/demo/paths.js'
import { FAULT_SHARE, STEADY_SHARE, parseOptions } from './lib/options.js'
import { LEGEND, textTable, writeLibraryComparison, writeResults, type ScenarioResult } from './lib/report.js'
import { killEverything, measureCapacity, runScenario, type SuiteContext, type SuiteKafka } from './lib/run-scenario.js'
import { scenarios } from './scenarios/index.js'

const options = parseOptions(process.argv.slice(2), scenarios.map(s => s.name))
// The replicas and the worker read it (the reference services' KAFKA_LIBRARY); children inherit it.
process.env.KAFKA_LIBRARY = options.library
const chosen = scenarios.filter(s => options.only === undefined || options.only.includes(s.name))
const started = performance.now()
const startedAt = new Date().toISOString()

// A scenario that hangs must not leave children behind: give up on the whole suite.
const WATCHDOG_MS = chosen.length * (options.durationMs + 120_000) + 120_000
const watchdog = setTimeout(() => {
  console.error(`faults: not done after ${WATCHDOG_MS / 1000} s, killing every child`)
  killEverything()
  process.exit(1)
}, WATCHDOG_MS)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killEverything()
    process.exit(130)
  })
}

const stack = await import(pathToFileURL(join(projectRoot, 'stack/stack.mjs')).href) as typeof Stack
const onCluster = chosen.some(s => s.kafkaCluster === true)
const { kafkaBrokers, redisUrl, kafkaCluster } = await stack.up({ log: line => console.log(`  ${line}`), cluster: onCluster })
const redis = new Redis(redisUrl)
const admin = new Kafka({ brokers: kafkaBrokers, clientId: 'faults-admin', logLevel: logLevel.WARN }).admin()
await admin.connect()
const clusterAdmin = kafkaCluster === undefined ? undefined : new Kafka({ brokers: kafkaCluster.brokers, clientId: 'faults-admin', logLevel: logLevel.WARN }).admin()
await clusterAdmin?.connect()

// The Redis Cluster only when a chosen scenario runs on it.
const redisCluster = chosen.some(s => s.redisCluster === true)
  ? await stack.upRedisClusterOnly({ log: line => console.log(`  ${line}`) })
  : undefined

const admins = [admin]
const topicCreator = (client: Admin): SuiteContext['createTopics'] => async topics => {
  await client.createTopics({ topics: topics.map(([topic, numPartitions]) => ({ topic, numPartitions })), waitForLeaders: true })
}
let noAutoCreate: Promise<SuiteKafka> | undefined
const suite: SuiteContext = {
  kafkaBrokers,
  redisUrl,
  redis,
  createTopics: topicCreator(admin),
  noAutoCreateKafka: () => {
    noAutoCreate ??= stack.upNoAutoCreate({ log: line => console.log(`  ${line}`) }).then(async ({ kafkaBrokers }) => {
      const other = new Kafka({ brokers: kafkaBrokers, clientId: 'faults-admin', logLevel: logLevel.WARN }).admin()
      await other.connect()
      admins.push(other)
      return { kafkaBrokers, createTopics: topicCreator(other) }
    })
    return noAutoCreate
  },
  kafkaCluster: clusterAdmin === undefined
    ? undefined
    : {
        brokers: kafkaCluster!.brokers,
        createTopics: async topics => {
          await clusterAdmin.createTopics({ topics: topics.map(([topic, numPartitions]) => ({ topic, numPartitions })), waitForLeaders: true })
        }
      },
  runId: randomBytes(3).toString('hex'),
  capacity: undefined,
  rate: options.rate,
  durationMs: options.durationMs,
  timeoutMs: options.timeoutMs,
  replicas: 2,
  logLevel: options.logLevel,
  logs: options.logs,
  ...(redisCluster === undefined
    ? {}
    : {
        redisCluster: {
          urls: redisCluster.nodes.map(node => `redis://${node.address}`),
          kill: (port: number) => stack.killRedisClusterNode(port),
          start: (port: number) => stack.startRedisClusterNode(port, { log: line => console.log(`  ${line}`) })
        }
      })
}
let capacity: Awaited<ReturnType<typeof measureCapacity>> | undefined
// Scenarios with a fixed rate of their own need no capacity figure.
if (options.rate === undefined && chosen.some(s => s.fixedRate === undefined)) {
  console.log('faults: measuring the capacity (closed loop, 512 clients, reply affinity off)')
  capacity = await measureCapacity(suite)
  suite.capacity = capacity.rate
  console.log(`faults: capacity ${capacity.rate.toFixed(0)} req/s (${capacity.failed} of ${capacity.ended} not answered 200); steady load at ${STEADY_SHARE * 100}% of it, faults at ${FAULT_SHARE * 100}%`)
}
console.log(`faults: ${chosen.map(s => s.name).join(', ')}; ${options.durationMs / 1000} s of load each, deadline ${options.timeoutMs} ms, run ${suite.runId}`)

const results: ScenarioResult[] = []
try {
  for (const scenario of chosen) results.push(await runScenario(scenario, suite))
} finally {
  await Promise.all(admins.map(client => client.disconnect()))
  await clusterAdmin?.disconnect()
  redis.disconnect()
  clearTimeout(watchdog)
}

const wallS = (performance.now() - started) / 1000
const { only: _only, logs: _logs, ...config } = options
// A --quick or partial run does not replace the committed results of a full one; a full run on
// @platformatic/kafka writes results/platformatic/.
const resultsDir = join(projectRoot, 'faults', 'results', options.quick || options.only !== undefined ? 'quick' : options.library === 'kafkajs' ? '' : 'platformatic')
writeResults(resultsDir, {
  startedAt,
  wallS,
  config: { ...config, node: process.version, capacity, durationS: options.durationMs / 1000, replicas: suite.replicas },
  scenarios: results
})
if (resultsDir !== join(projectRoot, 'faults', 'results', 'quick')) writeLibraryComparison(join(projectRoot, 'faults', 'results'))
console.log(`\n${textTable(results)}\n\n${LEGEND.join('\n')}`)
const failed = results.filter(r => !r.passed)
console.log(failed.length === 0
  ? `\nfaults: all ${results.length} scenarios passed in ${wallS.toFixed(0)} s (${relative(projectRoot, resultsDir)}/latest.md)`
  : `\nfaults: ${failed.length} of ${results.length} scenarios FAILED (${failed.map(r => r.name).join(', ')}) in ${wallS.toFixed(0)} s (${relative(projectRoot, resultsDir)}/latest.md)`)
process.exitCode = failed.length === 0 ? 0 : 1
