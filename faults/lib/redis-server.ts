// A redis-server of its own on a free port, which its owner may kill and start again: for a fault
// or a test that breaks Redis (the shared one must keep running for everything else).
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'

/** Settings a real deployment would keep in redis.conf, so they hold again after a restart. */
export interface RedisServerOptions {
  /** notify-keyspace-events at start (default '': off, as Redis ships). */
  notifyKeyspaceEvents?: string
  /** requirepass: the password of the default user. */
  password?: string
  /** TLS only (no plain port): PEM files of the server's certificate and key, and the CA that signed it. */
  tls?: { certFile: string, keyFile: string, caFile: string, ca: string }
}

export class RedisServer {
  readonly port: number
  readonly #options: RedisServerOptions
  #process: ChildProcess | undefined

  private constructor (port: number, options: RedisServerOptions) {
    this.port = port
    this.#options = options
  }

  /** Starts one on a free port and resolves once it answers PING. */
  static async start (options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), options)
    await server.start()
    return server
  }

  /** The default user's URL (with its password, when there is one); rediss:// for a TLS server. */
  get url (): string {
    const auth = this.#options.password === undefined ? '' : `:${encodeURIComponent(this.#options.password)}@`
    return `${this.#options.tls === undefined ? 'redis' : 'rediss'}://${auth}127.0.0.1:${this.port}`
  }

  /** `127.0.0.1:<port>`: what an error answer must never show. */
  get address (): string {
    return `127.0.0.1:${this.port}`
  }

  /** Starts a fresh server on the same port: nothing kept but the options (no keys, no ACL users). */
  async start (): Promise<void> {
    const { tls } = this.#options
    const ports = tls === undefined
      ? ['--port', String(this.port)]
      : ['--port', '0', '--tls-port', String(this.port), '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile,
          '--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', 'no']
    const args = [...ports, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--notify-keyspace-events', this.#options.notifyKeyspaceEvents ?? '']
    if (this.#options.password !== undefined) args.push('--requirepass', this.#options.password)
    this.#process = spawn('redis-server', args, { stdio: 'ignore' })
    const giveUp = Date.now() + 10_000
    while (!(await answers(this.url, tls?.ca))) {
      if (this.#process.exitCode !== null || Date.now() > giveUp) throw new Error(`redis-server on port ${this.port} did not start`)
      await sleep(20)
    }
  }

  /** SIGKILL: gone at once, as in a crash. */
  async kill (): Promise<void> {
    const server = this.#process
    if (server === undefined || server.exitCode !== null || server.signalCode !== null) return
    const exited = once(server, 'exit')
    server.kill('SIGKILL')
    await exited
  }
}

async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  return port
}

async function answers (url: string, ca: string | undefined): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, ...(ca === undefined ? {} : { tls: { ca } }) })
  probe.on('error', () => {})
  try {
    return await probe.ping() === 'PONG'
  } catch {
    return false
  } finally {
    probe.disconnect()
  }
}
