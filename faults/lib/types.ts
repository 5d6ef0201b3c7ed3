import type { Redis } from 'ioredis'
import type { Call, KeyedRetries } from './load.js'
import type { Cluster } from './cluster.js'
import type { RedisServer, RedisServerOptions } from './redis-server.js'
import type { Tally } from './tally.js'

/** A claim a scenario makes beyond the suite's zeros, and whether it held. */
export interface Check {
  claim: string
  ok: boolean
}

/** The stack's Redis Cluster, for a scenario that runs on it. */
export interface RedisClusterControl {
  /** Its nodes as redis:// URLs. */
  urls: string[]
  /** SIGKILLs the node on `port`. */
  kill: (port: number) => Promise<unknown>
  /** Starts the node on `port` again; it rejoins the cluster. */
  start: (port: number) => Promise<unknown>
}

/** What a scenario's fault sees while the load runs. */
export interface FaultContext {
  cluster: Cluster
  /** A client of the scenario's Redis with every right (the replicas may have fewer). */
  redis: Redis
  /** The scenario's own Redis server, when it asked for one. */
  redisServer: RedisServer | undefined
  /** The Redis URL the replicas use (their user's, when the scenario set one up). */
  redisUrl: string
  /** The Redis Cluster, when the scenario runs on it. */
  redisCluster: RedisClusterControl | undefined
  kafkaBrokers: string[]
  requestTopic: string
  replyTopic: string
  keyPrefix: string
  /** What no error answer may show (addresses, passwords, key names). */
  secrets: readonly string[]
  /** How long the load runs at least, ms. */
  durationMs: number
  /** The replicas' reply deadline, ms. */
  timeoutMs: number
  /** ms since the load started. */
  now: () => number
  /** Sleeps `ms` (a fault is timed against the load's clock). */
  sleep: (ms: number) => Promise<void>
  /** Records (and prints) that something happened now, e.g. `worker killed`. */
  mark: (label: string) => void
  /** Stores a figure in the scenario's results, e.g. how many connections were killed. */
  note: (key: string, value: unknown) => void
}

/** What a scenario's checks see once the load has drained. */
export interface RunRecord {
  calls: readonly Call[]
  tally: Tally
  /** label -> ms since the load started (the first mark of that label). */
  marks: Record<string, number>
  notes: Record<string, unknown>
  /** When (ms since the load started) the harness began stopping or killed each replica. */
  stoppedAt: ReadonlyMap<string, number>
  timeoutMs: number
}

/** A Redis of the scenario's own, started by the suite on a free port, rather than the stack's shared one. */
export interface PrivateRedis {
  /** How the server runs; notify-keyspace-events is K$ unless set here (as in a redis.conf). */
  server?: RedisServerOptions
  /**
   * Prepares it before the replicas start, e.g. creates an ACL user, and returns the Redis URL the
   * replicas get (default: the server's own). `instanceIds`: the replicas' ids, api-1, api-2, ...
   */
  prepare?: (admin: Redis, ctx: { keyPrefix: string, instanceIds: string[], server: RedisServer }) => Promise<string>
}

/** One fault scenario: a file under faults/scenarios/, listed in faults/scenarios/index.ts. */
export interface Scenario {
  name: string
  /** One line: what breaks and what must still hold. */
  description: string
  /** App replicas started before the load (default 2). */
  replicas?: number
  /** Workers started before the load (default 1). */
  workers?: number
  /**
   * Runs on the stack's 3-broker Kafka cluster (`npm run stack:up -- --cluster`) instead of the
   * single broker: topics replicated 3 times.
   */
  kafkaCluster?: boolean
  /** Its load in req/s, whatever the capacity measured on the single broker (--rate overrides it). */
  fixedRate?: number
  /** Extra environment of the app replicas, e.g. `{ REPLY_AFFINITY: 'false' }`. */
  appEnv?: Record<string, string>
  /**
   * `no-auto-create`: runs against the stack's second broker (auto.create.topics.enable=false,
   * started on demand) instead of the stack's, so that a topic nobody created does not exist.
   */
  kafka?: 'no-auto-create'
  /** Runs against a Redis of its own (to restart it, or to configure users) instead of the stack's. */
  privateRedis?: PrivateRedis
  /** Runs against the stack's Redis Cluster (127.0.0.1:7001..7006) instead of the single Redis. */
  redisCluster?: boolean
  /** Its load as a share of the measured capacity (default FAULT_SHARE; --rate overrides it). */
  loadShare?: number
  /** Shortest load this scenario needs to show anything, ms (it outlasts --quick's duration if need be). */
  minDurationMs?: number
  /**
   * Breaks things while the load runs. The load goes on until both the duration has passed and
   * this has resolved, so a fault may end with the traffic it wants to see afterwards.
   */
  fault?: (ctx: FaultContext) => Promise<void>
  /**
   * The load sends an Idempotency-Key with every call and retries its 504s and 409s (the warm-up
   * does not): see KeyedRetries.
   */
  keyedRetries?: KeyedRetries
  /**
   * The load (not the warm-up) sends `Prefer: respond-async, wait=<the deadline in s>`: the reference
   * app then answers a call that reaches its deadline 202 Accepted with a Location to poll.
   */
  respondAsync?: boolean
  /**
   * Runs once the load has drained and its last deadline plus grace has passed, before the keys are
   * looked for and the processes stop: to look at what the load left (e.g. the replies the worker
   * wrote). What it notes reaches the checks.
   */
  afterLoad?: (ctx: FaultContext, calls: readonly Call[]) => Promise<void>
  /** Claims of this scenario beyond the suite's zeros (crossed, lost, keys left, crashes). */
  checks?: (run: RunRecord) => Check[]
}
