import type { Redis } from 'ioredis'
import { idempotencyPattern, keysPattern } from '../../plugin/redis/keys.js'

/**
 * Every reply key the plugin wrote under `prefix` (SCAN, not KEYS; keys already past their TTL are
 * not returned). Idempotency records are not among them: they are meant to outlive their calls
 * (recordsUnder counts them).
 */
export async function keysUnder (redis: Redis, prefix: string): Promise<string[]> {
  return await scanAll(redis, keysPattern(prefix))
}

/** The idempotency records under `prefix`. */
export async function recordsUnder (redis: Redis, prefix: string): Promise<string[]> {
  return await scanAll(redis, idempotencyPattern(prefix))
}

async function scanAll (redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    keys.push(...found)
  } while (cursor !== '0')
  return keys
}
