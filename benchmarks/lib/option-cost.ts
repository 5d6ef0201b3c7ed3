import type { ScenarioResult } from './report.js'

/** What an idempotency key on every call costs: a `-idempotent` scenario against its twin without keys, in the same run. */
export interface KeyCost {
  /** The scenario with keys, e.g. `plugin-redis-idempotent`. */
  keyed: string
  /** Its twin without, e.g. `plugin-redis`. */
  unkeyed: string
  /** Keyed over unkeyed: req/s, latency percentiles (64 connections), p50 with 1 connection, req per CPU-s. */
  ratios: { requestsPerSec: number, p50: number, p99: number, unloadedP50: number, requestsPerCpuSecond: number }
  /** Redis commands per request, keyed and unkeyed. */
  redisCommandsPerRequest: { keyed: number, unkeyed: number }
}

const SUFFIX = '-idempotent'

/** Each `-idempotent` scenario of the run against its twin, when both ran. */
export function keyCosts (results: readonly ScenarioResult[]): KeyCost[] {
  return results.flatMap(keyed => {
    if (!keyed.name.endsWith(SUFFIX)) return []
    const unkeyed = results.find(r => r.name === keyed.name.slice(0, -SUFFIX.length))
    if (unkeyed === undefined) return []
    return [{
      keyed: keyed.name,
      unkeyed: unkeyed.name,
      ratios: {
        requestsPerSec: ratio(keyed.requestsPerSec, unkeyed.requestsPerSec),
        p50: ratio(keyed.latency.p50, unkeyed.latency.p50),
        p99: ratio(keyed.latency.p99, unkeyed.latency.p99),
        unloadedP50: ratio(keyed.latencyUnloaded.p50, unkeyed.latencyUnloaded.p50),
        requestsPerCpuSecond: ratio(keyed.requestsPerCpuSecond, unkeyed.requestsPerCpuSecond)
      },
      redisCommandsPerRequest: { keyed: keyed.redisCommandsPerRequest, unkeyed: unkeyed.redisCommandsPerRequest }
    }]
  })
}

function ratio (a: number, b: number): number {
  return Math.round(a / b * 1000) / 1000
}
