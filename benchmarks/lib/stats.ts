import type { EventLoopFigures, OpenLoopFigures, OutageFigures, OutageRun, RunFigures, ScenarioResult } from './report.js'

/** The median of the values (the mean of the two middle ones when there is an even number). */
export function median (values: number[]): number {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (finite.length === 0) return NaN
  const mid = Math.floor(finite.length / 2)
  const value = finite.length % 2 === 1 ? finite[mid] : (finite[mid - 1] + finite[mid]) / 2
  return Math.round(value * 1000) / 1000 // the runs' own precision: ms to the microsecond
}

function medianOf<T extends Record<string, number>> (items: T[]): T {
  const keys = [...new Set(items.flatMap(item => Object.keys(item)))]
  return Object.fromEntries(keys.map(key => [key, median(items.map(item => item[key] ?? NaN))])) as T
}

const sum = (values: number[]) => values.reduce((total, n) => total + n, 0)

/**
 * One scenario's figures over its repeated runs: counts (requests, errors, timeouts, non-2xx,
 * Redis commands while idle) are totals over the runs, every other figure is the median of the
 * runs, field by field. Each run's own figures stay in `runs`.
 */
export function aggregate (name: string, description: string, runs: RunFigures[]): ScenarioResult {
  return {
    name,
    description,
    requestsPerSec: median(runs.map(r => r.requestsPerSec)),
    latency: medianOf(runs.map(r => r.latency)),
    latencyUnloaded: medianOf(runs.map(r => r.latencyUnloaded)),
    requests: sum(runs.map(r => r.requests)),
    errors: sum(runs.map(r => r.errors)),
    timeouts: sum(runs.map(r => r.timeouts)),
    non2xx: sum(runs.map(r => r.non2xx)),
    cpuSeconds: medianOf(runs.map(r => r.cpuSeconds)),
    requestsPerCpuSecond: median(runs.map(r => r.requestsPerCpuSecond)),
    redisCommandsPerRequest: median(runs.map(r => r.redisCommandsPerRequest)),
    redisCommandsIdle: sum(runs.map(r => r.redisCommandsIdle)),
    loadGeneratorCpuSeconds: median(runs.map(r => r.loadGeneratorCpuSeconds)),
    otherCpuShare: median(runs.map(r => r.otherCpuShare)),
    runs
  }
}

/** The open-loop figures of one scenario over its runs: medians, and the totals of the counts. */
export function aggregateOpenLoop (name: string, runs: OpenLoopFigures['runs']): OpenLoopFigures {
  return {
    name,
    requestsPerSec: median(runs.map(r => r.requestsPerSec)),
    latency: medianOf(runs.map(r => r.latency)),
    lagMs: medianOf(runs.map(r => r.lagMs)),
    sent: sum(runs.map(r => r.sent)),
    errors: sum(runs.map(r => r.errors)),
    non2xx: sum(runs.map(r => r.non2xx)),
    otherCpuShare: median(runs.map(r => r.otherCpuShare)),
    runs
  }
}

/** A worker-outage scenario over its runs: medians (each process's event loop field by field), and the totals of the counts. */
export function aggregateOutage (about: Omit<OutageFigures, keyof Omit<OutageRun, 'round' | 'loadAverage'> | 'runs'>, runs: OutageRun[]): OutageFigures {
  const statuses = [...new Set(runs.flatMap(r => Object.keys(r.others)))]
  const apps = [...new Set(runs.flatMap(r => Object.keys(r.eventLoop)))]
  const eventLoop = (app: string): EventLoopFigures => {
    const of = runs.flatMap(r => r.eventLoop[app] === undefined ? [] : [r.eventLoop[app]])
    return {
      delayMs: medianOf(of.map(e => e.delayMs)),
      utilization: median(of.map(e => e.utilization)),
      underPressureMax: medianOf(of.map(e => e.underPressureMax))
    }
  }
  const replicaLate = (app: string) => {
    const of = runs.flatMap(r => r.replicaLateMs[app] === undefined ? [] : [r.replicaLateMs[app]])
    return { timer: medianOf(of.map(l => l.timer)), written: medianOf(of.map(l => l.written)), inbound: medianOf(of.map(l => l.inbound)) }
  }
  return {
    ...about,
    sent: sum(runs.map(r => r.sent)),
    timeouts: sum(runs.map(r => r.timeouts)),
    lateMs: medianOf(runs.map(r => r.lateMs)),
    lateBeyondTenth: sum(runs.map(r => r.lateBeyondTenth)),
    others: Object.fromEntries(statuses.map(status => [status, sum(runs.map(r => r.others[status] ?? 0))])),
    lagMs: medianOf(runs.map(r => r.lagMs)),
    connectionsOpened: sum(runs.map(r => r.connectionsOpened)),
    cpuSeconds: medianOf(runs.map(r => r.cpuSeconds)),
    loadGeneratorCpuSeconds: median(runs.map(r => r.loadGeneratorCpuSeconds)),
    otherCpuShare: median(runs.map(r => r.otherCpuShare)),
    redisCommandsPerRequest: median(runs.map(r => r.redisCommandsPerRequest)),
    eventLoop: Object.fromEntries(apps.map(app => [app, eventLoop(app)])),
    replicaLateMs: Object.fromEntries([...new Set(runs.flatMap(r => Object.keys(r.replicaLateMs)))].map(app => [app, replicaLate(app)])),
    runs
  }
}
