// npm run demo: two replicas of the quotes API and one pricing worker on the local stack, on
// topics of their own. Shows which replica consumed each reply (memory or Redis hand-over), a
// 504, a 502 and a 4xx, a call retried with an Idempotency-Key (504, 409, then the late quote
// replayed), and that Redis holds no reply key afterwards, only that call's idempotency record;
// exits non-zero when a claim did not hold.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Kafka, logLevel } from 'kafkajs'
import { Redis } from 'ioredis'
import type * as Stack from '../../stack/stack.mjs'
import { Checks } from './checks.js'
import { startChild, type Child } from './children.js'
import { exchange } from './client.js'
import { projectRoot, serverEntry, workerEntry } from './paths.js'
import { acceptedQuote, failures, idempotentRetries, redisIsEmpty, routing, warmUp, type DemoContext } from './steps.js'
import { table } from './table.js'
import { traceOneRequest } from './waterfall.js'

const TIMEOUT_MS = 1000
const SLOW_MS = 1500
const REPLY_PARTITIONS = 2
/** The demo takes well under this once the stack is up; past it, something hangs: stop everything and fail. */
const WATCHDOG_MS = 90_000

const started = performance.now()
const seconds = () => ((performance.now() - started) / 1000).toFixed(1)
const section = (title: string) => console.log(`\n== ${title} (${seconds()} s)\n`)
const checks = new Checks()
const children: Child[] = []
let redis: Redis | undefined
let watchdog: NodeJS.Timeout | undefined
// Each service appends its finished spans here (TRACE_FILE): no collector runs on this machine.
const traceDir = mkdtempSync(join(tmpdir(), 'kafka-reply-demo-'))
const traceFiles: string[] = []

