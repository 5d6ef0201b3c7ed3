import { killSubscribers } from '../lib/redis.js'
import type { Scenario } from '../lib/types.js'

const EVERY_MS = 2000

const REFUSED = '503 FST_KAFKA_REPLY_REDIS_UNAVAILABLE'

/**
 * Pub/sub is at-most-once: events published while a subscriber reconnects are gone. The plugin
 * looks up every pending key once it has subscribed again, so no reply to a waiting call may be
 * missed; new calls are refused with 503 while the subscriber is down.
 */
export const subscriberKill: Scenario = {
  name: 'subscriber-kill',
  description: `The replicas' Redis subscriber connections killed every ${EVERY_MS / 1000} s under load, affinity off so replies cross Redis: every reply still arrives.`,
  appEnv: { REPLY_AFFINITY: 'false' },
  async fault (ctx) {
    let killed = 0
    let rounds = 0
    // The last kill leaves one interval of load to show that the replicas recovered.
    while (ctx.now() + 2 * EVERY_MS <= ctx.durationMs) {
      await ctx.sleep(EVERY_MS)
      killed += await killSubscribers(ctx.redis, ctx.keyPrefix)
      rounds++
    }
    ctx.mark(`${killed} subscriber connections killed in ${rounds} rounds`)
    ctx.note('subscriberConnectionsKilled', killed)
    ctx.note('killRounds', rounds)
  },
  checks: ({ tally: t, notes }) => [
    { claim: `subscriber connections were killed (${notes.subscriberConnectionsKilled} in ${notes.killRounds} rounds)`, ok: Number(notes.subscriberConnectionsKilled) > 0 },
    {
      claim: `every call taken got its reply, none 504: ${t.answered} answered, ${t.errorAnswers[REFUSED] ?? 0} refused (${REFUSED}) while a subscriber was down, of ${t.requests}`,
      ok: t.requests > 0 && t.answered + (t.errorAnswers[REFUSED] ?? 0) === t.requests
    }
  ]
}
