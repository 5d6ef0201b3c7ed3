import { countOutcomes, describe, sentFrom, waitingAt } from '../lib/calls.js'
import type { Scenario } from '../lib/types.js'

/** The survivor's load after the kill: past the dead member's session timeout (6 s) and the rebalance. */
const AFTER_MS = 10_000
/** From the kill until the dead member's partition has surely moved to the survivor. */
const TAKEOVER_MS = 8000

/**
 * A replica dies with its calls waiting. Replies meant for it are still consumed and may be
 * written to Redis by the survivor, where nobody reads them: they must expire with their deadline.
 */
export const replicaSigkill: Scenario = {
  name: 'replica-sigkill',
  description: 'A replica killed (SIGKILL) while its calls wait, affinity off: its calls end as connection errors, replies meant for it expire, the survivor carries on.',
  appEnv: { REPLY_AFFINITY: 'false' },
  async fault (ctx) {
    await ctx.sleep(ctx.durationMs * 0.3 - ctx.now())
    const victim = ctx.cluster.up[0]
    ctx.note('killed', victim.name)
    await ctx.cluster.killReplica(victim)
    ctx.mark(`${victim.name} killed`)
    await ctx.sleep(AFTER_MS)
  },
  checks ({ calls, marks, notes, stoppedAt }) {
    const victim = String(notes.killed)
    const killedAt = marks[`${victim} killed`]
    const waiting = waitingAt(calls, victim, stoppedAt.get(victim)!)
    const waitingCounts = countOutcomes(waiting, stoppedAt)
    const later = sentFrom(calls, killedAt + TAKEOVER_MS)
    const laterCounts = countOutcomes(later, stoppedAt)
    return [
      { claim: `calls waiting on ${victim} when it was killed ended as connection errors (or 200 just before): ${describe(waitingCounts)}`, ok: (waitingCounts.toStopped ?? 0) > 0 && (waitingCounts.toStopped ?? 0) + (waitingCounts.answered ?? 0) === waiting.length },
      { claim: `every request sent from ${TAKEOVER_MS / 1000} s after the kill answered 200 by the survivor: ${describe(laterCounts)}`, ok: later.length > 0 && laterCounts.answered === later.length }
    ]
  }
}
