import { countOutcomes, describe } from '../lib/calls.js'
import type { Scenario } from '../lib/types.js'

/**
 * A deploy: each replica in turn stops gracefully (SIGTERM: waiting calls get 503 at once, it
 * leaves the reply group) and a new one joins. Replies in flight on the partitions that move must
 * still reach the replicas that wait for them.
 */
export const rollingRestart: Scenario = {
  name: 'rolling-restart',
  description: 'A rolling restart of the app replicas under load (SIGTERM, a new one joins, the group rebalances), affinity off: no reply lost for calls whose replica stayed up.',
  appEnv: { REPLY_AFFINITY: 'false' },
  async fault (ctx) {
    const originals = [...ctx.cluster.up]
    const gap = ctx.durationMs / (originals.length + 1)
    for (const [i, old] of originals.entries()) {
      await ctx.sleep(gap * (i + 1) - ctx.now())
      ctx.mark(`${old.name} stopping`)
      await ctx.cluster.stopReplica(old)
      ctx.mark(`${old.name} stopped`)
      const fresh = await ctx.cluster.startReplica()
      ctx.mark(`${fresh.name} joined`)
    }
  },
  checks ({ calls, stoppedAt }) {
    // Stayed up: its replica was never stopped, or the call ended before the stop began.
    const stayedUp = calls.filter(call => !stoppedAt.has(call.target) || (call.endedAt ?? Infinity) < stoppedAt.get(call.target)!)
    const onStopping = calls.filter(call => !stayedUp.includes(call))
    const counts = countOutcomes(stayedUp, stoppedAt)
    return [
      { claim: `every call to a replica that stayed up answered 200 with its own quote: ${describe(counts)}`, ok: stayedUp.length > 0 && counts.answered === stayedUp.length },
      { claim: `calls on a stopping replica: ${describe(countOutcomes(onStopping, stoppedAt))}`, ok: true }
    ]
  }
}
