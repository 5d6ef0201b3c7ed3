import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { killSubscribers } from '../lib/redis.js'
import type { Scenario } from '../lib/types.js'

const REFUSED = '503 FST_KAFKA_REPLY_REDIS_UNAVAILABLE'
/** What the replicas' user may run: the plugin's commands, nothing else. */
const COMMANDS = ['-@all', '+set', '+getdel', '+del', '+psubscribe', '+ping', '+info', '+client|setname']

/**
 * Redis as a careful operator runs it: a password on the default user, and the replicas logged in
 * as a user that may touch only the plugin's keys and its instances' notification channels. Redis
 * checks PSUBSCRIBE patterns literally, so each instance's pattern is listed. The subscribers are
 * killed once, so that error answers are seen too: none may show an address, a password or a key.
 */
export const acl: Scenario = {
  name: 'acl',
  description: 'Redis with a password, the replicas logged in as an ACL user limited to the key prefix and their notification channels, affinity off: replies cross Redis, error answers show no stack, address, password or key.',
  appEnv: { REPLY_AFFINITY: 'false' },
  privateRedis: {
    server: { password: randomBytes(12).toString('hex') },
    async prepare (admin, { keyPrefix, instanceIds, server }) {
      const password = randomBytes(12).toString('hex')
      await admin.call('ACL', 'SETUSER', 'quotes-api', 'on', `>${password}`, 'resetkeys', `~${keyPrefix}:*`, 'resetchannels',
        ...instanceIds.map(id => `&__keyspace@0__:${keyPrefix}:{${id}}:*`), ...COMMANDS)
      return `redis://quotes-api:${password}@${server.address}`
    }
  },
  async fault (ctx) {
    const limited = new Redis(ctx.redisUrl)
    try {
      const refusals = await Promise.all([
        limited.set('someone-else:key', '1').then(() => 'allowed', (err: Error) => err.message),
        limited.config('GET', 'notify-keyspace-events').then(() => 'allowed', (err: Error) => err.message),
        limited.keys('*').then(() => 'allowed', (err: Error) => err.message)
      ])
      ctx.note('refusedToReplicaUser', refusals.filter(message => message.startsWith('NOPERM')).length)
      ctx.note('triedAsReplicaUser', refusals.length)
    } finally {
      limited.disconnect()
    }
    await ctx.sleep(ctx.durationMs * 0.5 - ctx.now())
    const killed = await killSubscribers(ctx.redis, ctx.keyPrefix)
    ctx.mark(`${killed} subscriber connections killed`)
    ctx.note('subscriberConnectionsKilled', killed)
    await ctx.sleep(ctx.durationMs - ctx.now() - 1000)
    const stats = await Promise.all(ctx.cluster.up.map(replica => ctx.cluster.stats(replica)))
    ctx.note('resolvedViaRedis', stats.reduce((sum, s) => sum + Number(s?.resolvedViaRedis ?? 0), 0))
  },
  checks: ({ tally: t, notes }) => [
    { claim: `the replicas' user was refused (NOPERM) a key outside the prefix, CONFIG and KEYS: ${notes.refusedToReplicaUser} of ${notes.triedAsReplicaUser}`, ok: notes.refusedToReplicaUser === notes.triedAsReplicaUser },
    { claim: `replies crossed Redis under that user: ${notes.resolvedViaRedis} resolved through Redis`, ok: Number(notes.resolvedViaRedis) > 0 },
    {
      claim: `every call answered 200 or, while a subscriber was reconnecting, refused (${REFUSED}): ${t.answered} + ${t.errorAnswers[REFUSED] ?? 0} of ${t.requests}`,
      ok: t.requests > 0 && t.answered + (t.errorAnswers[REFUSED] ?? 0) === t.requests
    },
    { claim: `error answers were seen (${t.requests - t.answered}) and none showed a stack, an address, a password or a key: ${t.leaks} did`, ok: t.requests > t.answered && t.leaks === 0 }
  ]
}
