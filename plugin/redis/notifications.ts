import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { errors } from '../errors.js'
import type { RedisClient } from './client.js'
import type { Subscriber } from './keyspace-waiter.js'

const HELP = 'set notify-keyspace-events to include the flags "K$" (keyspace events for string commands), ' +
  'e.g. `redis-cli CONFIG SET notify-keyspace-events K$` or `notify-keyspace-events K$` in redis.conf, ' +
  'or register the plugin with configureKeyspaceEvents: true where CONFIG SET is allowed'

/** The flags the plugin needs added to a notify-keyspace-events value; '' when none are missing. */
export function missingFlags (current: string): string {
  let missing = ''
  if (!current.includes('K')) missing += 'K'
  if (!current.includes('$') && !current.includes('A')) missing += '$'
  return missing
}

/** Adds K and $ to notify-keyspace-events, keeping the flags already set. `node` names the server in errors. */
export async function configureKeyspaceEvents (redis: Redis, node?: string): Promise<void> {
  try {
    const [, current = ''] = await redis.config('GET', 'notify-keyspace-events') as [string, string]
    const missing = missingFlags(current)
    if (missing !== '') await redis.config('SET', 'notify-keyspace-events', current + missing)
  } catch (err) {
    throw new errors.NOTIFICATIONS_DISABLED(
      `configureKeyspaceEvents could not set notify-keyspace-events${node === undefined ? '' : ` on ${node}`} (${(err as Error).message}). ` +
      'Managed Redis services often forbid CONFIG SET: set notify-keyspace-events to include "K$" in the service\'s configuration instead'
    )
  }
}

/** Why a server sends no events for the plugin: its notify-keyspace-events, or that it cannot be read; undefined when the flags are set. */
export async function describeFlags (redis: Redis): Promise<string | undefined> {
  try {
    const [, current = ''] = await redis.config('GET', 'notify-keyspace-events') as [string, string]
    return missingFlags(current) === '' ? undefined : `has notify-keyspace-events '${current}'`
  } catch (err) {
    return `does not tell its notify-keyspace-events (${(err as Error).message})`
  }
}

/**
 * Proves that keyspace notifications for this instance's keys arrive: writes a probe key under the
 * instance's own prefix and waits for its event. `explain` adds what is known of the cause.
 */
export async function probeNotifications (redis: RedisClient, waiter: Subscriber, keyBase: string, timeout: number, explain: () => Promise<string>): Promise<void> {
  const key = `${keyBase}:probe.${randomUUID()}`
  const arrived = waiter.expect(key, timeout)
  await redis.set(key, '1', 'PX', timeout + 1000)
  const ok = await arrived
  await redis.del(key)
  if (!ok) {
    throw new errors.NOTIFICATIONS_DISABLED(
      `Redis sent no keyspace notification for a probe key within ${timeout} ms: ${HELP}. ` +
      'Managed Redis services often forbid CONFIG SET; set the parameter in the service\'s configuration.' +
      await explain().catch(() => '')
    )
  }
}