try {
  section('Stack: Kafka and Redis (started if missing, reused if running)')
  const stack = await import(pathToFileURL(join(projectRoot, 'stack/stack.mjs')).href) as typeof Stack
  const { kafka, redis: redisInfo, kafkaBrokers, redisUrl } = await stack.up({ log: line => console.log(`  ${line}`) })
  console.log(`  kafka ${kafka.address}: ${kafka.action === 'started' ? 'started now' : 'reused'}`)
  console.log(`  redis ${redisInfo.address}: ${redisInfo.action === 'started' ? 'started now' : 'reused'}, notify-keyspace-events '${redisInfo.keyspaceEvents.after}'`)
  // Armed only now: a first start of the stack may download Kafka, which takes its own time.
  watchdog = setTimeout(() => {
    console.error(`demo: not done ${WATCHDOG_MS / 1000} s after the stack was up, stopping`)
    for (const child of children) child.process.kill('SIGKILL')
    process.exit(1)
  }, WATCHDOG_MS)

  section('Fresh topics, groups and key prefix for this run')
  const run = `demo-${randomBytes(4).toString('hex')}`
  const names = { requestTopic: `${run}.quotes.requests`, replyTopic: `${run}.quotes.replies`, keyPrefix: run }
  await createTopics(kafkaBrokers, [[names.requestTopic, 2], [names.replyTopic, REPLY_PARTITIONS]])
  console.log(`  ${names.requestTopic} (2 partitions), ${names.replyTopic} (${REPLY_PARTITIONS} partitions: one per replica), Redis keys ${names.keyPrefix}:*`)

  section('Starting one pricing worker and two replicas of the quotes API')
  const env = {
    KAFKA_BROKERS: kafkaBrokers.join(','),
    REDIS_URL: redisUrl,
    REQUEST_TOPIC: names.requestTopic,
    REPLY_TOPIC: names.replyTopic,
    REPLY_PARTITIONS: String(REPLY_PARTITIONS),
    // Affinity off: replies land on either replica, so the table shows the hand-over through Redis.
    REPLY_AFFINITY: 'false',
    REPLY_GROUP_ID: `${run}.api`,
    WORKER_GROUP_ID: `${run}.pricing`,
    KEY_PREFIX: names.keyPrefix,
    REPLY_TIMEOUT_MS: String(TIMEOUT_MS),
    WORK_MS: '5',
    SLOW_MS: String(SLOW_MS),
    KAFKA_HEARTBEAT_MS: '500',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: '0'
  }
  const launch = async (name: string, entry: string, extra: Record<string, string>) => {
    const t0 = performance.now()
    const traceFile = join(traceDir, `${name}.jsonl`)
    traceFiles.push(traceFile)
    const child = await startChild(name, entry, { env: { ...env, ...extra, SERVICE_NAME: name, TRACE_FILE: traceFile } })
    children.push(child)
    return { child, ms: performance.now() - t0 }
  }
  // allSettled: when one fails to start, the others are still waited for, so that none is left behind.
  const settled = await Promise.allSettled([
    launch('pricing-1', workerEntry, { WORKER_ID: 'pricing-1' }),
    launch('api-1', serverEntry, { INSTANCE_ID: 'api-1' }),
    launch('api-2', serverEntry, { INSTANCE_ID: 'api-2' })
  ])
  const launched = settled.map(result => {
    if (result.status === 'rejected') throw result.reason
    return result.value
  })
  const replicas = launched.slice(1).map(l => l.child)
  const health = await Promise.all(replicas.map(r => exchange(r.port!, 'GET', '/health/ready')))
  console.log(table(['service', 'pid', 'port', 'ready after ms', 'GET /health/ready'],
    launched.map(({ child, ms }, i) => [child.name, child.process.pid ?? '-', child.port ?? '-', ms.toFixed(0), i === 0 ? '-' : `${health[i - 1].status} ${JSON.stringify(health[i - 1].body)}`])))
  console.log()
  checks.check(health.every(h => h.status === 200 && h.body.ready === true), 'both replicas report ready')

  redis = new Redis(redisUrl)
  const ctx: DemoContext = { replicas, checks, timeoutMs: TIMEOUT_MS, slowMs: SLOW_MS, keyPrefix: names.keyPrefix, redis }
  await warmUp(ctx)

  section('Quotes: which replica took the request, which one consumed the reply (after one untimed warm-up call per replica)')
  await routing(ctx)

  section(`Failures: the worker refuses, crashes, or takes longer than the ${TIMEOUT_MS} ms deadline`)
  await failures(ctx)

  section('Retries with an Idempotency-Key: the call times out, its retries get the late quote, not a second one')
  await idempotentRetries(ctx)

  section('202 Accepted: a client that prefers respond-async gets a Location for its slow quote, and polls it')
  await acceptedQuote(ctx)

  section('Redis after the deadlines')
  await redisIsEmpty(ctx)

  section('One request\'s trace across the processes (OpenTelemetry spans each service wrote to a file)')
  await traceOneRequest(ctx, traceFiles)
} catch (err) {
  checks.check(false, `the demo ran to its end: ${(err as Error).stack ?? err}`)
} finally {
  section('Stopping what the demo started (SIGTERM)')
  const stopped = await Promise.all(children.map(async child => ({ child, ...await child.stop() })))
  for (const { child, code, signal, ms } of stopped) {
    checks.check(code === 0, `${child.name} exited ${signal ?? code} after ${ms.toFixed(0)} ms`)
    if (code !== 0) console.log(child.output.map(line => `    ${line}`).join('\n'))
  }
  redis?.disconnect()
  rmSync(traceDir, { recursive: true, force: true })
  console.log('  Kafka and Redis are left running for the next run: `npm run stack:down` stops them.')
  clearTimeout(watchdog)
}

console.log(checks.failed === 0
  ? `\ndemo: all ${checks.total} checks passed in ${seconds()} s`
  : `\ndemo: ${checks.failed} of ${checks.total} checks FAILED (${seconds()} s)`)
process.exitCode = checks.failed === 0 ? 0 : 1

async function createTopics (brokers: string[], topics: Array<[string, number]>): Promise<void> {
  const admin = new Kafka({ brokers, clientId: 'quotes-demo', logLevel: logLevel.WARN }).admin()
  await admin.connect()
  try {
    await admin.createTopics({ topics: topics.map(([topic, numPartitions]) => ({ topic, numPartitions })), waitForLeaders: true })
  } finally {
    await admin.disconnect()
  }
}
