import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { keysUnder, recordsUnder } from '../../app/demo/keys.js'
import { idempotencyPattern } from '../../plugin/redis/keys.js'
import { closedLoop, type Capacity } from './capacity.js'
import { Cluster, type Replica } from './cluster.js'
import { latenessOf } from './lateness.js'
import { OpenLoop, quoteRequest, type Call } from './load.js'
import { FAULT_SHARE } from './options.js'
import { pidListeningOn } from './proc-stat.js'
import { ProcessSampler, type ExternalProcess, type ProcessFigures } from './processes.js'
import { RedisServer } from './redis-server.js'
import { keysOnMasters, onNode, scanMasters } from './redis-cluster.js'
import { describeProcesses, type ScenarioResult } from './report.js'
import { tally } from './tally.js'
import type { FaultContext, PrivateRedis, RedisClusterControl, Scenario } from './types.js'

/** What every scenario shares: the stack, and the suite's settings. */
/** A Kafka the scenarios run against: its brokers, and how to create topics there. */
export interface SuiteKafka {
  kafkaBrokers: string[]
  createTopics: (topics: Array<[string, number]>) => Promise<void>
}

export interface SuiteContext extends SuiteKafka {
  redisUrl: string
  redis: Redis
  createTopics: (topics: Array<[string, number]>) => Promise<void>
  /** The 3-broker cluster, when a chosen scenario runs on it (Scenario.kafkaCluster). */
  kafkaCluster?: { brokers: string[], createTopics: (topics: Array<[string, number]>) => Promise<void> }
  /** The stack's second broker (auto.create.topics.enable=false), started on first use. */
  noAutoCreateKafka: () => Promise<SuiteKafka>
  /** What the replicas answered closed loop at the start, req/s; undefined when --rate set the load. */
  capacity: number | undefined
  /** Unique per run of the suite: part of every topic, group and key prefix. */
  runId: string
  /** --rate: the load of every scenario, req/s; otherwise each scenario's share of `capacity`. */
  rate: number | undefined
  durationMs: number
  timeoutMs: number
  replicas: number
  logLevel: string
  /** Directory for children's output and each scenario's calls, when asked for. */
  logs: string | undefined
  /** The stack's Redis Cluster, when a chosen scenario runs on it. */
  redisCluster?: RedisClusterControl
}

/** The app's replyGrace (the plugin's default, which the reference app keeps): how long a stored reply outlives its deadline. */
export const REPLY_GRACE_MS = 1000
/** A request with no answer this long after its deadline counts as lost. */
const ANSWER_MARGIN_MS = 3000
/** Keys are looked for this long after the last deadline plus grace: Redis expires keys on its own clock. */
const KEY_MARGIN_MS = 500
/**
 * Untracked load rising to the full rate before the measured load: every process's code is cold
 * and the client opens its connections at first, which at full rate at once queues requests for
 * seconds, beyond their deadline.
 */
const WARM_UP_MS = 3000
const REPLY_PARTITIONS = 2
const REQUEST_PARTITIONS = 2

const running = new Set<Cluster>()

/** SIGKILLs every child of every scenario still running: for a suite that must give up at once. */
export function killEverything (): void {
  for (const cluster of running) cluster.killAll()
}

/**
 * Runs one scenario on fresh topics, groups and key prefix: starts the worker and the replicas,
 * sends the load while the scenario's fault runs, waits for every call to end and every deadline
 * to pass, looks for reply keys left (and counts idempotency records apart: they are meant to
 * outlive their calls), and stops everything it started, also when something failed.
 */
