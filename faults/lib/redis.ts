import type { Redis } from 'ioredis'

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
