import type { KafkaLibrary } from '../../plugin/index.js'
import type { Child } from '../../app/demo/children.js'
import type { DeadlineReading } from '../lib/deadline-watch.js'
import type { EventLoopReading } from '../lib/event-loop.js'

/** What every scenario gets from the harness. */
export interface ScenarioContext {
  kafkaBrokers: string[]
  redisUrl: string
  /** A name no other scenario or run uses: topics, groups, key prefixes. */
  unique: (prefix: string) => string
  /** Creates a topic with `partitions` partitions and waits for its leaders. */
  createTopic: (topic: string, partitions: number) => Promise<void>
  /** Starts a benchmark server (a compiled file under dist/benchmarks/servers/) as a child process. */
  start: (role: string, server: string, env: Record<string, string>) => Promise<Child>
}

/** Load a scenario drives itself (no HTTP): used by kafka-floor. */
export type CustomLoad = (options: { connections: number, durationMs: number }) => Promise<{
  /** Latency of each completed call, in microseconds. */
  latenciesUs: number[]
  errors: number
  timeouts: number
}>

/** A scenario, started and ready for load. */
export interface Running {
  /** HTTP endpoints that take `POST` with a JSON body; the load is split evenly over them. */
  targets?: string[]
  /** Or: the scenario drives its own load. */
  load?: CustomLoad
  /** The processes whose CPU time counts, by role (app-1, app-2, worker, ...). */
  processes: Child[]
  /** Plugin counters per app process, read after the run (GET /stats), when there are any. */
  stats?: () => Promise<Record<string, unknown>>
  /** Each app process's event loop since the last read (GET /event-loop), when they report it. */
  eventLoop?: () => Promise<Record<string, EventLoopReading>>
  /** How late each app process ended its 504s since the last read (GET /deadlines). */
  deadlines?: () => Promise<Record<string, DeadlineReading>>
  /** Stops the worker, for a scenario measured while it is away (`workerOutage`). */
  stopWorker?: () => Promise<void>
  stop: () => Promise<void>
}

export interface Scenario {
  name: string
  description: string
  /** The Kafka client library of the scenario's plugin, worker or floor (default kafkajs). */
  library?: KafkaLibrary
  /** Also measured in the open loop, at a fixed rate (about half of plugin-redis's capacity). */
  openLoop?: boolean
  /**
   * Measured only in the open loop, at the open loop's rate, after `Running.stopWorker()`: every
   * call ends at its deadline, and what counts is how late (see run.ts, measureOutage).
   */
  workerOutage?: { timeoutMs: number }
  start: (ctx: ScenarioContext) => Promise<Running>
}
