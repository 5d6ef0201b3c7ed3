import { isIP } from 'node:net'
import { Redis, type Cluster } from 'ioredis'
import { errors } from '../errors.js'
import type { Log } from '../log.js'
import { KeyspaceWaiter, type Subscriber } from './keyspace-waiter.js'
import { isNoPerm } from './pipeline.js'

/** How often the subscriber checks that its node still owns the slot (one keyed command). */
export const SLOT_CHECK_INTERVAL = 2000
/** How often the slot table is refreshed while the subscriber's connection is down (its node died). */
const DOWN_CHECK_INTERVAL = 500

/**
 * The subscriber on a Redis Cluster. Keyspace notifications are node-local: only the master that
 * holds a key's slot publishes its events. All of an instance's keys share one hash tag, so one
 * slot: the subscriber is a plain connection to that slot's master, and follows the slot when it
 * moves (a failover, a replica promoted after its master died, a slot migration).
 *
 * A move is noticed through the Cluster client's slot table, which ioredis updates on a MOVED
 * redirect and on every refresh. To make sure a redirect comes even when no command of this
 * instance touches its slot, one EXISTS on a key of the slot goes out every SLOT_CHECK_INTERVAL;
 * a dropped subscriber connection asks for a refresh at once. After each move the subscriber
 * subscribes on the new owner and calls onResubscribed (probe, sweep).
 */
export class ClusterSubscriber implements Subscriber {
  readonly #cluster: Cluster
  readonly #slot: number
  readonly #checkKey: string
  readonly #pattern: string
  readonly #db: number
  readonly #connectionName: string
  readonly #log: Log
  readonly #onRefresh = () => { this.#follow() }
  #onKey: (key: string) => void = () => {}
  #onResubscribed: () => void = () => {}
  #waiter: KeyspaceWaiter | undefined
  /** `host:port` of the node the subscriber listens on. */
  #node: string | undefined
  #moving = false
  #checking = false
  #ticks = 0
  #closed = false
  #timer: NodeJS.Timeout | undefined

  constructor (cluster: Cluster, slot: number, checkKey: string, pattern: string, connectionName: string, log: Log) {
    this.#cluster = cluster
    this.#slot = slot
    this.#checkKey = checkKey
    this.#pattern = pattern
    this.#db = 0 // a cluster has database 0 only
    this.#connectionName = connectionName
    this.#log = log
  }

  /** `host:port` of the node listened on now. */
  get node (): string | undefined {
    return this.#node
  }

  get live (): boolean {
    return !this.#moving && this.#waiter?.live === true
  }

  listen (onKey: (key: string) => void, onResubscribed: () => void): void {
    this.#onKey = onKey
    this.#onResubscribed = onResubscribed
  }

  /** Subscribes on the slot's master; the Cluster client must be ready. */
  async start (): Promise<void> {
    const owner = this.#owner()
    if (owner === undefined) throw new Error(`no Redis Cluster node serves slot ${this.#slot}`)
    // The slot check's command, once: a user refused it would lose the check without a word.
    await this.#cluster.exists(this.#checkKey).catch((err: Error) => {
      if (!isNoPerm(err)) return
      throw new errors.NOT_AUTHORIZED(`the Redis user may not run EXISTS, with which the plugin notices every 2 s that its slot moved: grant it +exists (Redis said: ${err.message})`)
    })
    this.#waiter = await this.#subscribeOn(owner)
    this.#node = owner
    this.#cluster.on('refresh', this.#onRefresh)
    this.#timer = setInterval(() => this.#check(), DOWN_CHECK_INTERVAL).unref()
  }

  expect (key: string, timeout: number): Promise<boolean> {
    return this.#waiter!.expect(key, timeout)
  }

  async close (): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
    this.#cluster.off('refresh', this.#onRefresh)
    await this.#waiter?.close()
  }

  /** `host:port` of the slot's master in the Cluster client's slot table. */
  #owner (): string | undefined {
    return this.#cluster.slots[this.#slot]?.[0]
  }

  #check (): void {
    const live = this.#waiter?.live === true
    // Every SLOT_CHECK_INTERVAL while all is well; every DOWN_CHECK_INTERVAL while the node is away.
    if (live && ++this.#ticks % (SLOT_CHECK_INTERVAL / DOWN_CHECK_INTERVAL) !== 0) return
    if (this.#checking) return // the last check still waits (the cluster is down): one at a time
    this.#checking = true
    const done = () => {
      this.#checking = false
      this.#follow()
    }
    if (live) {
      // A node that lost the slot answers MOVED; ioredis then updates its table and emits refresh.
      this.#cluster.exists(this.#checkKey).then(done, done)
    } else {
      this.#cluster.refreshSlotsCache(done)
    }
  }

  /** Moves the subscription when the slot's master is another node than the one listened on. */
  #follow (): void {
    const owner = this.#owner()
    if (this.#closed || this.#moving || owner === undefined || owner === this.#node) return
    this.#moving = true
    const from = this.#node
    const started = Date.now()
    this.#subscribeOn(owner).then(async waiter => {
      const old = this.#waiter
      this.#waiter = waiter
      this.#node = owner
      this.#moving = false
      await old?.close()
      if (this.#closed) {
        await waiter.close()
        return
      }
      this.#log.info({ slot: this.#slot, from, to: owner, ms: Date.now() - started }, 'Redis Cluster slot moved: subscriber follows it, sweeping pending replies')
      this.#onResubscribed()
      this.#follow() // the slot may have moved again meanwhile
    }, (err: Error) => {
      this.#moving = false
      this.#log.warn({ err, slot: this.#slot, to: owner }, 'Redis Cluster: could not subscribe on the slot\'s new master; trying again')
    })
  }

  async #resolve (host: string): Promise<string> {
    const lookup = this.#cluster.options.dnsLookup
    if (isIP(host) !== 0 || lookup === undefined) return host
    return await new Promise((resolve, reject) => lookup(host, (err, address) => { if (err) reject(err); else resolve(address) }))
  }

  async #subscribeOn (node: string): Promise<KeyspaceWaiter> {
    const at = node.lastIndexOf(':')
    // The Cluster's own connection options: credentials, TLS; the address is already NAT-mapped,
    // and a host name is resolved with the Cluster's dnsLookup, as ioredis does for its nodes.
    const connection = new Redis({
      ...this.#cluster.options.redisOptions,
      host: await this.#resolve(node.slice(0, at)),
      port: Number(node.slice(at + 1)),
      ...KeyspaceWaiter.subscriberOptions(this.#connectionName)
    })
    const waiter = new KeyspaceWaiter(connection, this.#db, this.#pattern, this.#log)
    waiter.listen(key => this.#onKey(key), () => {
      // The same node is back (a restart, a network blip): resubscribed, but maybe not the owner now.
      this.#cluster.refreshSlotsCache(() => this.#follow())
      if (!this.#moving && this.#owner() === node) this.#onResubscribed()
    })
    waiter.onDown(() => { this.#cluster.refreshSlotsCache(() => this.#follow()) })
    try {
      await waiter.start()
    } catch (err) {
      await waiter.close()
      throw err
    }
    return waiter
  }
}