export async function runScenario (scenario: Scenario, suite: SuiteContext): Promise<ScenarioResult> {
  const wallStarted = performance.now()
  const replicas = scenario.replicas ?? suite.replicas
  const kafka = scenario.kafka === 'no-auto-create' ? { ...suite, ...await suite.noAutoCreateKafka() } : scenarioSuite(scenario, suite)
  const setup = await prepare(scenario.name, kafka, replicas, scenario.appEnv, scenario.privateRedis, scenario.redisCluster === true)
  const { names, env, secrets } = setup
  const errorSamples: Record<string, string> = {}
  const onErrorBody = (call: Call, body: string) => { errorSamples[`${call.status} ${call.code ?? '-'}`] ??= body }
  const durationMs = Math.max(suite.durationMs, scenario.minDurationMs ?? 0)
  const rate = suite.rate ?? scenario.fixedRate ?? rateAt(suite.capacity!, scenario.loadShare ?? FAULT_SHARE)
  const loadOptions = { rate, answerMs: suite.timeoutMs + ANSWER_MARGIN_MS, secrets, onErrorBody, targets: (): readonly Replica[] => cluster.up }
  const warm = new OpenLoop({ ...loadOptions, rampMs: WARM_UP_MS })
  const load: OpenLoop = new OpenLoop({
    ...loadOptions,
    ...(scenario.keyedRetries === undefined ? {} : { keyedRetries: scenario.keyedRetries }),
    ...(scenario.respondAsync === true ? { prefer: `respond-async, wait=${Math.ceil(suite.timeoutMs / 1000)}` } : {})
  })
  if (suite.logs !== undefined) mkdirSync(suite.logs, { recursive: true })
  const cluster: Cluster = new Cluster(env, (): number => load.now(), suite.logs === undefined ? undefined : { dir: suite.logs, prefix: scenario.name })
  cluster.connectionsPerReplica = warmConnections(rate, replicas, suite.timeoutMs)
  running.add(cluster)
  const sampler = new ProcessSampler(cluster, externalProcesses(kafka.kafkaBrokers, scenario.redisCluster === true ? suite.redisCluster!.urls : undefined, setup.admin))
  let processes: ProcessFigures[] = []
  const marks: Record<string, number> = {}
  const notes: Record<string, unknown> = {}
  const log = (line: string) => console.log(`  ${(load.now() / 1000).toFixed(1).padStart(6)} s  ${line}`)
  let error: string | undefined
  let stats: Record<string, unknown> = {}
  let keys: string[] | undefined
  let records: string[] | undefined
  let loadS = 0

  console.log(`\n${scenario.name}: ${scenario.description}`)
  try {
    await startAll(cluster, replicas, scenario.workers)
    await sampler.resolve()
    warm.start()
    await sleep(WARM_UP_MS)
    // No pause between the two: the rate stays steady; the warm-up's last calls end on their own.
    warm.stop()
    load.start()
    // Not waited for here: the fault's clock starts with the load.
    const sampling = sampler.start()
    log(`load: ${rate} req/s over ${cluster.up.map(r => r.name).join(', ')} for ${durationMs / 1000} s at least`)
    const ctx: FaultContext = {
      cluster,
      redis: setup.admin,
      redisServer: setup.redisServer,
      redisUrl: env.REDIS_URL,
      redisCluster: scenario.redisCluster === true ? suite.redisCluster : undefined,
      kafkaBrokers: kafka.kafkaBrokers,
      ...names,
      secrets,
      durationMs,
      timeoutMs: suite.timeoutMs,
      now: () => load.now(),
      sleep: ms => sleep(Math.max(0, ms)),
      mark: label => {
        marks[label] ??= load.now()
        log(label)
      },
      note: (key, value) => { notes[key] = value }
    }
    await Promise.all([sleep(durationMs), scenario.fault?.(ctx)])
    load.stop()
    loadS = load.now() / 1000
    await sampling
    processes = await sampler.end()
    log(`load stopped: ${load.calls.length} requests sent; waiting for the last answers`)
    await load.drained()
    stats = Object.fromEntries(await Promise.all(cluster.up.map(async r => [r.name, await cluster.stats(r)])))
    const lastDeadline = (load.calls.at(-1)?.sentAt ?? 0) + suite.timeoutMs
    await sleep(Math.max(0, lastDeadline + REPLY_GRACE_MS + KEY_MARGIN_MS - load.now()))
    await scenario.afterLoad?.(ctx, load.calls)
    keys = await setup.keys()
    records = await setup.records()
  } catch (err) {
    error = (err as Error).stack ?? String(err)
    console.log(`  ${scenario.name} did not run to its end: ${error}`)
  } finally {
    warm.stop()
    load.stop()
    await Promise.all([warm.drained(), load.drained()])
    await cluster.stopAll()
    running.delete(cluster)
    await setup.cleanup()
  }

  if (suite.logs !== undefined) writeFileSync(join(suite.logs, `${scenario.name}-calls.json`), JSON.stringify({ marks, stoppedAt: Object.fromEntries(cluster.stoppedAt), calls: load.calls }))
  notes.warmUp = { ...tally(warm.calls, cluster.stoppedAt), rampMs: WARM_UP_MS }
  const record = { calls: load.calls, tally: tally(load.calls, cluster.stoppedAt), marks, notes, stoppedAt: cluster.stoppedAt, timeoutMs: suite.timeoutMs }
  const checks = error === undefined ? scenario.checks?.(record) ?? [] : []
  const t = record.tally
  const keysLeft = keys?.length ?? -1
  const passed = error === undefined && t.crossed === 0 && t.lost === 0 && t.leaks === 0 && keysLeft === 0 && cluster.crashes.length === 0 && checks.every(c => c.ok)
  for (const check of checks) console.log(`  ${check.ok ? 'ok' : 'FAILED'}: ${check.claim}`)
  for (const crash of cluster.crashes) console.log(`  crash: ${crash.name} ${crash.why} (${crash.signal ?? crash.code})\n${crash.output.map(l => `    ${l}`).join('\n')}`)
  const lateness = latenessOf(load.calls, suite.timeoutMs)
  console.log(describeProcesses(processes, lateness, suite.timeoutMs).map(line => `  ${line}`).join('\n'))
  return {
    name: scenario.name,
    description: scenario.description,
    passed,
    rate,
    ...(error === undefined ? {} : { error }),
    loadS,
    wallS: (performance.now() - wallStarted) / 1000,
    tally: t,
    skipped: load.skipped,
    keysLeft,
    keySample: (keys ?? []).slice(0, 10),
    idempotencyRecords: records?.length ?? -1,
    crashes: cluster.crashes,
    checks,
    marks,
    notes,
    errorSamples,
    stats,
    processes,
    lateness
  }
}

