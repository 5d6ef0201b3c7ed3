/** Options of a Deduplicator. */
export interface DeduplicatorOptions {
  /** How long a key is remembered after its work began, ms. */
  ttlMs: number
  /** Keys remembered at most; past it, the oldest is forgotten first. */
  maxKeys: number
  now?: () => number
}

interface Entry<T> {
  at: number
  result: Promise<T>
}

/**
 * The work done per idempotency key: the second request with a key gets the first one's result
 * (still pending or done), and the work runs once.
 *
 * A real worker does this with its database: a row keyed by the idempotency key (a unique
 * constraint), written in the same transaction as the work itself (the order, the charge), holding
 * the result. A request whose key has a row answers with the row; a row still being written makes
 * the second transaction wait for the first. If the work fails, the transaction rolls back and
 * leaves no row, so a retry does the work: here a failed result is forgotten for the same reason.
 *
 * This one lives in the process, bounded, because the reference worker keeps no database: keys
 * are forgotten after `ttlMs` or, past `maxKeys`, oldest first, and all of them when the process
 * restarts. A request with a forgotten key is worked again.
 */
export class Deduplicator<T> {
  // A Map keeps insertion order, which is the order the work began: the oldest key comes first.
  readonly #entries = new Map<string, Entry<T>>()
  readonly #ttlMs: number
  readonly #maxKeys: number
  readonly #now: () => number
  #deduplicated = 0

  constructor ({ ttlMs, maxKeys, now = Date.now }: DeduplicatorOptions) {
    this.#ttlMs = ttlMs
    this.#maxKeys = maxKeys
    this.#now = now
  }

  /**
   * The result of the work already begun for `key` (`seen` true), or else of `work()`, begun now
   * and remembered under `key`.
   */
  run (key: string, work: () => Promise<T>): { result: Promise<T>, seen: boolean } {
    const now = this.#now()
    this.#expire(now)
    const known = this.#entries.get(key)
    if (known !== undefined) {
      this.#deduplicated++
      return { result: known.result, seen: true }
    }
    while (this.#entries.size >= this.#maxKeys) this.#entries.delete(this.#entries.keys().next().value!)
    const entry: Entry<T> = { at: now, result: work() }
    this.#entries.set(key, entry)
    entry.result.catch(() => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key)
    })
    return { result: entry.result, seen: false }
  }

  /** Requests answered with the result of earlier work. */
  get deduplicated (): number {
    return this.#deduplicated
  }

  /** Keys remembered now. */
  get size (): number {
    return this.#entries.size
  }

  #expire (now: number): void {
    for (const [key, { at }] of this.#entries) {
      if (now - at < this.#ttlMs) return
      this.#entries.delete(key)
    }
  }
}
