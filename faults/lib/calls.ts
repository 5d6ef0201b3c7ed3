// Small questions scenarios ask of the calls when they check their claims.
import type { Call } from './load.js'
import { outcomeOf, type Outcome } from './tally.js'

/** The requests of each keyed call (see KeyedRetries), by the seq of its first request, in the order they were sent. */
export function byKey (calls: readonly Call[]): Map<number, Call[]> {
  const keyed = new Map<number, Call[]>()
  for (const call of calls) {
    if (call.key === undefined) continue
    const first = call.retryOf ?? call.seq
    const requests = keyed.get(first)
    if (requests === undefined) keyed.set(first, [call])
    else requests.push(call)
  }
  return keyed
}

/** Calls sent at or after `ms` (load clock). */
export function sentFrom (calls: readonly Call[], ms: number): Call[] {
  return calls.filter(call => call.sentAt >= ms)
}

/** Calls to `target` that were sent before `ms` and had not ended by then. */
export function waitingAt (calls: readonly Call[], target: string, ms: number): Call[] {
  return calls.filter(call => call.target === target && call.sentAt < ms && (call.endedAt === undefined || call.endedAt >= ms))
}

/** How many of `calls` ended each way. */
export function countOutcomes (calls: readonly Call[], stoppedAt: ReadonlyMap<string, number>): Partial<Record<Outcome, number>> {
  const counts: Partial<Record<Outcome, number>> = {}
  for (const call of calls) {
    const outcome = outcomeOf(call, stoppedAt)
    counts[outcome] = (counts[outcome] ?? 0) + 1
  }
  return counts
}

/** `{ answered: 10, timeout: 2 }` as `answered 10, timeout 2`. */
export function describe (counts: Partial<Record<Outcome, number>>): string {
  const parts = Object.entries(counts).map(([outcome, n]) => `${outcome} ${n}`)
  return parts.length === 0 ? 'none' : parts.join(', ')
}