/**
 * The scenario's broker(s) and Redis, found by the address they listen on (a Redis by its own
 * `INFO server`): the Redis Cluster's nodes when the scenario runs on it, else the Redis `admin` talks to.
 */
function externalProcesses (brokers: readonly string[], redisClusterUrls: readonly string[] | undefined, admin: Redis): ExternalProcess[] {
  const redis: ExternalProcess[] = redisClusterUrls === undefined
    ? [{ name: `redis ${admin.options.host ?? '127.0.0.1'}:${admin.options.port ?? 6379}`, role: 'redis', pid: async () => await redisPid(admin) }]
    : redisClusterUrls.map(url => {
      const { host, port } = new URL(url)
      return { name: `redis ${host}`, role: 'redis', pid: async () => await onNode(Number(port), redisPid) }
    })
  return [...brokers.map((address): ExternalProcess => ({ name: `broker ${address}`, role: 'broker', pid: async () => await pidListeningOn(address) })), ...redis]
}

/** The process_id of `INFO server`, or undefined when Redis does not answer within a second. */
async function redisPid (client: Redis): Promise<number | undefined> {
  let timer: NodeJS.Timeout | undefined
  const info = await Promise.race([
    client.info('server').catch(() => ''),
    new Promise<string>(resolve => { timer = setTimeout(() => resolve(''), 1000) })
  ]).finally(() => clearTimeout(timer))
  const pid = /^process_id:(\d+)/m.exec(info)?.[1]
  return pid === undefined ? undefined : Number(pid)
}

/** The suite as the scenario sees it: on the Kafka cluster's brokers when it runs there. */
function scenarioSuite (scenario: Scenario, suite: SuiteContext): SuiteContext {
  if (scenario.kafkaCluster !== true) return suite
  if (suite.kafkaCluster === undefined) throw new Error(`${scenario.name} runs on the Kafka cluster, which the suite did not bring up`)
  return { ...suite, kafkaBrokers: suite.kafkaCluster.brokers, createTopics: suite.kafkaCluster.createTopics }
}

/** `share` of `capacity`, rounded down to 50 req/s: a figure that reads as a setting. */
function rateAt (capacity: number, share: number): number {
  return Math.max(50, Math.floor(capacity * share / 50) * 50)
}

/** What a scenario runs on: its topics, key prefix and replica environment, and its Redis. */
interface Setup {
  names: { requestTopic: string, replyTopic: string, keyPrefix: string }
  env: Record<string, string>
  /** A client of the scenario's Redis with every right. */
  admin: Redis
  redisServer: RedisServer | undefined
  /** What no error answer may show: the broker and Redis addresses, passwords, the form of a key. */
  secrets: string[]
  /**
   * Every reply key left under the scenario's prefix (on a cluster: every key under it on every
   * master), idempotency records apart.
   */
  keys: () => Promise<string[]>
  /** The idempotency records under the scenario's prefix (on every master of a cluster): meant to outlive their calls. */
  records: () => Promise<string[]>
  /** Disconnects the admin client and kills a private Redis. */
  cleanup: () => Promise<void>
}

