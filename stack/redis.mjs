// The Redis half of the stack: probe a server, or start Debian's redis-server; enable keyspace events.
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { RUN_DIR, StackError, shown } from './paths.mjs'
import { isAlive, writeState } from './proc.mjs'

export const REDIS_DIR = join(RUN_DIR, 'redis')
const DEFAULT_URL = 'redis://127.0.0.1:6379'

export function redisUrl () {
  return process.env.REDIS_URL || DEFAULT_URL
}

// One attempt, no reconnects and no offline queue: a probe must fail fast, not retry forever.
function connect (url, timeoutMs = 2000) {
  return new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null
  })
}

/** Runs fn on a probe connection of its own to `url` (one attempt, 2 s timeouts), then closes it. */
export async function withClient (url, fn) {
  const client = connect(url)
  client.on('error', () => {}) // failures surface through the awaited calls
  try {
    await client.connect()
    return await fn(client)
  } finally {
    client.disconnect()
  }
}

export async function redisAnswers (url) {
  try {
    return await withClient(url, async client => (await client.ping()) === 'PONG')
  } catch {
    return false
  }
}

/** Starts redis-server (in-memory only) on 127.0.0.1 at the port of the URL, returning once it answers. */
export async function startRedis (url, log, timeoutMs = 10_000) {
  const { hostname, port } = new URL(url)
  if (hostname !== '127.0.0.1' && hostname !== 'localhost') {
    throw new StackError(`no Redis answers at ${url}, and the stack only starts one on 127.0.0.1: start it yourself or unset REDIS_URL`)
  }
  if (spawnSync('redis-server', ['--version']).error?.code === 'ENOENT') {
    throw new StackError('redis-server not found (Debian: apt-get install redis-server). Or point REDIS_URL at a Redis that already runs.')
  }
  mkdirSync(REDIS_DIR, { recursive: true })
  const logFile = join(REDIS_DIR, 'redis.log')
  const out = openSync(logFile, 'a')
  // Our own detached session instead of --daemonize: we get the pid directly, no pid file race.
  const child = spawn('redis-server', [
    '--bind', '127.0.0.1', '--port', port || '6379', '--dir', REDIS_DIR,
    '--save', '', '--appendonly', 'no', '--daemonize', 'no'
  ], { detached: true, stdio: ['ignore', out, out] })
  child.unref()
  closeSync(out)
  // redis-server rewrites its command line to "redis-server <addr>"; the name is what stays.
  const state = { pid: child.pid, address: url, marker: 'redis-server', log: logFile, startedAt: new Date().toISOString() }
  writeState('redis', state)
  log(`starting redis-server at ${url} (pid ${child.pid}, log ${shown(logFile)})`)
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
    if (await redisAnswers(url)) return state
    if (!isAlive(child.pid)) break
  }
  throw new StackError(`redis-server (pid ${child.pid}) did not answer at ${url}: see ${shown(logFile)}`)
}

/**
 * Makes sure notify-keyspace-events includes K and $ (keyspace events for string commands),
 * keeping any flags already set. Returns the setting before and after.
 */
export async function ensureKeyspaceEvents (url) {
  return withClient(url, async client => {
    const get = async () => (await client.config('GET', 'notify-keyspace-events'))[1] ?? ''
    try {
      const before = await get()
      // 'A' is Redis's alias for all event classes, '$' included.
      const missing = (before.includes('K') ? '' : 'K') + (/[$A]/.test(before) ? '' : '$')
      if (!missing) return { before, after: before, changed: false }
      await client.config('SET', 'notify-keyspace-events', before + missing)
      return { before, after: await get(), changed: true }
    } catch (err) {
      throw new StackError(`could not set notify-keyspace-events on ${url} (${err.message}). Managed Redis often forbids CONFIG: set notify-keyspace-events to include K and $ in the server's configuration.`)
    }
  })
}
