import type { Call } from '../lib/load.js'
import type { Check, RunRecord, Scenario } from '../lib/types.js'

const REPLICAS = 8
const WORKERS = 2
/** Load before, between and after the restarts, ms: the baseline the pauses are compared with. */
const QUIET_MS = 4000

interface Step { what: string, from: number, to: number }

/**
 * Replicas beyond partitions, on the 3-broker cluster: 8 app replicas share a 2-partition reply
 * topic (6 of them consume nothing and take every reply through Redis), 2 workers share the
 * 2-partition request topic. A rolling restart of all 8 replicas, then of both workers. kafkajs
 * rebalances eagerly: every member of a group stops fetching while one joins or leaves; each step's
 * pause is the longest stretch in which no call was answered.
 *
 * The consumers' heartbeat and session timeout are the suite's (KAFKA_HEARTBEAT_MS 500,
 * KAFKA_SESSION_TIMEOUT_MS 6000); FAULTS_KAFKA_HEARTBEAT_MS and FAULTS_KAFKA_SESSION_TIMEOUT_MS set
 * others, e.g. kafkajs's defaults (3000 and 30000) to measure what the tuning gains.
 */
export const replicasBeyondPartitions: Scenario = {
  name: 'replicas-beyond-partitions',
  description: `${REPLICAS} app replicas on a 2-partition reply topic and ${WORKERS} workers, on the 3-broker cluster: a rolling restart of every replica, then of both workers. Each rebalance's pause and 504s measured; the workers' restart costs no 504.`,
  replicas: REPLICAS,
  workers: WORKERS,
  kafkaCluster: true,
  // 8 replicas, 2 workers and 3 brokers on two shared cores: a modest rate.
  fixedRate: 25,
  minDurationMs: 10_000,
  appEnv: {
    ...(process.env.FAULTS_KAFKA_HEARTBEAT_MS === undefined ? {} : { KAFKA_HEARTBEAT_MS: process.env.FAULTS_KAFKA_HEARTBEAT_MS }),
    ...(process.env.FAULTS_KAFKA_SESSION_TIMEOUT_MS === undefined ? {} : { KAFKA_SESSION_TIMEOUT_MS: process.env.FAULTS_KAFKA_SESSION_TIMEOUT_MS })
  },
  async fault (ctx) {
    const steps: Step[] = []
    const step = async (what: string, run: () => Promise<unknown>) => {
      const from = ctx.now()
      ctx.mark(`${what}: begins`)
      await run()
      steps.push({ what, from, to: ctx.now() })
      ctx.mark(`${what}: done`)
      ctx.note('steps', steps)
    }
    await ctx.sleep(QUIET_MS)
    for (const old of [...ctx.cluster.up]) {
      await step(`replica ${old.name} restarted`, async () => {
        await ctx.cluster.stopReplica(old)
        await ctx.cluster.startReplica()
      })
    }
    await ctx.sleep(QUIET_MS)
    for (const old of [...ctx.cluster.workers]) {
      await step(`worker ${old.name} restarted`, async () => {
        await ctx.cluster.stop(old)
        await ctx.cluster.startWorker()
      })
    }
    await ctx.sleep(QUIET_MS)
  },
  checks (run) {
    const steps = (run.notes.steps ?? []) as Step[]
    const measured = steps.map(s => ({ ...s, ...measure(run, s.from, s.to) }))
    const quiet = measure(run, 1000, QUIET_MS)
    const replicaSteps = measured.filter(s => s.what.startsWith('replica'))
    const workerSteps = measured.filter(s => s.what.startsWith('worker'))
    const sum = (list: typeof measured) => list.reduce((n, s) => n + s.timeouts, 0)
    const pauses = (list: typeof measured) => list.map(s => s.pauseMs).join(', ')
    const checks: Check[] = [
      { claim: `every step ran (${steps.length} of ${REPLICAS + WORKERS})`, ok: steps.length === REPLICAS + WORKERS },
      { claim: `longest stretch without an answer under steady load: ${quiet.pauseMs} ms`, ok: true },
      { claim: `replicas' rolling restart: pauses ${pauses(replicaSteps)} ms; ${sum(replicaSteps)} calls answered 504`, ok: true },
      { claim: `workers' rolling restart: pauses ${pauses(workerSteps)} ms; 504s: ${sum(workerSteps)} (none expected: the other worker answers)`, ok: sum(workerSteps) === 0 }
    ]
    return checks
  }
}

/**
 * Of the calls around one step (from its start to a deadline after its end): the longest stretch
 * in which no call ended 200, and how many ended 504.
 */
function measure ({ calls, timeoutMs }: RunRecord, from: number, to: number): { pauseMs: number, timeouts: number } {
  const ends = calls.filter(c => c.status === 200 && c.endedAt !== undefined && c.endedAt >= from && c.endedAt <= to + timeoutMs)
    .map(c => c.endedAt!).sort((a, b) => a - b)
  let pauseMs = 0
  for (let i = 1; i < ends.length; i++) pauseMs = Math.max(pauseMs, ends[i] - ends[i - 1])
  const timeouts = calls.filter((c: Call) => c.status === 504 && c.sentAt >= from && c.sentAt < to + timeoutMs).length
  return { pauseMs: Math.round(pauseMs), timeouts }
}
