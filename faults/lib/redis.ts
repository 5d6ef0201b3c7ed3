import type { Redis } from 'ioredis'

/** Every key under `prefix:` (SCAN, which skips keys already past their TTL). */
export async function keysUnder (redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
    keys.push(...batch)
    cursor = next
  } while (cursor !== '0')
  return keys
}

/**
 * Kills the pub/sub connections of this scenario's replicas only (the plugin names them
 * `<keyPrefix>:subscriber:<instanceId>`): `CLIENT KILL TYPE pubsub` would also cut whatever else
 * shares this Redis. Resolves with how many were killed.
 */
export async function killSubscribers (redis: Redis, keyPrefix: string): Promise<number> {
  const list = await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub') as string
  const ids = list.split('\n')
    .map(line => Object.fromEntries(line.trim().split(' ').map(field => field.split('=', 2))) as Record<string, string>)
    .filter(client => client.name?.startsWith(`${keyPrefix}:subscriber:`))
    .map(client => client.id)
  let killed = 0
  for (const id of ids) killed += Number(await redis.call('CLIENT', 'KILL', 'ID', id))
  return killed
}
