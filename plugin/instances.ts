import type { Log } from './log.js'

/** Reads the instance ids of the reply group's members. */
export type MemberLookup = () => Promise<{ stable: boolean, instanceIds: string[] }>

/**
 * The instances alive in the reply group. A reply naming an instance that is not a member is not
 * written to Redis: nobody would read it. Refreshed on every rebalance, and on a miss at most
 * once per `minInterval`, so a flood of forged ids costs one group lookup per interval.
 *
 * An instance missing from a stable group is still known for `forgetAfter` ms (the plugin passes
 * `maxTimeout`, the longest a call waits). A replica is not always a member while its calls wait:
 * when its session expired (heartbeats to a dead coordinator, a long pause), it rejoins as a new
 * member, and the group can be stable without it in between. The members that took its partitions
 * must still hand its replies over. A replica that is gone for good costs at most a few keys that
 * expire at their calls' deadlines.
 */
export class InstanceDirectory {
  readonly #lookup: MemberLookup
  readonly #log: Log
  readonly #minInterval: number
  readonly #forgetAfter: number
  /** Known instance ids, each with when a stable group was first seen without it (null: a member). */
  readonly #known = new Map<string, number | null>()
  #lastRefresh = 0
  #refreshing: Promise<void> | undefined

  constructor (lookup: MemberLookup, log: Log, { minInterval = 1000, forgetAfter = 0 }: { minInterval?: number, forgetAfter?: number } = {}) {
    this.#lookup = lookup
    this.#log = log
    this.#minInterval = minInterval
    this.#forgetAfter = forgetAfter
  }

  /** Whether the instance was a member at the last lookup, or left less than `forgetAfter` ms ago (no lookup now). */
  isMember (instanceId: string): boolean {
    const missingSince = this.#known.get(instanceId)
    if (missingSince === undefined) return false
    return missingSince === null || Date.now() - missingSince < this.#forgetAfter
  }

  /**
   * Whether the instance is a member of the group, asking the group when isMember() says no (at
   * most once per `minInterval`). When the group cannot be read, assumes it is.
   */
  async confirmMember (instanceId: string): Promise<boolean> {
    if (this.isMember(instanceId)) return true
    // A lookup under way (after a rebalance, say) may be the one that learns of this instance.
    if (this.#refreshing !== undefined) await this.#refreshing.catch(() => {})
    if (this.isMember(instanceId)) return true
    if (Date.now() - this.#lastRefresh < this.#minInterval) return false
    const ok = await this.refresh()
    return !ok || this.isMember(instanceId)
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
    const now = this.#lastRefresh = Date.now()
    const { stable, instanceIds } = await this.#lookup()
    for (const id of instanceIds) this.#known.set(id, null)
    // While the group rebalances the member list may be partial: only a stable one shows who left.
    if (!stable) return
    const members = new Set(instanceIds)
    for (const [id, missingSince] of this.#known) {
      if (members.has(id)) continue
      if (missingSince === null) this.#known.set(id, now)
      else if (now - missingSince >= this.#forgetAfter) this.#known.delete(id)
    }
  }
}
