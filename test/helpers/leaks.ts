// What keeps a test process alive: the active timers and sockets, described well enough to tell
import { createRequire, syncBuiltinESMExports } from 'node:module'
// whose they are.

interface Handle { constructor?: { name?: string }, remotePort?: number, remoteAddress?: string }
interface TimerLike { _idleTimeout?: number, _onTimeout?: (...args: unknown[]) => unknown, hasRef?: () => boolean }

/** The active handles and timers of this process that keep it alive, one line each. */
export function aliveHandles (): string[] {
  const proc = process as unknown as { _getActiveHandles: () => Handle[] }
  const lines: string[] = []
  for (const handle of proc._getActiveHandles()) {
    const name = handle.constructor?.name ?? 'unknown'
    if (name === 'Socket' && handle.remotePort !== undefined) lines.push(`socket to ${handle.remoteAddress ?? '?'}:${handle.remotePort}`)
    else if (name === 'Timeout' || name === 'Immediate') {
      const timer = handle as unknown as TimerLike
      if (timer.hasRef?.() === false) continue
      lines.push(`timer every ${timer._idleTimeout ?? '?'} ms: ${String(timer._onTimeout).replace(/\s+/g, ' ').slice(0, 160)}`)
    } else if (name !== 'WriteStream' && name !== 'ReadStream' && name !== 'Pipe' && name !== 'Socket') {
      lines.push(name)
    }
  }
  const resources = process.getActiveResourcesInfo().filter(name => !['TTYWrap', 'PipeWrap', 'FSReqCallback'].includes(name))
  return [...lines, `resources: ${resources.join(', ')}`]
}

interface Tracked { timer: { hasRef?: () => boolean, _destroyed?: boolean }, stack: string }
const tracked = new Set<Tracked>()

/**
 * Records where every timer is made from now on (setTimeout and setInterval, global and from
 * node:timers), so that liveTimers() can tell whose a timer left running is. Import it before the
 * code under test.
 */
export function trackTimers (): void {
  const timers = createRequire(import.meta.url)('node:timers') as Record<string, unknown>
  for (const name of ['setTimeout', 'setInterval'] as const) {
    const original = globalThis[name] as (...args: unknown[]) => Tracked['timer']
    const wrapped = (...args: unknown[]) => {
      const timer = original(...args)
      tracked.add({ timer, stack: new Error().stack?.split('\n').slice(2, 7).join(' <- ') ?? '' })
      return timer
    }
    ;(globalThis as Record<string, unknown>)[name] = wrapped
    timers[name] = wrapped
  }
  syncBuiltinESMExports()
}

/** Where the timers made since trackTimers() that still keep the process alive were made. */
export function liveTimers (): string[] {
  const live: string[] = []
  for (const entry of tracked) {
    if (entry.timer._destroyed === true) tracked.delete(entry)
    else if (entry.timer.hasRef?.() !== false) live.push(entry.stack)
  }
  return live
}

const OURS = ['/plugin/', '/node_modules/kafkajs/', '/node_modules/@platformatic/kafka/', '/node_modules/ioredis/']

/**
 * What the plugin, the responder and their Kafka and Redis clients left running: each live timer
 * made from their code since trackTimers() (process.getActiveResourcesInfo() names only a kind,
 * "Timeout", so each is told by where it was made) and each socket to one of `ports`. Empty once
 * everything they opened is closed.
 */
export function leftBehind (ports: number[]): string[] {
  const proc = process as unknown as { _getActiveHandles: () => Handle[] }
  const sockets = proc._getActiveHandles()
    .filter(h => h.constructor?.name === 'Socket' && ports.includes(h.remotePort ?? -1))
    .map(h => `socket to ${h.remoteAddress ?? '?'}:${h.remotePort ?? '?'}`)
  const timers = liveTimers().filter(stack => OURS.some(dir => stack.includes(dir))).map(stack => `timer made at ${stack}`)
  return [...sockets, ...timers]
}
