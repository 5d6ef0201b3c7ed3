// Event-loop delay and CPU of this process, for a parent that asks over IPC: the fault suite reads
// them from every replica and worker to see where the time goes under load (docs/reliability.md).
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'

/** The histogram's sampling period, ms: one timer every 10 ms, cheap on a busy process. */
export const LOOP_RESOLUTION_MS = 10

/** What one process measured over an interval. */
export interface LoopFigures {
  /** How long the figures cover, ms. */
  intervalMs: number
  /** CPU time used, user plus system, ms (every thread of the process). */
  cpuMs: number
  /** Event-loop delay beyond the sampling period, ms; 0 when no sample was taken. */
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** Delay samples taken (about one per LOOP_RESOLUTION_MS while the loop keeps up). */
  samples: number
}

/** The answer to a parent's `{ type: 'loop-stats' }`. */
export interface LoopStatsMessage extends LoopFigures {
  type: 'loop-stats'
}

/**
 * CPU and event-loop delay since it was made or last read. The histogram records each period
 * between two of its timer's runs; the period itself is taken off, so an idle loop shows 0.
 */
export class LoopMonitor {
  readonly #histogram: IntervalHistogram
  #cpu: NodeJS.CpuUsage
  #since: number

  constructor () {
    this.#histogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
    this.#histogram.enable()
    this.#cpu = process.cpuUsage()
    this.#since = performance.now()
  }

  /** The figures since the last take() (or since it was made), and starts a new interval. */
  take (): LoopFigures {
    const h = this.#histogram
    const cpu = process.cpuUsage(this.#cpu)
    const now = performance.now()
    const delay = (ns: number): number => h.count === 0 ? 0 : Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS)
    const figures = {
      intervalMs: now - this.#since,
      cpuMs: (cpu.user + cpu.system) / 1000,
      p50Ms: delay(h.percentile(50)),
      p99Ms: delay(h.percentile(99)),
      maxMs: delay(h.max),
      samples: h.count
    }
    h.reset()
    this.#cpu = process.cpuUsage()
    this.#since = now
    return figures
  }

  /** Stops the histogram's timer. */
  stop (): void {
    this.#histogram.disable()
  }
}

/**
 * When a parent started this process with an IPC channel (the fault suite, the demo): answers its
 * `{ type: 'loop-stats' }` with this process's figures since the last ask, and starts a new
 * interval. Returns what stops it (for close); without a channel, does nothing.
 */
export function answerLoopStats (): () => void {
  if (process.send === undefined) return () => {}
  const monitor = new LoopMonitor()
  const onMessage = (message: unknown): void => {
    if ((message as { type?: unknown } | null)?.type !== 'loop-stats' || !process.connected) return
    const answer: LoopStatsMessage = { type: 'loop-stats', ...monitor.take() }
    process.send!(answer)
  }
  process.on('message', onMessage)
  return () => {
    process.off('message', onMessage)
    monitor.stop()
  }
}
