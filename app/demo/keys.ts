import type { Redis } from 'ioredis'
import { keysPattern } from '../../plugin/redis/keys.js'

/** Every key the plugin wrote under `prefix` (SCAN, not KEYS; keys already past their TTL are not returned). */
export async function keysUnder (redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', keysPattern(prefix), 'COUNT', 1000)
    cursor = next
    keys.push(...found)
  } while (cursor !== '0')
  return keys
}
