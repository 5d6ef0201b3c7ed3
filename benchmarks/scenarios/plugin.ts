import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type * as Stack from '../../stack/stack.mjs'
import type { Child } from '../../app/demo/children.js'
import { projectRoot } from '../../app/demo/paths.js'
import type { KafkaLibrary } from '../../plugin/index.js'
import type { Running, Scenario, ScenarioContext } from './types.js'

interface Setup {
  /** Replicas that take HTTP load; each is one member of the shared reply group. */
  loaded: number
  /** A replica that takes no load but owns the only reply partition: every reply crosses Redis. */
  redisOnly?: boolean
  replyPartitions: number
  affinity?: boolean
  pollMs?: number
  /** More environment of the plugin's apps. */
  env?: Record<string, string>
  /** The Kafka client library of the apps and the worker (default kafkajs). */
  library?: KafkaLibrary
}

/**
 * Service A replicas with the plugin, and the worker. With `redisOnly`, an idle replica whose
 * client id sorts first joins first and gets the reply topic's only partition (the assigner gives
 * partitions in member-id order), so the loaded replica consumes nothing and every reply reaches it
 * through Redis.
 */
async function startPlugin (ctx: ScenarioContext, setup: Setup): Promise<Running> {
  const requestTopic = ctx.unique('bench-req')
  const replyTopic = ctx.unique('bench-reply')
  await ctx.createTopic(requestTopic, 1)
  await ctx.createTopic(replyTopic, setup.replyPartitions)
  const library = { KAFKA_LIBRARY: setup.library ?? 'kafkajs' }
  const common = {
    ...library,
    REQUEST_TOPIC: requestTopic,
    REPLY_TOPIC: replyTopic,
    GROUP_ID: ctx.unique('bench-replies'),
    KEY_PREFIX: ctx.unique('bench'),
    AFFINITY: String(setup.affinity === true),
    MODE: setup.pollMs === undefined ? 'notify' : 'poll',
    POLL_MS: String(setup.pollMs ?? 0),
    ...setup.env
  }
  const children: Child[] = []
  const stop = async () => { await Promise.all(children.map(child => child.stop())) }
  try {
    const worker = await ctx.start('worker', 'worker', { ...library, REQUEST_TOPIC: requestTopic, GROUP_ID: ctx.unique('bench-worker') })
    children.push(worker)
    if (setup.redisOnly === true) children.push(await ctx.start('reply-owner', 'plugin-app', { ...common, CLIENT_ID: 'bench-a-owner' }))
    const apps: Child[] = []
    for (let i = 1; i <= setup.loaded; i++) {
      apps.push(await ctx.start(`app-${i}`, 'plugin-app', { ...common, CLIENT_ID: `bench-b-app-${i}` }))
    }
    children.push(...apps)
    /** GET `path` of every app process, by name. */
    const fromApps = async <T>(path: string) => Object.fromEntries(await Promise.all(children.filter(c => c.port !== undefined).map(async child =>
      [child.name, await (await fetch(`http://127.0.0.1:${child.port!}${path}`)).json() as T]))) as Record<string, T>
    return {
      targets: apps.map(app => `http://127.0.0.1:${app.port!}/call`),
      processes: children,
      stats: () => fromApps('/stats'),
      eventLoop: () => fromApps('/event-loop'),
      deadlines: () => fromApps('/deadlines'),
      stopWorker: async () => { await worker.stop() },
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}

export const pluginRedis: Scenario = {
  name: 'plugin-redis',
  description: 'the plugin; every reply reaches the waiting instance through Redis (another instance consumes it)',
  openLoop: true,
  start: ctx => startPlugin(ctx, { loaded: 1, redisOnly: true, replyPartitions: 1 })
}

export const pluginMixed: Scenario = {
  name: 'plugin-mixed',
  description: 'two replicas behind the load, replies consumed wherever the group assigns them',
  start: ctx => startPlugin(ctx, { loaded: 2, replyPartitions: 2 })
}

export const pluginAffinity: Scenario = {
  name: 'plugin-affinity',
  description: 'two replicas with affinity: each asks for replies on a partition it consumes',
  start: ctx => startPlugin(ctx, { loaded: 2, replyPartitions: 2, affinity: true })
}

/**
 * The plugin in http-kafka-bare's shape: one replica that consumes its own (only) reply partition,
 * so every reply resolves in memory. Against http-kafka-bare it shows what the plugin itself costs;
 * plugin-affinity adds the second replica's own producer, consumer and fetch loop.
 */
export const pluginOneReplica: Scenario = {
  name: 'plugin-one-replica',
  description: 'the plugin in http-kafka-bare\'s shape: one replica consuming its own reply partition (affinity)',
  start: ctx => startPlugin(ctx, { loaded: 1, replyPartitions: 1, affinity: true })
}

/** The deadline of plugin-worker-outage's calls, ms: short, so that the run stays short. */
const OUTAGE_TIMEOUT_MS = 1000

/**
 * plugin-redis with the worker stopped: every call ends 504 at its deadline, and the scenario
 * measures how late, under open-loop load at the open loop's rate (see run.ts, measureOutage).
 */
export const pluginWorkerOutage: Scenario = {
  name: 'plugin-worker-outage',
  description: `plugin-redis with the worker stopped: open-loop calls with a ${OUTAGE_TIMEOUT_MS} ms deadline, each ending 504; how late the 504s come`,
  workerOutage: { timeoutMs: OUTAGE_TIMEOUT_MS },
  start: ctx => startPlugin(ctx, { loaded: 1, redisOnly: true, replyPartitions: 1, env: { TIMEOUT_MS: String(OUTAGE_TIMEOUT_MS) } })
}

export const poll10: Scenario = {
  name: 'poll-10ms',
  description: 'the plugin\'s flow through Redis, but waiting by GET polling every 10 ms (the design this plugin replaces)',
  openLoop: true,
  start: ctx => startPlugin(ctx, { loaded: 1, redisOnly: true, replyPartitions: 1, pollMs: 10 })
}

export const poll50: Scenario = {
  name: 'poll-50ms',
  description: 'the same, polling every 50 ms',
  openLoop: true,
  start: ctx => startPlugin(ctx, { loaded: 1, redisOnly: true, replyPartitions: 1, pollMs: 50 })
}

/**
 * As plugin-redis, but every reply crosses a Redis Cluster (the stack's 3 masters and 3 replicas,
 * started for this scenario only when it does not run yet, and stopped after it).
 */
export const pluginRedisCluster: Scenario = {
  name: 'plugin-redis-cluster',
  description: 'as plugin-redis, on a Redis Cluster of 3 masters and 3 replicas (started for this scenario)',
  start: async ctx => {
    const stack = await import(pathToFileURL(join(projectRoot, 'stack/stack.mjs')).href) as typeof Stack
    const cluster = await stack.upRedisClusterOnly({ log: line => console.log(`  ${line}`) })
    const urls = cluster.nodes.map(node => `redis://${node.address}`).join(',')
    const stopCluster = async () => { if (cluster.action === 'started') await stack.downRedisClusterOnly({ log: () => {} }) }
    try {
      const running = await startPlugin(ctx, { loaded: 1, redisOnly: true, replyPartitions: 1, env: { REDIS_CLUSTER_URLS: urls } })
      return { ...running, stop: async () => { await running.stop(); await stopCluster() } }
    } catch (err) {
      await stopCluster()
      throw err
    }
  }
}

/**
 * A scenario again with an idempotency key of its own on every call (made by the app, so that the
 * load is byte for byte the twin's): its name ends in `-idempotent`. Against the twin, in the same
 * run, it shows what a key costs: a claim script before each publish, and a script storing the
 * outcome on the replica that consumes the reply.
 */
export function withKeys (scenario: Scenario, setup: Setup): Scenario {
  return {
    ...scenario,
    name: `${scenario.name}-idempotent`,
    description: `${scenario.description}; every call with an idempotency key of its own`,
    start: ctx => startPlugin(ctx, { ...setup, env: { ...setup.env, IDEMPOTENCY_KEYS: 'unique' } })
  }
}

/**
 * A scenario again with `accepted: true` on every call (the plugin-wide default): its name ends in
 * `-accepted`. Its calls are answered in time, as its twin's are, so it shows what accepted costs a
 * call that never needs its 202: a record claimed before each publish and deleted after the reply.
 */
export function withAccepted (scenario: Scenario, setup: Setup): Scenario {
  return {
    ...scenario,
    name: `${scenario.name}-accepted`,
    description: `${scenario.description}; every call accepted (202 past its deadline)`,
    start: ctx => startPlugin(ctx, { ...setup, env: { ...setup.env, ACCEPTED: 'true' } })
  }
}

/** A scenario again on @platformatic/kafka: its name ends in `-platformatic`. */
export function onPlatformatic (scenario: Scenario, setup: Setup): Scenario {
  return {
    ...scenario,
    name: `${scenario.name}-platformatic`,
    description: `${scenario.description}, on @platformatic/kafka`,
    library: '@platformatic/kafka',
    start: ctx => startPlugin(ctx, { ...setup, library: '@platformatic/kafka' })
  }
}

export const pluginRedisPlatformatic = onPlatformatic(pluginRedis, { loaded: 1, redisOnly: true, replyPartitions: 1 })
export const pluginAffinityPlatformatic = onPlatformatic(pluginAffinity, { loaded: 2, replyPartitions: 2, affinity: true })
export const pluginOneReplicaPlatformatic = onPlatformatic(pluginOneReplica, { loaded: 1, replyPartitions: 1, affinity: true })
export const pluginRedisIdempotent = withKeys(pluginRedis, { loaded: 1, redisOnly: true, replyPartitions: 1 })
export const pluginAffinityIdempotent = withKeys(pluginAffinity, { loaded: 2, replyPartitions: 2, affinity: true })
export const pluginRedisAccepted = withAccepted(pluginRedis, { loaded: 1, redisOnly: true, replyPartitions: 1 })
export const pluginAffinityAccepted = withAccepted(pluginAffinity, { loaded: 2, replyPartitions: 2, affinity: true })
