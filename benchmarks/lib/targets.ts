import type { ScenarioResult } from './report.js'

/** One target of the benchmarks, checked on the figures of one run. */
export interface TargetCheck {
  target: string
  measured: string
  met: boolean
}

/** The targets the plugin is held to, as ratios between scenarios of the same run. */
export function checkTargets (results: ScenarioResult[]): TargetCheck[] {
  const by = (name: string) => results.find(r => r.name === name)
  const checks: TargetCheck[] = []
  const redis = by('plugin-redis')
  const floor = by('kafka-floor')
  const poll = by('poll-10ms')
  const nest = by('nestjs')
  if (redis === undefined) return checks
  if (floor !== undefined) {
    const ratio = redis.requestsPerSec / floor.requestsPerSec
    checks.push({ target: 'plugin-redis req/s >= 0.8 x kafka-floor', measured: `${ratio.toFixed(2)} x`, met: ratio >= 0.8 })
    for (const [label, ours, theirs] of [
      ['', redis.latency.p50, floor.latency.p50],
      [', 1 connection', redis.latencyUnloaded.p50, floor.latencyUnloaded.p50]
    ] as const) {
      const above = ours - theirs
      checks.push({ target: `plugin-redis p50 <= kafka-floor p50 + 1 ms${label}`, measured: `${above >= 0 ? '+' : ''}${above.toFixed(2)} ms`, met: above <= 1 })
    }
  }
  if (poll !== undefined) {
    for (const [label, ours, theirs] of [
      ['', redis.latency.p50, poll.latency.p50],
      [', 1 connection', redis.latencyUnloaded.p50, poll.latencyUnloaded.p50]
    ] as const) {
      const ratio = theirs / ours
      checks.push({ target: `plugin-redis p50 >= 5 x lower than poll-10ms${label}`, measured: `${ratio.toFixed(2)} x lower`, met: ratio >= 5 })
    }
  }
  if (nest !== undefined) {
    const ratio = redis.requestsPerSec / nest.requestsPerSec
    checks.push({ target: 'plugin-redis req/s >= 1.5 x nestjs', measured: `${ratio.toFixed(2)} x`, met: ratio >= 1.5 })
    checks.push({ target: 'plugin-redis p99 < nestjs p99', measured: `${redis.latency.p99.toFixed(2)} vs ${nest.latency.p99.toFixed(2)} ms`, met: redis.latency.p99 < nest.latency.p99 })
  }
  checks.push({ target: 'plugin-redis <= 2 Redis commands per request', measured: redis.redisCommandsPerRequest.toFixed(2), met: redis.redisCommandsPerRequest <= 2 })
  checks.push({ target: 'no Redis command while idle', measured: String(redis.redisCommandsIdle), met: redis.redisCommandsIdle === 0 })
  return checks
}
