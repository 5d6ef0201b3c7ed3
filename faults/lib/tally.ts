import type { Call } from './load.js'

/** How one request ended, as the suite counts it. */
export type Outcome = 'answered' | 'timeout' | 'unavailable' | 'other' | 'clientError' | 'toStopped' | 'crossed' | 'lost'

/** The count of each outcome, plus the detail behind `other`, `clientError` and `toStopped`. */
export interface Tally extends Record<Outcome, number> {
  requests: number
  /** Requests that were retries of an earlier one (same Idempotency-Key and payload). */
  retries: number
  /** Answers that carried `Idempotent-Replayed: true`. */
  replayed: number
  /** Error answers that showed a stack frame, an address, a password or a key (whatever their outcome). */
  leaks: number
  /** HTTP status -> count, of the `other` answers. */
  otherStatuses: Record<string, number>
  /** `status code` -> count, of every answer other than 200 (e.g. `503 FST_KAFKA_REPLY_CLOSING`). */
  errorAnswers: Record<string, number>
  /** Error code -> count, of client-side errors (on replicas up and on stopped ones). */
  clientErrorCodes: Record<string, number>
}

/**
 * Classifies one call. A 200 must carry the request's own quote, else it is crossed. A 503 or a
 * client-side error of a call whose replica the harness was stopping or had killed when the call
 * ended is `toStopped`: expected, and not lost. No answer at all by the deadline plus margin is lost.
 */
export function outcomeOf (call: Call, stoppedAt: ReadonlyMap<string, number>): Outcome {
  if (call.unanswered === true || call.endedAt === undefined) return 'lost'
  if (call.status === 200) return call.ownReply === true ? 'answered' : 'crossed'
  const stopped = stoppedAt.get(call.target)
  const onStopped = stopped !== undefined && call.endedAt >= stopped
  if (call.status === undefined) return onStopped ? 'toStopped' : 'clientError'
  if (call.status === 503) return onStopped ? 'toStopped' : 'unavailable'
  if (call.status === 504) return 'timeout'
  return 'other'
}

/** Counts the outcomes of `calls`. */
export function tally (calls: readonly Call[], stoppedAt: ReadonlyMap<string, number>): Tally {
  const t: Tally = {
    requests: calls.length,
    retries: 0,
    replayed: 0,
    leaks: 0,
    answered: 0,
    timeout: 0,
    unavailable: 0,
    other: 0,
    clientError: 0,
    toStopped: 0,
    crossed: 0,
    lost: 0,
    otherStatuses: {},
    errorAnswers: {},
    clientErrorCodes: {}
  }
  for (const call of calls) {
    const outcome = outcomeOf(call, stoppedAt)
    t[outcome]++
    if (call.retryOf !== undefined) t.retries++
    if (call.replayed === true) t.replayed++
    if (call.leak !== undefined) t.leaks++
    if (outcome === 'other') bump(t.otherStatuses, String(call.status))
    if (call.status !== undefined && call.status !== 200) bump(t.errorAnswers, `${call.status} ${call.code ?? '-'}`)
    if (call.error !== undefined && call.unanswered !== true) bump(t.clientErrorCodes, call.error)
  }
  return t
}

function bump (counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1
}
