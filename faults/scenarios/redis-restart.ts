import { countOutcomes, describe, sentFrom } from '../lib/calls.js'
import type { Scenario } from '../lib/types.js'

/** How long Redis stays down. */
const DOWN_MS = 3000
/** Load after Redis is back, whatever the duration: the traffic that must flow again. */
const AFTER_MS = 10_000
/** The replicas see a killed Redis at once (its sockets close); allow them this long all the same. */
const NOTICE_MS = 500
/** ioredis reconnects with a backoff of up to 2 s, then the plugin subscribes and sweeps again. */
const SETTLE_MS = 5000

const REFUSED = '503 FST_KAFKA_REPLY_REDIS_UNAVAILABLE'

/**
 * Redis killed and started again under load, on a server of the scenario's own. It keeps nothing
 * but its configuration (notify-keyspace-events K$, as a redis.conf would set it): every key and
 * subscription is gone. While it is down the replicas refuse calls at once; afterwards they
 * reconnect, subscribe again and answer, without a restart.
 */
export const redisRestart: Scenario = {
  name: 'redis-restart',
  description: `Redis killed (SIGKILL) under load and started again ${DOWN_MS / 1000} s later, affinity off so replies cross Redis: calls meanwhile are refused at once with 503, and the replicas recover by themselves.`,
  appEnv: { REPLY_AFFINITY: 'false' },
  privateRedis: {},
  minDurationMs: 20_000,
  async fault (ctx) {
    await ctx.sleep(ctx.durationMs * 0.3 - ctx.now())
    await ctx.redisServer!.kill()
    ctx.mark('redis killed')
    await ctx.sleep(DOWN_MS)
    await ctx.redisServer!.start()
    ctx.mark('redis back')
    await ctx.sleep(AFTER_MS)
  },
  checks ({ calls, marks, stoppedAt, timeoutMs }) {
    const killed = marks['redis killed']
    const back = marks['redis back']
    const waiting = calls.filter(call => call.sentAt < killed && (call.endedAt ?? Infinity) >= killed)
    const waitingCounts = countOutcomes(waiting, stoppedAt)
    const down = calls.filter(call => call.sentAt >= killed + NOTICE_MS && call.sentAt < back)
    const refused = down.filter(call => `${call.status} ${call.code}` === REFUSED)
    const refusedMs = Math.max(...refused.map(call => call.endedAt! - call.sentAt))
    const after = sentFrom(calls, back + SETTLE_MS)
    const afterCounts = countOutcomes(after, stoppedAt)
    return [
      {
        // A reply the waiting replica consumed itself still arrives, one another replica had to hand
        // over cannot (504); a request still on its way to the replica is refused (503).
        claim: `calls under way when Redis died ended 200, 503 or 504: ${describe(waitingCounts)}`,
        ok: (waitingCounts.answered ?? 0) + (waitingCounts.unavailable ?? 0) + (waitingCounts.timeout ?? 0) === waiting.length
      },
      {
        claim: `every call sent while Redis was down was refused (${REFUSED}) well before its ${timeoutMs} ms deadline: ${refused.length} of ${down.length}, the slowest in ${Math.round(refusedMs)} ms`,
        ok: down.length > 0 && refused.length === down.length && refusedMs < timeoutMs / 2
      },
      { claim: `every request sent from ${SETTLE_MS / 1000} s after Redis was back answered 200: ${describe(afterCounts)}`, ok: after.length > 0 && afterCounts.answered === after.length }
    ]
  }
}
