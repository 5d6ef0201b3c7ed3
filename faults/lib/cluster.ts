import { createWriteStream, type WriteStream } from 'node:fs'
import { Agent } from 'node:http'
import { join } from 'node:path'
import { startChild, type Child } from '../../app/demo/children.js'
import { serverEntry, workerEntry } from '../../app/demo/paths.js'
import type { LoopStatsMessage } from '../../common/loop-monitor.js'
import { openConnections, type Target } from './load.js'

/** An app replica started by the cluster. */
export interface Replica extends Target {
  readonly child: Child
}

/** A child that exited when the harness did not make it, or did not stop cleanly when asked to. */
export interface Crash {
  name: string
  code: number | null
  signal: string | null
  why: 'unexpected exit' | 'unclean stop'
  /** Its last output lines. */
  output: string[]
}

/**
 * The processes of one scenario: app replicas and workers, compiled, each a child process.
 * Tracks which replicas take traffic, when the harness stopped or killed each one, and every exit
 * it did not ask for.
 */
export class Cluster {
  readonly crashes: Crash[] = []
  /** Replicas the load may go to now. */
  readonly up: Replica[] = []
  /** When (load clock, ms) the harness began stopping or killed a replica, by name. */
  readonly stoppedAt = new Map<string, number>()
  /** Workers started, in order (killed ones included). */
  readonly workers: Child[] = []
  readonly #children: Child[] = []
  readonly #replicaList: Replica[] = []
  readonly #expected = new Set<Child>()
  readonly #paused = new Set<Child>()
  readonly #env: Record<string, string>
  readonly #now: () => number
  readonly #logs: { dir: string, prefix: string } | undefined
  #replicas = 0
  #workers = 0
  /** Keep-alive connections each replica gets before it takes traffic (see openConnections); 0: none. */
  connectionsPerReplica = 0

  /**
   * `env`: what every child gets; `now`: the load's clock; `logs`: write each child's whole output
   * to `<dir>/<prefix>-<name>.log` (otherwise only its last lines are kept, for a crash report).
   */
  constructor (env: Record<string, string>, now: () => number, logs?: { dir: string, prefix: string }) {
    this.#env = env
    this.#now = now
    this.#logs = logs
  }

