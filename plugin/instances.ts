import type { Log } from './log.js'

/** Reads the instance ids of the reply group's members. */
export type MemberLookup = () => Promise<{ stable: boolean, instanceIds: string[] }>

/**
 * The instances alive in the reply group. A reply naming an instance that is not a member is not
 * written to Redis: nobody would read it. Refreshed on every rebalance, and on a miss at most
 * once per `minInterval`, so a flood of forged ids costs one group lookup per interval.
 */
export class InstanceDirectory {
  readonly #lookup: MemberLookup
  readonly #log: Log
  readonly #minInterval: number
  #known = new Set<string>()
  #lastRefresh = 0
  #refreshing: Promise<void> | undefined

  constructor (lookup: MemberLookup, log: Log, minInterval = 1000) {
    this.#lookup = lookup
    this.#log = log
    this.#minInterval = minInterval
  }

  /** Whether the instance was a member at the last lookup (no lookup now). */
  knows (instanceId: string): boolean {
    return this.#known.has(instanceId)
  }

  /** Whether the instance is a member of the group. When the group cannot be read, assumes it is. */
  async isKnown (instanceId: string): Promise<boolean> {
    if (this.#known.has(instanceId)) return true
    // A lookup under way (after a rebalance, say) may be the one that learns of this instance.
    if (this.#refreshing !== undefined) await this.#refreshing.catch(() => {})
    if (this.#known.has(instanceId)) return true
    if (Date.now() - this.#lastRefresh < this.#minInterval) return false
    const ok = await this.refresh()
    return !ok || this.#known.has(instanceId)
  }

  /** Reads the group's members again; false when that failed. */
  async refresh (): Promise<boolean> {
    this.#refreshing ??= this.#read().finally(() => { this.#refreshing = undefined })
    try {
      await this.#refreshing
      return true
    } catch (err) {
      this.#log.warn({ err }, 'could not read the reply group\'s members')
      return false
    }
  }

  async #read (): Promise<void> {
    this.#lastRefresh = Date.now()
    const { stable, instanceIds } = await this.#lookup()
    // While the group rebalances the member list may be partial: only add to what is known.
    if (stable) this.#known = new Set(instanceIds)
    else for (const id of instanceIds) this.#known.add(id)
  }
}
