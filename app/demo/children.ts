import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'

/** A service started as a child process. */
export interface Child {
  readonly name: string
  readonly process: ChildProcess
  /** The port it listens on, when it is an HTTP service. */
  readonly port: number | undefined
  /** Its latest output lines, to show when something went wrong. */
  readonly output: string[]
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code and how long it took. */
  stop: (graceMs?: number) => Promise<{ code: number | null, signal: NodeJS.Signals | null, ms: number }>
}

interface ReadyMessage { type: 'ready', id: string, port?: number }

const KEEP_LINES = 40

/** Options of startChild. */
export interface ChildOptions {
  /** Variables added to this process's environment. */
  env: Record<string, string>
  /** Also pass the child's output through to this process's (default: only keep its last lines). */
  echo?: boolean
  readyMs?: number
}

/**
 * Starts `node <entry>` (with this process's Node flags, so a TypeScript loader carries over) and
 * resolves once the child reports `ready` over IPC. Rejects, with the child's last output, when it
 * exits first or is not ready within `readyMs`.
 */
export async function startChild (name: string, entry: string, { env, echo = false, readyMs = 30_000 }: ChildOptions): Promise<Child> {
  const child = spawn(process.execPath, [...process.execArgv, entry], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc']
  })
  const output: string[] = []
  const keep = (to: NodeJS.WriteStream) => (chunk: Buffer) => {
    if (echo) to.write(chunk)
    output.push(...chunk.toString().split('\n').filter(Boolean))
    output.splice(0, Math.max(0, output.length - KEEP_LINES))
  }
  child.stdout!.on('data', keep(process.stdout))
  child.stderr!.on('data', keep(process.stderr))
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>

  let timer: NodeJS.Timeout | undefined
  const ready = await Promise.race([
    new Promise<ReadyMessage>(resolve => child.on('message', (message: ReadyMessage) => { if (message.type === 'ready') resolve(message) })),
    exited.then(([code, signal]) => { throw new Error(`${name} exited (${signal ?? code}) before it was ready:\n${output.join('\n')}`) }),
    new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${name} was not ready within ${readyMs} ms:\n${output.join('\n')}`)), readyMs)
    })
  ]).catch(err => {
    child.kill('SIGKILL')
    throw err
  }).finally(() => clearTimeout(timer))

  return {
    name,
    process: child,
    port: ready.port,
    output,
    async stop (graceMs = 10_000) {
      const started = performance.now()
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const force = setTimeout(() => child.kill('SIGKILL'), graceMs)
        await exited
        clearTimeout(force)
      }
      return { code: child.exitCode, signal: child.signalCode, ms: performance.now() - started }
    }
  }
}
