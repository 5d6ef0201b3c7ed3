// A redis-server of one test's own, which the test may stop and start again (the shared one must
// keep running for the other tests).
import type { Test } from 'tap'
import { RedisServer } from '../../faults/lib/redis-server.js'

/** A private Redis: its URL, and how to stop it and start it again on the same port. */
export interface PrivateRedis {
  url: string
  /** SIGKILL: gone at once, as in a crash. */
  kill: () => Promise<void>
  /** Starts a fresh server on the same port (nothing kept: notify-keyspace-events is off again). */
  start: () => Promise<void>
}

/** Starts a redis-server on a free port, with keyspace notifications off as Redis ships; killed at teardown. */
export async function privateRedis (t: Test): Promise<PrivateRedis> {
  const server = await RedisServer.start()
  t.teardown(() => server.kill())
  return { url: server.url, kill: async () => await server.kill(), start: async () => await server.start() }
}
