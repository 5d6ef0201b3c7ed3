import type { Correlation } from './correlation.js'
import type { Settled } from './protocol.js'

/** One call that waits for its reply. */
export interface PendingCall {
  readonly correlation: Correlation
  readonly timeout: number
  readonly startedAt: number
  /** An accepted call: the id its 202 names, instead of a 504 at the deadline. */
  readonly replyId?: string
}

interface Entry extends PendingCall {
  replyId?: string
  resolve: (settled: Settled) => void
  reject: (error: Error) => void
  /** Fires first for the last look, then at the deadline. */
  timer: NodeJS.Timeout
}

/** How long before its deadline a call's store gets its last look, at most (and a tenth of its timeout at most). */
export const LAST_LOOK_LEAD_MS = 100

/**
 * The calls this instance waits for, by correlation id. Each call settles exactly once: by its
 * reply, by an error, or when its deadline passes. Shortly before the deadline the owner's
 * `onLastLook` runs (a look in the store for a reply whose notification was lost), so that at the
 * deadline itself `onDeadline` can answer at once, with no I/O between the deadline and the 504.
 */
export class PendingCalls {
  readonly #entries = new Map<string, Entry>()
  readonly #onLastLook: (call: PendingCall) => void
  readonly #onDeadline: (call: PendingCall) => void

  constructor (onLastLook: (call: PendingCall) => void, onDeadline: (call: PendingCall) => void) {
    this.#onLastLook = onLastLook
    this.#onDeadline = onDeadline
  }

  get size (): number {
    return this.#entries.size
  }

  has (id: string): boolean {
    return this.#entries.has(id)
  }

  /** Registers a call; the promise settles through settle() or fail(). */
  add (correlation: Correlation, timeout: number, replyId?: string): Promise<Settled> {
    return new Promise((resolve, reject) => {
      const startedAt = Date.now()
      const lead = Math.min(LAST_LOOK_LEAD_MS, Math.floor(timeout / 10))
      const entry: Entry = { correlation, timeout, startedAt, resolve, reject, timer: undefined as unknown as NodeJS.Timeout }
      if (replyId !== undefined) entry.replyId = replyId
      entry.timer = setTimeout(() => this.#lastLook(entry), Math.max(0, correlation.deadline - lead - startedAt))
      entry.timer.unref()
      this.#entries.set(correlation.id, entry)
    })
  }

  #lastLook (entry: Entry): void {
    this.#armDeadline(entry)
    this.#onLastLook(entry)
  }

  /**
   * A timer counts from the event loop's cached time, which may lag the clock: one can fire a
   * fraction of a millisecond early. The deadline is then armed again for what is left.
   */
  #armDeadline (entry: Entry): void {
    entry.timer = setTimeout(() => {
      if (Date.now() < entry.correlation.deadline) this.#armDeadline(entry)
      else this.#onDeadline(entry)
    }, Math.max(0, entry.correlation.deadline - Date.now()))
    entry.timer.unref()
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
  failAll (makeError: (call: PendingCall) => Error): void {
    for (const [id, entry] of [...this.#entries]) this.fail(id, makeError(entry))
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
