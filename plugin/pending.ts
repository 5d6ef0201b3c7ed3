import type { Correlation } from './correlation.js'
import type { Settled } from './protocol.js'

/** One call that waits for its reply. */
export interface PendingCall {
  readonly correlation: Correlation
  readonly timeout: number
  readonly startedAt: number
}

interface Entry extends PendingCall {
  resolve: (settled: Settled) => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout
}

/**
 * The calls this instance waits for, by correlation id. Each call settles exactly once: by its
 * reply, by an error, or when its deadline passes (the owner's onDeadline decides how).
 */
export class PendingCalls {
  readonly #entries = new Map<string, Entry>()
  readonly #onDeadline: (call: PendingCall) => void

  constructor (onDeadline: (call: PendingCall) => void) {
    this.#onDeadline = onDeadline
  }

  get size (): number {
    return this.#entries.size
  }

  has (id: string): boolean {
    return this.#entries.has(id)
  }

  /** Registers a call; the promise settles through settle() or fail(). */
  add (correlation: Correlation, timeout: number): Promise<Settled> {
    return new Promise((resolve, reject) => {
      const call = { correlation, timeout, startedAt: Date.now() }
      const delay = Math.max(0, correlation.deadline - call.startedAt)
      const timer = setTimeout(() => this.#onDeadline(call), delay)
      timer.unref()
      this.#entries.set(correlation.id, { ...call, resolve, reject, timer })
    })
  }

  /** Resolves a call with its reply; false when no such call waits. */
  settle (id: string, settled: Settled): boolean {
    const entry = this.#take(id)
    entry?.resolve(settled)
    return entry !== undefined
  }

  /** Rejects a call; false when no such call waits. */
  fail (id: string, error: Error): boolean {
    const entry = this.#take(id)
    entry?.reject(error)
    return entry !== undefined
  }

  /** Rejects every waiting call. */
  failAll (makeError: () => Error): void {
    for (const id of [...this.#entries.keys()]) this.fail(id, makeError())
  }

  /** The calls waiting now. */
  calls (): PendingCall[] {
    return [...this.#entries.values()]
  }

  #take (id: string): Entry | undefined {
    const entry = this.#entries.get(id)
    if (entry === undefined) return undefined
    clearTimeout(entry.timer)
    this.#entries.delete(id)
    return entry
  }
}
