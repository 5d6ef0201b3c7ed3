import { setTimeout as sleep } from 'node:timers/promises'
import type { ChainableCommander, Redis } from 'ioredis'
import type { Log } from '../log.js'
import { keyspacePattern, replyKey, type Correlation } from '../correlation.js'
import { connected, createClient, isCluster, type RedisClient, type RedisOption } from './client.js'
import { ClusterSubscriber } from './cluster-subscriber.js'
import { KeyspaceWaiter, type Subscriber } from './keyspace-waiter.js'
import { keySlot } from './key-slot.js'
import { configureKeyspaceEvents, describeFlags, probeNotifications } from './notifications.js'

const PROBE_TIMEOUT = 2000
/** How soon writes held up by a cluster node that is down are tried again. */
const RETRY_MS = 200
const LAST_LOOK_TIMEOUT = 500

/** What became of a reply written for another instance. */
export type WriteOutcome = 'written' | 'duplicate' | 'late'

/** How a reply that crossed Redis was found by the instance that waited for it. */
export type FoundBy = 'notification' | 'sweep' | 'lastLook'

/** What the hand-over needs to know of the calls waiting in this instance. */
export interface WaitingCalls {
  /** Whether a call with this id still waits. */
  has: (id: string) => boolean
  /** The calls waiting now. */
  list: () => Correlation[]
  /** A stored reply was taken for call `id`; false when no call took it. */
  settle: (id: string, stored: string, foundBy: FoundBy) => boolean
  /** A reply key showed up that no call waits for (any more): it was deleted. */
  unclaimed: () => void
}

/** Where and how the hand-over reaches Redis. */
export interface HandOverSettings {
  /**
   * A redis:// URL or `{ cluster: [...] }` (the hand-over creates and closes the client), or an
   * ioredis Redis or Cluster it borrows.
   */
  redis: RedisOption
  keyPrefix: string
  instanceId: string
  configureKeyspaceEvents: boolean
  /** CLIENT SETNAME of the subscriber connection. */
  subscriberName: string
}

/** One reply for another instance, to be written to Redis. */
export interface HandOverWrite {
  correlation: Correlation
  value: string
  /** ms the key lives. */
  ttl: number
}

/** Makes the Redis side of an instance; a seam for benchmarks that measure other ways of waiting. */
export type CreateHandOver = (settings: HandOverSettings, calls: WaitingCalls, log: Log) => RedisHandOver

/**
 * The options key (a symbol, so no user sets it by accident) under which the benchmarks pass
 * another CreateHandOver (plugin/baseline.ts); not exported from the package.
 */
export const kCreateHandOver = Symbol('fastify-kafka-reply.createHandOver')

/**
 * The Redis side of the plugin: writes replies for other instances, and finds the replies written
 * for this one. The subscriber listens for the keyspace events of this instance's keys; each event
 * is taken with GETDEL. Pub/sub is at-most-once, so after a reconnect every pending key is swept,
 * and a call whose deadline passes gets a last look.
 *
 * On a Redis Cluster, the subscriber is a ClusterSubscriber (on the master of this instance's slot,
 * following it when it moves), the writes go out in one pipeline per node, and the notification
 * flags are set on every node. GETDEL, sweep and last look go through the Cluster client as they
 * are: all of an instance's keys share its hash tag, so one slot.
 */
export class RedisHandOver {
  protected readonly calls: WaitingCalls
  protected readonly log: Log
  readonly #settings: HandOverSettings
  readonly #keyBase: string
  #client: RedisClient | undefined
  #ownsClient = false
  #subscriber: Subscriber | undefined
  /** Reply keys announced by keyspace events, to be taken in one pipeline. */
  #toTake: Array<{ id: string, key: string }> = []

  constructor (settings: HandOverSettings, calls: WaitingCalls, log: Log) {
    this.#settings = settings
    this.calls = calls
    this.log = log
    this.#keyBase = `${settings.keyPrefix}:{${settings.instanceId}}`
  }

