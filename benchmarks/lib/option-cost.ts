import type { ScenarioResult } from './report.js'

/**
 * What a call option on every call costs: a scenario run with it (its name ends in the option's
 * suffix) against its twin without, in the same run.
 */
export interface OptionCost {
  /** What the scenario adds to every call: `idempotencyKey` (a key of its own), `accepted`. */
  option: string
  /** The scenario with the option, e.g. `plugin-redis-idempotent`. */
  withOption: string
  /** Its twin without, e.g. `plugin-redis`. */
  without: string
  /** With over without: req/s, latency percentiles (64 connections), p50 with 1 connection, req per CPU-s. */
  ratios: { requestsPerSec: number, p50: number, p99: number, unloadedP50: number, requestsPerCpuSecond: number }
  /** Redis commands per request, with and without. */
  redisCommandsPerRequest: { withOption: number, without: number }
}

/** The suffix of a scenario's name that says which option it adds (see withKeys and withAccepted). */
const SUFFIXES: Record<string, string> = { '-idempotent': 'idempotencyKey', '-accepted': 'accepted' }

/** Each scenario of the run with an option against its twin, when both ran. */
export function optionCosts (results: readonly ScenarioResult[]): OptionCost[] {
  return results.flatMap(withOption => {
    const suffix = Object.keys(SUFFIXES).find(s => withOption.name.endsWith(s))
    if (suffix === undefined) return []
    const without = results.find(r => r.name === withOption.name.slice(0, -suffix.length))
    if (without === undefined) return []
    return [{
      option: SUFFIXES[suffix],
      withOption: withOption.name,
      without: without.name,
      ratios: {
        requestsPerSec: ratio(withOption.requestsPerSec, without.requestsPerSec),
        p50: ratio(withOption.latency.p50, without.latency.p50),
        p99: ratio(withOption.latency.p99, without.latency.p99),
        unloadedP50: ratio(withOption.latencyUnloaded.p50, without.latencyUnloaded.p50),
        requestsPerCpuSecond: ratio(withOption.requestsPerCpuSecond, without.requestsPerCpuSecond)
      },
      redisCommandsPerRequest: { withOption: withOption.redisCommandsPerRequest, without: without.redisCommandsPerRequest }
    }]
  })
}

function ratio (a: number, b: number): number {
  return Math.round(a / b * 1000) / 1000
}
