import type { ScenarioResult } from './report.js'

/** One target of the benchmarks, checked on the figures of one run (the medians, with --repeat). */
export interface TargetCheck {
  target: string
  measured: string
  met: boolean
}

/**
 * The targets the plugin is held to, as ratios between scenarios of the same run. Each compares
 * against a scenario that shares the machine with it (HTTP, load generator, broker, Redis), so a
 * busy machine moves both sides: `http-kafka-bare` for throughput, the unloaded (1 connection)
 * latencies for the path itself. A target whose scenarios did not run is left out.
 */
export function checkTargets (results: ScenarioResult[]): TargetCheck[] {
  const by = (name: string) => results.find(r => r.name === name)
  const checks: TargetCheck[] = []
  const redis = by('plugin-redis')
  const affinity = by('plugin-affinity')
  const bare = by('http-kafka-bare')
  const floor = by('kafka-floor')
  const poll = by('poll-10ms')
  const nest = by('nestjs')

  const throughput = (ours: ScenarioResult, theirs: ScenarioResult, atLeast: number) => {
    const ratio = ours.requestsPerSec / theirs.requestsPerSec
    checks.push({ target: `${ours.name} req/s >= ${atLeast} x ${theirs.name}`, measured: `${ratio.toFixed(2)} x (${Math.round(ours.requestsPerSec)} vs ${Math.round(theirs.requestsPerSec)})`, met: ratio >= atLeast })
  }
  if (affinity !== undefined && bare !== undefined) throughput(affinity, bare, 0.9)
  // The plugin on @platformatic/kafka at least as fast as a hand-written kafkajs bridge.
  const affinityPlatformatic = by('plugin-affinity-platformatic')
  if (affinityPlatformatic !== undefined && bare !== undefined) throughput(affinityPlatformatic, bare, 1.0)
  if (redis === undefined) return checks
  if (bare !== undefined) throughput(redis, bare, 0.8)
  const onCluster = by('plugin-redis-cluster')
  if (onCluster !== undefined) throughput(onCluster, redis, 0.9)
  if (floor !== undefined) {
    const above = redis.latencyUnloaded.p50 - floor.latencyUnloaded.p50
    checks.push({
      target: 'plugin-redis 1-connection p50 <= kafka-floor 1-connection p50 + 1 ms',
      measured: `${above >= 0 ? '+' : ''}${above.toFixed(2)} ms (${redis.latencyUnloaded.p50.toFixed(2)} vs ${floor.latencyUnloaded.p50.toFixed(2)})`,
      met: above <= 1
    })
  }
  if (poll !== undefined) {
    const ratio = poll.latencyUnloaded.p50 / redis.latencyUnloaded.p50
    checks.push({
      target: 'plugin-redis 1-connection p50 >= 5 x lower than poll-10ms',
      measured: `${ratio.toFixed(2)} x lower (${redis.latencyUnloaded.p50.toFixed(2)} vs ${poll.latencyUnloaded.p50.toFixed(2)} ms)`,
      met: ratio >= 5
    })
  }
  if (nest !== undefined) {
    throughput(redis, nest, 2)
    checks.push({ target: 'plugin-redis p99 < nestjs p99', measured: `${redis.latency.p99.toFixed(2)} vs ${nest.latency.p99.toFixed(2)} ms`, met: redis.latency.p99 < nest.latency.p99 })
  }
  checks.push({ target: 'plugin-redis <= 2 Redis commands per request', measured: redis.redisCommandsPerRequest.toFixed(2), met: redis.redisCommandsPerRequest <= 2 })
  checks.push({ target: 'plugin-redis: no Redis command while idle', measured: String(redis.redisCommandsIdle), met: redis.redisCommandsIdle === 0 })
  return checks
}