/** Creates the topics, starts the scenario's own Redis when it asks for one, and builds the replicas' environment. */
async function prepare (name: string, suite: SuiteContext, replicas: number, appEnv: Record<string, string> = {}, privateRedis?: PrivateRedis, onCluster = false): Promise<Setup> {
  const id = `faults-${suite.runId}-${name}`
  const names = { requestTopic: `${id}.quotes.requests`, replyTopic: `${id}.quotes.replies`, keyPrefix: id }
  await suite.createTopics([[names.requestTopic, REQUEST_PARTITIONS], [names.replyTopic, REPLY_PARTITIONS]])
  let redisUrl = suite.redisUrl
  let admin = suite.redis
  let redisServer: RedisServer | undefined
  const secrets = [...suite.kafkaBrokers, new URL(suite.redisUrl).host, 'redis://', `${names.keyPrefix}:`]
  if (privateRedis !== undefined) {
    redisServer = await RedisServer.start({ notifyKeyspaceEvents: 'K$', ...privateRedis.server })
    // Reconnects on its own after a restart; a call made while Redis is down fails rather than queues.
    admin = new Redis(redisServer.url, { maxRetriesPerRequest: 1 })
    admin.on('error', () => {})
    const instanceIds = Array.from({ length: replicas }, (_, i) => `api-${i + 1}`)
    redisUrl = await privateRedis.prepare?.(admin, { keyPrefix: names.keyPrefix, instanceIds, server: redisServer }) ?? redisServer.url
    secrets.push(redisServer.address)
    for (const url of [redisServer.url, redisUrl]) {
      const { password } = new URL(url)
      if (password !== '') secrets.push(decodeURIComponent(password))
    }
  }
  if (onCluster && suite.redisCluster === undefined) throw new Error(`${name} runs on the Redis Cluster, which the suite did not start`)
  const clusterUrls = onCluster ? suite.redisCluster!.urls : undefined
  if (clusterUrls !== undefined) secrets.push(...clusterUrls.map(url => new URL(url).host))
  const env = {
    KAFKA_BROKERS: suite.kafkaBrokers.join(','),
    REDIS_URL: redisUrl,
    ...(clusterUrls === undefined ? {} : { REDIS_CLUSTER_URLS: clusterUrls.join(',') }),
    REQUEST_TOPIC: names.requestTopic,
    REQUEST_PARTITIONS: String(REQUEST_PARTITIONS),
    REPLY_TOPIC: names.replyTopic,
    REPLY_PARTITIONS: String(REPLY_PARTITIONS),
    REPLY_GROUP_ID: `${id}.api`,
    WORKER_GROUP_ID: `${id}.pricing`,
    KEY_PREFIX: names.keyPrefix,
    REPLY_TIMEOUT_MS: String(suite.timeoutMs),
    // A little work per quote, and enough concurrency that the worker is not what limits the rate.
    WORK_MS: '2',
    CONCURRENCY: '64',
    // Quick rebalances, and a process killed without leaving the group is out of it after 6 s
    // (the broker's smallest session timeout by default) rather than kafkajs's 30 s.
    KAFKA_HEARTBEAT_MS: '500',
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    LOG_LEVEL: suite.logLevel,
    // No load shedding (@fastify/under-pressure) in the suite yet: its checks count a call's 200 or
    // 504, and a 503 FST_UNDER_PRESSURE of a new call under an outage would fail them. The suite
    // measures the deadlines themselves.
    MAX_EVENT_LOOP_DELAY_MS: '0',
    HOST: '127.0.0.1',
    PORT: '0',
    ...appEnv
  }
  const cleanup = async () => {
    if (redisServer === undefined) return
    admin.disconnect()
    await redisServer.kill()
  }
  const records = async () => clusterUrls === undefined ? await recordsUnder(admin, names.keyPrefix) : await scanMasters(idempotencyPattern(names.keyPrefix))
  const keys = async () => {
    if (clusterUrls === undefined) return await keysUnder(admin, names.keyPrefix)
    const [all, kept] = await Promise.all([keysOnMasters(names.keyPrefix), records()])
    const isRecord = new Set(kept)
    return all.filter(key => !isRecord.has(key))
  }
  return { names, env, admin, redisServer, secrets, keys, records, cleanup }
}

