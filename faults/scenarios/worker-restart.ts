import { countOutcomes, describe, sentFrom } from '../lib/calls.js'
import type { FaultContext, Scenario } from '../lib/types.js'

/** Load after the new worker is ready, whatever the duration: the traffic that must flow again. */
const AFTER_MS = 4000
/** Requests sent this soon after the new worker is ready may still queue behind the backlog. */
const SETTLE_MS = 1000
/** A timer may fire a fraction of a millisecond early: the deadline is kept in whole milliseconds. */
const EARLY_MS = 5

/**
 * At 30% of the load's duration, the worker is SIGKILLed (marked `worker killed`) and a new one
 * started (`new worker ready`); then `afterMs` more of load.
 */
export async function restartWorker (ctx: FaultContext, afterMs: number): Promise<void> {
  await ctx.sleep(ctx.durationMs * 0.3 - ctx.now())
  await ctx.cluster.kill(ctx.cluster.workers[0])
  ctx.mark('worker killed')
  await ctx.cluster.startWorker()
  ctx.mark('new worker ready')
  await ctx.sleep(afterMs)
}

/** The worker dies without a word: nothing answers until a new one has joined its group. */
export const workerRestart: Scenario = {
  name: 'worker-restart',
  description: 'The worker killed (SIGKILL) under load and started again: calls in flight end 504 at their deadline, traffic flows again after the restart.',
  fault: ctx => restartWorker(ctx, AFTER_MS),
  checks ({ calls, marks, stoppedAt, timeoutMs }) {
    const killed = marks['worker killed']
    const ready = marks['new worker ready']
    // Calls waiting at the kill, on any replica: their replies were never produced (or were, just before).
    const waiting = calls.filter(call => call.sentAt < killed && (call.endedAt ?? Infinity) >= killed)
    const waitingCounts = countOutcomes(waiting, stoppedAt)
    const timedOut = calls.filter(call => call.status === 504)
    const latencies = timedOut.map(call => call.endedAt! - call.sentAt)
    const late = latencies.filter(ms => ms < timeoutMs - EARLY_MS || ms > timeoutMs + 1000)
    const after = sentFrom(calls, ready + SETTLE_MS)
    const afterCounts = countOutcomes(after, stoppedAt)
    return [
      {
        // A reply already on its way when the worker died still arrives: 200 or 504, nothing else.
        claim: `calls waiting at the kill ended 200 or 504: ${describe(waitingCounts)}`,
        ok: (waitingCounts.timeout ?? 0) > 0 && (waitingCounts.answered ?? 0) + (waitingCounts.timeout ?? 0) === waiting.length
      },
      {
        claim: `every 504 came at its deadline (${timedOut.length} 504s, ${Math.round(Math.min(...latencies))}..${Math.round(Math.max(...latencies))} ms for a ${timeoutMs} ms deadline)`,
        ok: timedOut.length > 0 && late.length === 0
      },
      { claim: `every request sent from ${SETTLE_MS} ms after the new worker was ready answered 200: ${describe(afterCounts)}`, ok: after.length > 0 && afterCounts.answered === after.length }
    ]
  }
}
