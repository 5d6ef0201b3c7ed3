import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type * as Stack from '../../stack/stack.mjs'
import { projectRoot } from '../../app/demo/paths.js'
import { countOutcomes, describe, sentFrom } from '../lib/calls.js'
import type { Scenario } from '../lib/types.js'

/** How long the broker stays down. */
const DOWN_MS = 2000
/** Load after the broker is back, whatever the duration: the traffic that must flow again. */
const AFTER_MS = 15_000
/**
 * Clients reconnect with kafkajs's exponential backoff and consumers rejoin their groups: allow
 * them this long. Traffic usually flows again within 5 s, but once it took over 6 s.
 */
const SETTLE_MS = 10_000

/**
 * The broker stopped and started again on the same data under load (the stack's broker only:
 * `restartKafka` refuses one it did not start). Calls during the outage end 503 or 504 within
 * their deadline; the replicas and the worker recover by themselves.
 */
export const kafkaRestart: Scenario = {
  name: 'kafka-restart',
  description: `The Kafka broker restarted under load (down about ${DOWN_MS / 1000} s plus its shutdown and start): calls meanwhile end 503 or 504 in time, and every process recovers by itself.`,
  minDurationMs: 20_000,
  async fault (ctx) {
    const stack = await import(pathToFileURL(join(projectRoot, 'stack/stack.mjs')).href) as typeof Stack
    await ctx.sleep(ctx.durationMs * 0.2 - ctx.now())
    ctx.mark('broker stopping')
    await stack.restartKafka({ log: () => {}, pauseMs: DOWN_MS })
    ctx.mark('broker back')
    await ctx.sleep(AFTER_MS)
  },
  checks ({ calls, marks, stoppedAt }) {
    const during = calls.filter(call => call.sentAt >= marks['broker stopping'] && call.sentAt < marks['broker back'])
    const duringCounts = countOutcomes(during, stoppedAt)
    const after = sentFrom(calls, marks['broker back'] + SETTLE_MS)
    const afterCounts = countOutcomes(after, stoppedAt)
    const ended = (duringCounts.answered ?? 0) + (duringCounts.timeout ?? 0) + (duringCounts.unavailable ?? 0)
    return [
      { claim: `calls sent while the broker was away ended 200, 503 or 504: ${describe(duringCounts)}`, ok: during.length > 0 && ended === during.length },
      { claim: `every request sent from ${SETTLE_MS / 1000} s after the broker was back answered 200: ${describe(afterCounts)}`, ok: after.length > 0 && afterCounts.answered === after.length }
    ]
  }
}