/**
 * Keep-alive connections each replica gets before the load starts: as many as its share of the
 * load keeps waiting when no reply comes (its calls of one deadline, and a second more). The load
 * is an open loop of independent calls, so while replies stop every call needs a connection of its
 * own; without a warm pool each of those opens one, and a replica whose event loop is busy with
 * thousands of waiting calls accepts it late: the 504 then comes late by the connection's wait,
 * which is no part of the deadline (measured: p99 700 ms late at 1250 req/s, every late one on a
 * new connection). Clients that send this much hold warm pools (a gateway, a proxy).
 */
function warmConnections (rate: number, replicas: number, timeoutMs: number): number {
  return Math.ceil(rate / replicas * (timeoutMs + 1000) / 1000)
}

/** Starts the workers and the replicas, and sends each replica one quote. */
async function startAll (cluster: Cluster, replicas: number, workers = 1): Promise<void> {
  // allSettled: when one fails to start, the others are still waited for (and stopped by the caller).
  // Beyond a few children, one after the other: on two cores, ten processes booting at once take
  // longer than a child may take to get ready.
  const starts = [
    ...Array.from({ length: workers }, () => () => cluster.startWorker()),
    ...Array.from({ length: replicas }, () => () => cluster.startReplica())
  ]
  const started = starts.length <= 3
    ? await Promise.allSettled(starts.map(start => start()))
    : await sequentially(starts)
  for (const result of started) if (result.status === 'rejected') throw result.reason
  await Promise.all(cluster.up.map(warmUp))
}

async function sequentially (starts: Array<() => Promise<unknown>>): Promise<Array<PromiseSettledResult<unknown>>> {
  const results: Array<PromiseSettledResult<unknown>> = []
  for (const start of starts) {
    results.push(await start().then(value => ({ status: 'fulfilled' as const, value }), (reason: unknown) => ({ status: 'rejected' as const, reason })))
    if (results.at(-1)!.status === 'rejected') break
  }
  return results
}

/**
 * Clients of the capacity measurement. The reply path batches at every stage (fetches, produce
 * calls, Redis pipelines), so throughput grows with the requests in flight until the CPU runs out:
 * on two cores 64 clients gave about 60% of what 512 gave, and 1024 about 15% more than 512, at
 * twice the latency.
 */
const CAPACITY_CONNECTIONS = 512

/**
 * What the suite's replicas answer at most, measured closed loop on topics of their own before
 * the scenarios: the worker and the replicas as the scenarios start them, with reply affinity
 * off, so that every reply crosses Redis (the slower path, which most scenarios take).
 */
export async function measureCapacity (suite: SuiteContext, { warmMs = 3000, measureMs = 8000 } = {}): Promise<Capacity> {
  const setup = await prepare('capacity', suite, suite.replicas, { REPLY_AFFINITY: 'false' })
  const cluster = new Cluster(setup.env, () => 0)
  running.add(cluster)
  try {
    await startAll(cluster, suite.replicas)
    const capacity = await closedLoop(cluster.up, { connections: CAPACITY_CONNECTIONS, warmMs, measureMs, answerMs: suite.timeoutMs + ANSWER_MARGIN_MS, secrets: setup.secrets })
    if (cluster.crashes.length > 0) throw new Error(`a process crashed while the capacity was measured: ${cluster.crashes.map(c => `${c.name} ${c.why}\n${c.output.join('\n')}`).join('\n')}`)
    return capacity
  } finally {
    await cluster.stopAll()
    running.delete(cluster)
    await setup.cleanup()
  }
}

/** One untimed quote per replica: a producer fetches topic metadata on its first send. */
async function warmUp (replica: Replica): Promise<void> {
  let last = ''
  for (let attempt = 0; attempt < 3; attempt++) {
    const res = await fetch(`http://127.0.0.1:${replica.port}/quotes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(quoteRequest(0)),
      signal: AbortSignal.timeout(10_000)
    })
    last = `${res.status} ${await res.text()}`
    if (res.ok) return
  }
  throw new Error(`${replica.name} did not answer a warm-up quote: ${last}`)
}
