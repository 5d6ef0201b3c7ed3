import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks'
import type { EventLoopFigures } from './report.js'

/** How often the event loop is sampled, ms: @fastify/under-pressure's resolution. */
const RESOLUTION_MS = 10
/** @fastify/under-pressure's default sampleInterval, ms. */
const SAMPLE_MS = 1000

/** What a process's event loop did between two reads. */
export interface EventLoopReading {
  /** How late the loop's turns came, ms (each interval between two samples less the resolution). */
  delayMs: { p50: number, p99: number, max: number }
  /** Share of the time the loop was busy, over the whole window. */
  utilization: number
  /**
   * What @fastify/under-pressure would have read each second (its default sampleInterval): the
   * mean delay of that second, ms, and its event-loop utilization (`eventLoopUtilizationMode: 'interval'`).
   */
  perSecond: { delayMs: number[], utilization: number[] }
}

/**
 * Watches this process's event loop, as @fastify/under-pressure does: a histogram of the interval
 * between samples `RESOLUTION_MS` apart, and the event-loop utilization. Each read() covers the
 * time since the previous one (or since the start).
 */
export class EventLoopMonitor {
  readonly #window: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  readonly #second: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  readonly #timer: NodeJS.Timeout
  #windowElu: EventLoopUtilization = performance.eventLoopUtilization()
  #secondElu: EventLoopUtilization = performance.eventLoopUtilization()
  #perSecond: EventLoopReading['perSecond'] = { delayMs: [], utilization: [] }

  constructor () {
    this.#window.enable()
    this.#second.enable()
    this.#timer = setInterval(() => this.#sample(), SAMPLE_MS).unref()
  }

  /** The figures since the last read, and a new window from now. */
  read (): EventLoopReading {
    const elu = performance.eventLoopUtilization()
    const h = this.#window
    const late = (ns: number) => round(Math.max(0, ns / 1e6 - RESOLUTION_MS))
    const reading: EventLoopReading = {
      delayMs: { p50: late(h.percentile(50)), p99: late(h.percentile(99)), max: late(h.max) },
      utilization: round(performance.eventLoopUtilization(elu, this.#windowElu).utilization),
      perSecond: this.#perSecond
    }
    h.reset()
    this.#windowElu = elu
    this.#perSecond = { delayMs: [], utilization: [] }
    return reading
  }

  close (): void {
    clearInterval(this.#timer)
    this.#window.disable()
    this.#second.disable()
  }

  #sample (): void {
    const elu = performance.eventLoopUtilization()
    // under-pressure's eventLoopDelay: the mean interval less the resolution.
    this.#perSecond.delayMs.push(round(Math.max(0, this.#second.mean / 1e6 - RESOLUTION_MS)))
    this.#perSecond.utilization.push(round(performance.eventLoopUtilization(elu, this.#secondElu).utilization))
    this.#second.reset()
    this.#secondElu = elu
  }
}

function round (n: number): number {
  return Number.isFinite(n) ? Math.round(n * 1000) / 1000 : NaN
}

/** A reading as the results keep it: the window's figures, and the highest per-second ones. */
export function eventLoopFigures (reading: EventLoopReading): EventLoopFigures & { perSecond: EventLoopReading['perSecond'] } {
  const highest = (values: number[]) => values.length === 0 ? NaN : Math.max(...values)
  return {
    delayMs: reading.delayMs,
    utilization: reading.utilization,
    underPressureMax: { delayMs: highest(reading.perSecond.delayMs), utilization: highest(reading.perSecond.utilization) },
    perSecond: reading.perSecond
  }
}