  /** Starts the next replica (api-1, api-2, ...) and sends it traffic once it is ready. */
  async startReplica (): Promise<Replica> {
    const name = `api-${++this.#replicas}`
    const child = await this.#start(name, serverEntry, { INSTANCE_ID: name })
    // fifo: every free connection takes its turn, so none idles until the replica closes it.
    const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: Math.max(1024, this.connectionsPerReplica), scheduling: 'fifo' })
    const replica = { name, port: child.port!, child, agent }
    if (this.connectionsPerReplica > 0) await openConnections(replica, this.connectionsPerReplica)
    this.#replicaList.push(replica)
    this.up.push(replica)
    return replica
  }

  /** Starts the next worker (pricing-1, ...). */
  async startWorker (): Promise<Child> {
    const name = `pricing-${++this.#workers}`
    const worker = await this.#start(name, workerEntry, { WORKER_ID: name })
    this.workers.push(worker)
    return worker
  }

  /** Takes the replica out of the load, then stops it with SIGTERM; an exit other than 0 is a crash. */
  async stopReplica (replica: Replica): Promise<void> {
    this.#drop(replica)
    await this.stop(replica.child)
  }

  /** Takes the replica out of the load and kills it with SIGKILL at once, its calls still waiting. */
  async killReplica (replica: Replica): Promise<void> {
    this.#drop(replica)
    await this.kill(replica.child)
  }

  /** SIGKILL, expected: resolves once it exited. */
  async kill (child: Child): Promise<void> {
    this.#expected.add(child)
    if (!exited(child)) {
      const gone = new Promise(resolve => child.process.once('exit', resolve))
      child.process.kill('SIGKILL')
      await gone
    }
  }

  /**
   * SIGSTOP: the process freezes where it is, its connections open and its work in hand unfinished,
   * as a process the machine stops scheduling (a long GC pause, a VM stolen away) does.
   */
  pause (child: Child): void {
    if (exited(child)) return
    this.#paused.add(child)
    child.process.kill('SIGSTOP')
  }

  /** SIGCONT: a paused process goes on from where it was. */
  resume (child: Child): void {
    if (!this.#paused.delete(child) || exited(child)) return
    child.process.kill('SIGCONT')
  }

  /** SIGTERM, expected; an exit other than 0 (or the SIGKILL after the grace period) is a crash. */
  async stop (child: Child): Promise<void> {
    // Already gone: its exit was recorded then (a crash, unless the harness killed it).
    if (this.#expected.has(child) || exited(child)) return
    this.#expected.add(child)
    this.resume(child) // a paused process would not act on SIGTERM
    const { code, signal } = await child.stop()
    if (code !== 0) this.crashes.push({ name: child.name, code, signal, why: 'unclean stop', output: tail(child) })
  }

  /** Stops every child still running (SIGTERM), each replica's connections too. */
  async stopAll (): Promise<void> {
    this.up.splice(0)
    await Promise.all(this.#children.map(child => this.stop(child)))
    for (const replica of this.#replicaList) replica.agent.destroy()
  }

  /** SIGKILLs every child at once, without waiting: for a suite that gives up. */
  killAll (): void {
    for (const child of this.#children) {
      this.#expected.add(child)
      child.process.kill('SIGKILL')
    }
  }

  /** Every child started, replicas then workers, in the order they started (exited ones included). */
  get children (): Child[] {
    const replicas = this.#children.filter(child => child.name.startsWith('api-'))
    return [...replicas, ...this.#children.filter(child => !replicas.includes(child))]
  }

  /** Whether the child has not exited. */
  running (child: Child): boolean {
    return !exited(child)
  }

  /** Whether the child is paused (SIGSTOP) now. */
  paused (child: Child): boolean {
    return this.#paused.has(child)
  }

  /**
   * The child's CPU and event-loop delay since the last ask (common/loop-monitor.ts), or undefined
   * when it has exited, exits meanwhile, or does not answer within `timeoutMs`.
   */
  async loopStats (child: Child, timeoutMs: number): Promise<LoopStatsMessage | undefined> {
    const proc = child.process
    if (exited(child) || !proc.connected) return undefined
    return await new Promise(resolve => {
      const done = (stats: LoopStatsMessage | undefined): void => {
        clearTimeout(timer)
        proc.off('message', onMessage)
        proc.off('exit', onExit)
        resolve(stats)
      }
      const onMessage = (message: LoopStatsMessage): void => { if (message?.type === 'loop-stats') done(message) }
      const onExit = (): void => done(undefined)
      const timer = setTimeout(() => done(undefined), timeoutMs)
      proc.on('message', onMessage)
      proc.once('exit', onExit)
      proc.send({ type: 'loop-stats' }, err => { if (err !== null) done(undefined) })
    })
  }

  /** The replica's /stats, or undefined when it does not answer. */
  async stats (replica: Replica): Promise<Record<string, unknown> | undefined> {
    try {
      const res = await fetch(`http://127.0.0.1:${replica.port}/stats`, { signal: AbortSignal.timeout(2000) })
      return await res.json() as Record<string, unknown>
    } catch {
      return undefined
    }
  }

  #drop (replica: Replica): void {
    const i = this.up.indexOf(replica)
    if (i >= 0) this.up.splice(i, 1)
    this.stoppedAt.set(replica.name, this.#now())
  }

  async #start (name: string, entry: string, env: Record<string, string>): Promise<Child> {
    const child = await startChild(name, entry, { env: { ...this.#env, ...env } })
    this.#children.push(child)
    if (this.#logs !== undefined) keepOutput(child, createWriteStream(join(this.#logs.dir, `${this.#logs.prefix}-${name}.log`)))
    child.process.once('exit', (code, signal) => {
      if (!this.#expected.has(child)) this.crashes.push({ name, code, signal, why: 'unexpected exit', output: tail(child) })
    })
    return child
  }
}

/** Its output from now on (what came before ready is in child.output). */
function keepOutput (child: Child, file: WriteStream): void {
  file.write(child.output.join('\n') + '\n')
  child.process.stdout!.pipe(file)
  child.process.stderr!.on('data', (chunk: Buffer) => file.write(chunk))
}

/** The child's last lines, each cut short: a crash report should show what happened, not every stack. */
function tail (child: Child): string[] {
  return child.output.slice(-10).map(line => line.length > 400 ? `${line.slice(0, 400)}...` : line)
}

function exited (child: Child): boolean {
  return child.process.exitCode !== null || child.process.signalCode !== null
}
