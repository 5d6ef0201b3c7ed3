// A peer in a child process that talks in lines: it prints `ready ...` once it can take calls,
// takes `call <id> <args...>` on stdin and prints `<kind> <id> <rest>` for each; it stops when its
// stdin closes. The Spring and NestJS interop peers work this way.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { Test } from 'tap'

/** One answer of the peer: its kind (`reply`, `error`) and the rest of its line. */
export interface PeerAnswer {
  kind: string
  rest: string
}

/** A running line peer. */
export interface LinePeer {
  /** What followed `ready` on its ready line. */
  readyLine: string
  /** Sends `call <id> <args>` and resolves with the peer's answer to that id. */
  call: (args: string) => Promise<PeerAnswer>
}

/** Starts `command args` and resolves once it printed `ready`; stopped at teardown (killed after 10 s). */
export async function startLinePeer (t: Test, name: string, command: string, args: string[]): Promise<LinePeer> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = '' // the last of it, to say why the peer did not start
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-20_000) })
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  t.teardown(async () => {
    child.stdin.end()
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  })

  const waiting = new Map<string, (answer: PeerAnswer) => void>()
  let onReady!: (line: string) => void
  const ready = new Promise<string>(resolve => { onReady = resolve })
  createInterface({ input: child.stdout }).on('line', line => {
    if (line === 'ready' || line.startsWith('ready ')) return onReady(line.slice(6))
    const [kind, id, ...rest] = line.split(' ')
    const settle = waiting.get(id)
    if (settle === undefined) return
    waiting.delete(id)
    settle({ kind, rest: rest.join(' ') })
  })
  const readyLine = await Promise.race([
    ready,
    exited.then(() => { throw new Error(`the ${name} exited before it was ready: ${stderr}`) })
  ])

  let next = 0
  return {
    readyLine,
    call: args => new Promise(resolve => {
      const id = String(next++)
      waiting.set(id, resolve)
      child.stdin.write(`call ${id} ${args}\n`)
    })
  }
}
