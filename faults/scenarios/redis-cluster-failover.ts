import { setTimeout as sleep } from 'node:timers/promises'
import { keySlot } from '../../plugin/redis/key-slot.js'
import { countOutcomes, describe, sentFrom } from '../lib/calls.js'
import { isMaster, ownerOf } from '../lib/redis-cluster.js'
import type { Scenario } from '../lib/types.js'

/** The victim: the replica whose slot's master dies. */
const VICTIM = 'api-1'
/** Load after the promotion, whatever the duration: the traffic that must flow again. */
const AFTER_MS = 10_000
/** From the promotion until every call must be answered: the subscriber follows the slot within a slot check (2 s), then a deadline for the calls caught in between. */
const SETTLE_MS = 5000

/**
 * The Redis Cluster master that holds one replica's slot SIGKILLed under load (affinity off, so
 * replies cross Redis). The cluster promotes its replica after cluster-node-timeout; the plugin's
 * subscriber follows the slot to it, sweeps and listens there. The killed node is started again
 * at the end and rejoins as a replica.
 */
export const redisClusterFailover: Scenario = {
  name: 'redis-cluster-failover',
  description: `The Redis Cluster master holding ${VICTIM}'s slot killed (SIGKILL) under load, affinity off so replies cross Redis: its replica is promoted, calls meanwhile end 200, 503 or 504, and ${VICTIM} is answered through notifications again without a restart.`,
  appEnv: { REPLY_AFFINITY: 'false' },
  redisCluster: true,
  minDurationMs: 25_000,
  async fault (ctx) {
    const control = ctx.redisCluster!
    const slot = keySlot(`${ctx.keyPrefix}:{${VICTIM}}`)
    const { master, replica } = await ownerOf(slot)
    if (replica === undefined) throw new Error(`the master of slot ${slot} (${master.port}) has no replica`)
    ctx.note('slot', slot)
    ctx.note('master', master.port)
    ctx.note('replica', replica.port)
    const victim = ctx.cluster.up.find(r => r.name === VICTIM)!
    await ctx.sleep(ctx.durationMs * 0.3 - ctx.now())
    await control.kill(master.port)
    ctx.mark('master killed')
    while (!await isMaster(replica.port)) await sleep(50)
    ctx.mark('replica promoted')
    // When the victim's replies are found by notification again: its counter rises.
    const notified = async () => Number((await ctx.cluster.stats(victim))?.resolvedByNotification)
    const before = await notified()
    while (await notified() === before) await sleep(50)
    ctx.mark('notifications again')
    await ctx.sleep(AFTER_MS)
    await control.start(master.port)
    ctx.mark('old master back as a replica')
  },
  checks ({ calls, marks, notes, stoppedAt }) {
    const killed = marks['master killed']
    const promoted = marks['replica promoted']
    const again = marks['notifications again']
    notes.promotedMs = Math.round(promoted - killed)
    notes.notificationsAgainMs = Math.round(again - promoted)
    const during = calls.filter(call => call.sentAt >= killed && call.sentAt < again)
    const duringCounts = countOutcomes(during, stoppedAt)
    const after = sentFrom(calls, promoted + SETTLE_MS)
    const afterCounts = countOutcomes(after, stoppedAt)
    return [
      {
        claim: `calls sent from the kill until ${VICTIM}'s replies came by notification again ended 200, 503 or 504: ${describe(duringCounts)}`,
        ok: (duringCounts.answered ?? 0) + (duringCounts.unavailable ?? 0) + (duringCounts.timeout ?? 0) === during.length
      },
      { claim: `the replica was promoted ${notes.promotedMs} ms after the kill; ${VICTIM}'s replies came by notification again ${notes.notificationsAgainMs} ms after that`, ok: again > promoted },
      { claim: `every request sent from ${SETTLE_MS / 1000} s after the promotion answered 200: ${describe(afterCounts)}`, ok: after.length > 0 && afterCounts.answered === after.length }
    ]
  }
}
