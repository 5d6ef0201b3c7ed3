// A redis-server of one test's own, which the test may stop and start again (the shared one must
// keep running for the other tests).
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import { waitFor } from './wait.js'

/** A private Redis: its URL, and how to stop it and start it again on the same port. */
export interface PrivateRedis {
  url: string
  /** SIGKILL: gone at once, as in a crash. */
  kill: () => Promise<void>
  /** Starts a fresh server on the same port (nothing kept: notify-keyspace-events is off again). */
  start: () => Promise<void>
}

async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  return port
}

/** Starts a redis-server on a free port, with keyspace notifications off as Redis ships; stopped at teardown. */
export async function privateRedis (t: Test): Promise<PrivateRedis> {
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  let server: ChildProcess | undefined
  const start = async () => {
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    await waitFor('the private redis-server to answer', () => answers(url))
  }
  const kill = async () => {
    const exited = once(server!, 'exit')
    server!.kill('SIGKILL')
    await exited
  }
  t.teardown(() => { server?.kill('SIGKILL') })
  await start()
  return { url, kill, start }
}

async function answers (url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null })
  probe.on('error', () => {})
  try {
    return await probe.ping() === 'PONG'
  } catch {
    return false
  } finally {
    probe.disconnect()
  }
}
