// How late the 504s came, as the load generator measured them, and whose lateness it was.
import type { Call } from './load.js'

/** p50, p99 and max of some figures, ms. */
export interface Spread {
  p50: number
  p99: number
  max: number
}

/** The parts of a late 504. */
export type Part = 'timer' | 'answer' | 'rest'

/** The 504s of a scenario: how late each came, and for the late ones, where the time went. */
export interface Lateness {
  /** 504s answered. */
  count: number
  /** ended − sent − deadline, ms, of every 504 (undefined without any). */
  lateness?: Spread
  /** A 504 later than this is late: a tenth of the deadline, ms. */
  lateAfterMs: number
  /** 504s more than lateAfterMs late. */
  late: number
  /**
   * The late 504s by the part that took most of their lateness: `timer`, the replica's deadline
   * timer fired late; `answer`, the replica took long from then to sending the answer; `rest`,
   * everything the replica's Server-Timing does not cover (the request reaching the replica's
   * handler late: the generator sent it late, or the replica read it late; the answer reaching the
   * generator late). `unknown`: the 504 carried no Server-Timing.
   */
  blame: Record<Part | 'unknown', number>
  /**
   * Of the late 504s put down to the rest, those whose request opened a new connection: one the
   * replica did not accept at once (a full accept queue costs a second or more) counts here.
   */
  restOnNewConnection: number
  /** Each part's spread over the late 504s that carried Server-Timing (undefined without any). */
  lateParts?: Record<Part, Spread>
  /** Each part's spread over every 504 that carried Server-Timing (undefined without any). */
  parts?: Record<Part, Spread>
}

/**
 * The lateness of `calls`' 504s for a `timeoutMs` deadline. A 504's lateness is split with the
 * replica's `Server-Timing: timer;dur=..., answer;dur=...`; what is left is the rest.
 */
export function latenessOf (calls: readonly Call[], timeoutMs: number): Lateness {
  const lateAfterMs = timeoutMs / 10
  const timedOut = calls.filter(call => call.status === 504 && call.endedAt !== undefined)
  const blame = { timer: 0, answer: 0, rest: 0, unknown: 0 }
  let restOnNewConnection = 0
  const all: Array<Record<Part, number>> = []
  const late: Array<Record<Part, number>> = []
  for (const call of timedOut) {
    const ms = call.endedAt! - call.sentAt - timeoutMs
    const timing = call.serverTiming
    const parts = timing === undefined ? undefined : { timer: timing.timerMs, answer: timing.answerMs, rest: ms - timing.timerMs - timing.answerMs }
    if (parts !== undefined) all.push(parts)
    if (ms <= lateAfterMs) continue
    if (parts === undefined) {
      blame.unknown++
      continue
    }
    late.push(parts)
    const most = (['timer', 'answer', 'rest'] as const).reduce((a, b) => parts[b] > parts[a] ? b : a)
    blame[most]++
    if (most === 'rest' && call.newConnection === true) restOnNewConnection++
  }
  const lateness = timedOut.map(call => call.endedAt! - call.sentAt - timeoutMs)
  return {
    count: timedOut.length,
    ...(lateness.length === 0 ? {} : { lateness: spread(lateness) }),
    lateAfterMs,
    late: lateness.filter(ms => ms > lateAfterMs).length,
    blame,
    restOnNewConnection,
    ...(late.length === 0 ? {} : { lateParts: partSpreads(late) }),
    ...(all.length === 0 ? {} : { parts: partSpreads(all) })
  }
}

/** One line: the spread, and where the late ones' time went. */
export function describeLateness (l: Lateness, timeoutMs: number): string {
  if (l.lateness === undefined) return 'no 504s'
  const head = `${l.count} 504s, ended − sent − ${timeoutMs} ms: p50 ${ms(l.lateness.p50)}, p99 ${ms(l.lateness.p99)}, max ${ms(l.lateness.max)} ms`
  const parts = l.lateParts ?? l.parts
  const spreadOf = parts === undefined
    ? ''
    : ` (p99 of ${l.lateParts === undefined ? 'every 504' : 'the late ones'}: timer ${ms(parts.timer.p99)}, answer ${ms(parts.answer.p99)}, rest ${ms(parts.rest.p99)} ms)`
  if (l.late === 0) return `${head}; none more than ${ms(l.lateAfterMs)} ms late${spreadOf}`
  const { timer, answer, rest, unknown } = l.blame
  return `${head}; ${l.late} more than ${ms(l.lateAfterMs)} ms late, mostly: timer fired late ${timer}, answered late ${answer}, ` +
    `the rest ${rest} (${l.restOnNewConnection} of them on a new connection)` +
    `${unknown === 0 ? '' : `, no Server-Timing ${unknown}`}${spreadOf}`
}

function partSpreads (rows: ReadonlyArray<Record<Part, number>>): Record<Part, Spread> {
  return { timer: spread(rows.map(r => r.timer)), answer: spread(rows.map(r => r.answer)), rest: spread(rows.map(r => r.rest)) }
}

/** Nearest-rank percentiles. */
function spread (values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))]
  return { p50: round(at(50)), p99: round(at(99)), max: round(sorted.at(-1)!) }
}

function round (n: number): number {
  return Math.round(n * 10) / 10
}

function ms (n: number): string {
  return String(Math.round(n))
}