  /**
   * Connects the command client when the hand-over creates it. A borrowed client is used as it is;
   * a borrowed Cluster is awaited (connected if nobody has yet), for its slot table.
   */
  async connect (): Promise<void> {
    const { client, owned } = createClient(this.settings.redis)
    this.#client = client
    this.#ownsClient = owned
    if (owned) client.on('error', (err: Error) => this.log.warn({ err }, 'Redis connection error'))
    if (owned || isCluster(client)) await connected(client)
  }

  /**
   * Subscribes to this instance's keyspace events, sets the notification flags where allowed, and
   * proves that notifications arrive (a probe key and its event).
   */
  async listen (): Promise<void> {
    const { settings, client } = this
    let subscriber: Subscriber
    if (isCluster(client)) {
      const pattern = keyspacePattern(0, settings.keyPrefix, settings.instanceId)
      subscriber = new ClusterSubscriber(client, keySlot(this.#keyBase), `${this.#keyBase}:slot-check`, pattern, settings.subscriberName, this.log)
    } else {
      const db = client.options.db ?? 0
      const pattern = keyspacePattern(db, settings.keyPrefix, settings.instanceId)
      subscriber = new KeyspaceWaiter(client.duplicate(KeyspaceWaiter.subscriberOptions(settings.subscriberName)), db, pattern, this.log)
    }
    this.#subscriber = subscriber
    subscriber.listen(key => this.onKey(key), () => { this.#afterReconnect().catch(() => {}) })
    await subscriber.start()
    if (settings.configureKeyspaceEvents) await this.#configure()
    await this.#probe()
  }

  /** True while replies can be written and notifications can arrive. */
  get live (): boolean {
    return this.#client?.status === 'ready' && this.#subscriber?.live === true
  }

  /**
   * Writes replies for other instances (`SET key value PX ttl NX`) in one pipeline (per node, on a
   * cluster). Resolves with one outcome per reply: written, a duplicate (the key was there), or
   * late. Rejects when a write failed, so the batch's offsets are not committed.
   *
   * On a cluster, a node that is down holds up only the replies for its slots, and only until
   * their deadlines: its replica takes over within cluster-node-timeout, so the writes are tried
   * again (every RETRY_MS) on whichever node serves the slot by then; a reply whose deadline passes
   * meanwhile is late. Failing the batch instead would stall every reply behind it, and kafkajs's
   * retries outlast the group's session timeout (a rebalance of every member).
   */
  async write (replies: HandOverWrite[]): Promise<WriteOutcome[]> {
    const outcomes = new Array<WriteOutcome>(replies.length)
    if (replies.length === 0) return outcomes
    const keys = replies.map(({ correlation }) => replyKey(this.settings.keyPrefix, correlation))
    await this.#writeSome(keys, replies, keys.map((_key, i) => i), outcomes)
    return outcomes
  }

  async #writeSome (keys: string[], replies: HandOverWrite[], indexes: number[], outcomes: WriteOutcome[]): Promise<void> {
    const client = this.client
    // A Cluster pipeline must not span nodes: one per node (the keys of one instance share a slot).
    await Promise.all(byNode(client, indexes.map(i => keys[i])).map(async group => {
      const mine = group.map(j => indexes[j])
      try {
        const writing = pipelined(client, mine.length, (target, j) => target.set(keys[mine[j]], replies[mine[j]].value, 'PX', replies[mine[j]].ttl, 'NX'))
        // On a cluster, a node that is away can hold a command for longer than any deadline (ioredis
        // queues it while reconnecting): give up on this try when the group's last deadline passes.
        const lastDeadline = Math.max(...mine.map(i => replies[i].correlation.deadline))
        const results = isCluster(client) ? await before(writing, lastDeadline) : await writing
        results.forEach(([err, result], j) => {
          if (err !== null) throw err
          outcomes[mine[j]] = result === 'OK' ? 'written' : 'duplicate'
        })
      } catch (err) {
        if (!isCluster(client) || !nodeUnavailable(err as Error)) throw err
        const waiting = mine.filter(i => outcomes[i] === undefined && replies[i].correlation.deadline > Date.now())
        for (const i of mine) if (outcomes[i] === undefined && !waiting.includes(i)) outcomes[i] = 'late'
        if (waiting.length === 0) return
        this.log.debug({ err }, 'a Redis Cluster node is unavailable: writing its replies again shortly')
        await sleep(RETRY_MS)
        await this.#writeSome(keys, replies, waiting, outcomes)
      }
    }))
  }

  /**
   * Called for every call this instance starts to wait for; returns what to do when the wait
   * ends. Notifications cover every key of the instance, so there is nothing to do per call.
   */
  watch (_correlation: Correlation): (() => void) | undefined {
    return undefined
  }

  /** The deadline passed: looks in Redis once more (an event may have been lost). */
  async lastLook (correlation: Correlation): Promise<boolean> {
    const redis = this.#client
    if (redis === undefined || redis.status !== 'ready' || !this.calls.has(correlation.id)) return false
    let timer: NodeJS.Timeout | undefined
    const giveUp = new Promise<null>(resolve => { timer = setTimeout(resolve, LAST_LOOK_TIMEOUT, null) })
    try {
      const stored = await Promise.race([redis.getdel(replyKey(this.settings.keyPrefix, correlation)), giveUp])
      return stored !== null && this.calls.settle(correlation.id, stored, 'lastLook')
    } catch {
      return false
    } finally {
      clearTimeout(timer)
    }
  }

  /** Closes the subscriber, and the client when the hand-over created it. */
  async close (): Promise<PromiseSettledResult<unknown>[]> {
    const results: PromiseSettledResult<unknown>[] = await Promise.allSettled([this.#subscriber?.close()])
    const client = this.#client
    if (this.#ownsClient && client !== undefined) {
      // quit() lets queued commands finish; a connection that is not up has nothing to finish.
      if (client.status === 'ready') results.push(...await Promise.allSettled([client.quit()]))
      else client.disconnect()
    }
    return results
  }

  protected get settings (): HandOverSettings {
    return this.#settings
  }

  /** The command client (set by connect()): a Redis or a Cluster. */
  protected get client (): RedisClient {
    return this.#client!
  }

  /**
   * A keyspace event: one of our keys holds a reply. Take it (GETDEL evicts it) and resolve. The
   * events of one read from the subscriber arrive together: their GETDELs go out as one pipeline.
   */
  protected onKey (key: string): void {
    const id = `${this.settings.instanceId}.${key.slice(this.#keyBase.length + 1)}`
    if (!this.calls.has(id)) {
      // No call waits for it (any more): evict it now rather than at its TTL. Ids are never reused,
      // so no call can come to wait for it later.
      this.calls.unclaimed()
      this.client.del(key).catch((err: Error) => this.log.debug({ err }, 'could not delete an unclaimed reply'))
      return
    }
    if (this.#toTake.length === 0) queueMicrotask(() => this.#take())
    this.#toTake.push({ id, key })
  }

  #take (): void {
    const taking = this.#toTake
    this.#toTake = []
    const redis = this.client
    const failed = (err: Error) => this.log.warn({ err }, 'could not read a handed-over reply')
    const settle = (id: string, stored: string | null) => { if (stored !== null) this.calls.settle(id, stored, 'notification') }
    if (taking.length === 1) {
      redis.getdel(taking[0].key).then(stored => settle(taking[0].id, stored), failed)
      return
    }
    pipelined(redis, taking.length, (target, i) => target.getdel(taking[i].key)).then(results => {
      results.forEach(([err, stored], i) => {
        if (err === null) settle(taking[i].id, stored as string | null)
        else failed(err)
      })
    }, failed)
  }

  /** After the subscriber reconnected: events may have been lost, so look up every pending key. */
  async #afterReconnect (): Promise<void> {
    // A restarted Redis has forgotten a CONFIG SET: set the flags again (where the plugin may)
    // before looking for the replies that were written while no event could reach us.
    if (this.settings.configureKeyspaceEvents) {
      await this.#configure().catch((err: Error) => this.log.error({ err }, 'could not set notify-keyspace-events again'))
    }
    this.#sweep()
    // On a cluster the subscriber may be on another node now: prove that its events arrive there.
    if (isCluster(this.client)) await this.#probe().catch((err: Error) => this.log.error({ err }, 'no keyspace notification after the subscriber moved'))
  }

  /** Adds K$ to notify-keyspace-events: on the server, or on every node of a cluster (a replica can become master). */
  async #configure (): Promise<void> {
    const client = this.client
    if (!isCluster(client)) return await configureKeyspaceEvents(client)
    await Promise.all(client.nodes('all').map(node => configureKeyspaceEvents(node, nodeName(node))))
  }

  async #probe (): Promise<void> {
    const client = this.client
    await probeNotifications(client, this.#subscriber!, this.#keyBase, PROBE_TIMEOUT, async () => {
      if (!isCluster(client)) return ''
      // Which nodes lack the flags, and whether one of them is the master this instance listens on.
      const master = (this.#subscriber as ClusterSubscriber).node
      const lacking = await Promise.all(client.nodes('all').map(async node => {
        const flags = await describeFlags(node)
        if (flags === undefined) return undefined
        const name = nodeName(node)
        const role = name === master ? `the master of slot ${keySlot(this.#keyBase)}, which holds this instance's keys` : 'not this instance\'s master'
        return `${name} (${role}) ${flags}`
      }))
      const found = lacking.filter(line => line !== undefined)
      return found.length === 0 ? '' : ` On the cluster: ${found.join('; ')}.`
    })
  }

  #sweep (): void {
    const calls = this.calls.list()
    if (calls.length === 0) return
    const take = (target: Commands, i: number) => target.getdel(replyKey(this.settings.keyPrefix, calls[i]))
    pipelined(this.client, calls.length, take).then(results => {
      results.forEach(([err, stored], i) => {
        if (err === null && stored !== null) this.calls.settle(calls[i].id, stored as string, 'sweep')
      })
    }, (err: Error) => this.log.warn({ err }, 'could not sweep pending replies'))
  }
}

type Commands = RedisClient | ChainableCommander
type Result = [Error | null, unknown]

/** A slot that moves answers these for a while; a command sent again on its own follows the redirect. */
const REDIRECTED = /^(MOVED|ASK|TRYAGAIN) /

/**
 * Runs `count` commands in one pipeline. On a cluster, ioredis retries a pipeline only when every
 * command got the same redirect; a command redirected alone (its slot moving) is sent again on its
 * own, and the client follows the redirect.
 */
async function pipelined (client: RedisClient, count: number, command: (target: Commands, i: number) => unknown): Promise<Result[]> {
  const pipeline = client.pipeline()
  for (let i = 0; i < count; i++) command(pipeline, i)
  const results = (await pipeline.exec()) ?? []
  return await Promise.all(results.map(async ([err, value], i): Promise<Result> => {
    if (err === null || !REDIRECTED.test(err.message)) return [err, value]
    try {
      return [null, await command(client, i)]
    } catch (again) {
      return [again as Error, null]
    }
  }))
}

/** Resolves as `promise` does, or rejects (as a node that is away) once `deadline` (epoch ms) has passed. */
async function before<T> (promise: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('the Redis Cluster node did not answer before the deadline')), Math.max(0, deadline - Date.now()))
  })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * An error that says the node serving a slot cannot take the command now (down, failing over,
 * the cluster reconfiguring), as opposed to one about the command itself (an ACL refusal, say).
 */
function nodeUnavailable (err: Error): boolean {
  if (err.name !== 'ReplyError') return true // connection closed, refused, too many redirections
  return /^(CLUSTERDOWN|TRYAGAIN|MOVED|ASK|LOADING|MASTERDOWN) /.test(err.message)
}

function nodeName (node: Redis): string {
  return `${node.options.host}:${node.options.port}`
}

/** Indexes of `keys` grouped by the node that serves their slot: all in one group on a single server. */
function byNode (client: RedisClient, keys: string[]): number[][] {
  if (!isCluster(client)) return [keys.map((_key, i) => i)]
  const groups = new Map<string, number[]>()
  keys.forEach((key, i) => {
    const node = client.slots[keySlot(key)]?.[0] ?? ''
    const group = groups.get(node)
    if (group === undefined) groups.set(node, [i])
    else group.push(i)
  })
  return [...groups.values()]
}
