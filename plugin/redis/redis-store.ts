import { setTimeout as sleep } from 'node:timers/promises'
import type { Correlation } from '../correlation.js'
import { withDeadline } from '../deadline.js'
import { errors } from '../errors.js'
import type { Log } from '../log.js'
import type { StatsCounters } from '../stats.js'
import { connected, createClient, isCluster, type RedisClient } from './client.js'
import { ClusterSubscriber } from './cluster-subscriber.js'
import { IdempotencyRecords } from './idempotency-records.js'
import { InstanceKeys } from './keys.js'
import { KeyspaceWaiter, type Subscriber } from './keyspace-waiter.js'
import { keySlot } from './key-slot.js'
import { configureKeyspaceEvents, describeFlags, probeNotifications } from './notifications.js'
import { byNode, isNoPerm, nodeName, nodeUnavailable, pipelined, withoutCommand, type Commands } from './pipeline.js'
import { decodeStored, encodeStored } from './stored-reply.js'
import type { Arrival, FoundBy, HandOver, HandOverOutcome, ReplyStore, StoreSettings, PendingView } from './store.js'

const PROBE_TIMEOUT = 2000
/** How soon writes held up by a cluster node that is down are tried again. */
const RETRY_MS = 200
const LAST_LOOK_TIMEOUT = 500

/** CLIENT SETNAME of an instance's subscriber connection: how an operator tells it in CLIENT LIST. */
export function subscriberName (keyPrefix: string, instanceId: string): string {
  return `${keyPrefix}:subscriber:${instanceId}`
}

/**
 * The plugin's reply store. Replies for other instances are written with `SET key value PX ttl NX`;
 * the subscriber listens for the keyspace events of this instance's keys, and each event is taken
 * with GETDEL. Pub/sub is at-most-once, so after a reconnect every pending key is swept, and a call
 * whose deadline passes gets a last look.
 *
 * On a Redis Cluster, the subscriber is a ClusterSubscriber (on the master of this instance's slot,
 * following it when it moves), the writes go out in one pipeline per node, and the notification
 * flags are set on every node. GETDEL, sweep and last look go through the Cluster client as they
 * are: all of an instance's keys share its hash tag, so one slot.
 */
export class RedisReplyStore implements ReplyStore {
  readonly #settings: StoreSettings
  readonly #pending: PendingView
  readonly #stats: StatsCounters
  readonly #log: Log
  readonly #keys: InstanceKeys
  readonly idempotency: IdempotencyRecords
  #arrived: (arrival: Arrival) => boolean = () => false
  #client: RedisClient | undefined
  #ownsClient = false
  #subscriber: Subscriber | undefined
  /** Reply keys announced by keyspace events, to be taken in one pipeline. */
  #toTake: Array<{ id: string, key: string }> = []
  /** Calls near their deadline, to look up in one pipeline. */
  #toLook: Array<{ correlation: Correlation, resolve: (arrival: Arrival | undefined) => void }> = []

  constructor (settings: StoreSettings, pending: PendingView, stats: StatsCounters, log: Log) {
    this.#settings = settings
    this.#pending = pending
    this.#stats = stats
    this.#log = log
    this.#keys = new InstanceKeys(settings.keyPrefix, settings.instanceId)
    this.idempotency = new IdempotencyRecords(() => this.#command, settings.keyPrefix, settings.idempotencyTtl, log)
  }

  /**
   * Connects the command client when the store creates it. A borrowed client is used as it is;
   * a borrowed Cluster is awaited (connected if nobody has yet), for its slot table.
   */
  async connect (): Promise<void> {
    const { client, owned } = createClient(this.#settings.redis)
    this.#client = client
    this.#ownsClient = owned
    if (owned) client.on('error', (err: Error) => this.#log.warn({ err }, 'Redis connection error'))
    if (owned || isCluster(client)) await connected(client)
  }

  /**
   * Subscribes to this instance's keyspace events, sets the notification flags where allowed, and
   * proves that notifications arrive (a probe key and its event).
   */
  async listen (arrived: (arrival: Arrival) => boolean): Promise<void> {
    this.#arrived = arrived
    const client = this.#command
    const name = subscriberName(this.#settings.keyPrefix, this.#settings.instanceId)
    let subscriber: Subscriber
    if (isCluster(client)) {
      subscriber = new ClusterSubscriber(client, keySlot(this.#keys.base), this.#keys.own('slot-check'), this.#keys.pattern(0), name, this.#log)
    } else {
      const db = client.options.db ?? 0
      subscriber = new KeyspaceWaiter(client.duplicate(KeyspaceWaiter.subscriberOptions(name)), db, this.#keys.pattern(db), this.#log)
    }
    this.#subscriber = subscriber
    subscriber.listen(key => this.#onKey(key), () => { this.#afterReconnect().catch(() => {}) })
    const pattern = isCluster(client) ? this.#keys.pattern(0) : this.#keys.pattern(client.options.db ?? 0)
    await subscriber.start().catch((err: Error) => {
      throw denied(err, `the Redis user may not PSUBSCRIBE to "${pattern}": grant it that channel pattern (&${pattern}), which needs a fixed instanceId, or allchannels`)
    })
    if (this.#settings.configureKeyspaceEvents) await this.#configure()
    await this.#probe().catch((err: Error) => {
      throw denied(err, `the Redis user may not write and take keys under "${this.#settings.keyPrefix}:": grant ~${this.#settings.keyPrefix}:* with +set +getdel +del`)
    })
  }

  get live (): boolean {
    return this.#client?.status === 'ready' && this.#subscriber?.live === true
  }

  /**
   * Writes replies for other instances (`SET key value PX ttl NX`) in one pipeline (per node, on a
   * cluster): written, a duplicate (the key was there), or late.
   *
   * On a cluster, a node that is down holds up only the replies for its slots, and only until
   * their deadlines: its replica takes over within cluster-node-timeout, so the writes are tried
   * again (every RETRY_MS) on whichever node serves the slot by then; a reply whose deadline passes
   * meanwhile is late. Failing the batch instead would stall every reply behind it, and the
   * consumer's retries outlast the group's session timeout (a rebalance of every member).
   */
  async handOver (replies: HandOver[]): Promise<HandOverOutcome[]> {
    const outcomes = new Array<HandOverOutcome>(replies.length)
    if (replies.length === 0) return outcomes
    const { instanceId } = this.#settings
    const writes = replies.map(reply => ({
      key: this.#keys.reply(reply.correlation),
      value: encodeStored(reply.outcome, instanceId, reply.json),
      ttl: reply.ttl,
      deadline: reply.correlation.deadline
    }))
    try {
      await this.#write(writes, writes.map((_write, i) => i), outcomes)
    } catch (err) {
      // Refused (NOPERM, OOM, READONLY): the error goes up to the consumer, which logs it and
      // tries the batch again; the replies' payloads it carried must not go with it.
      throw withoutCommand(err)
    }
    return outcomes
  }

  async #write (writes: Write[], indexes: number[], outcomes: HandOverOutcome[]): Promise<void> {
    const client = this.#command
    // A Cluster pipeline must not span nodes: one per node (the keys of one instance share a slot).
    await Promise.all(byNode(client, indexes.map(i => writes[i].key)).map(async group => {
      const mine = group.map(j => indexes[j])
      try {
        const writing = pipelined(client, mine.length, (target, j) => {
          const { key, value, ttl } = writes[mine[j]]
          return target.set(key, value, 'PX', ttl, 'NX')
        })
        // On a cluster, a node that is away can hold a command for longer than any deadline (ioredis
        // queues it while reconnecting): give up on this try when the group's last deadline passes.
        const lastDeadline = Math.max(...mine.map(i => writes[i].deadline))
        const results = isCluster(client)
          ? await withDeadline(writing, lastDeadline - Date.now(), () => { throw new Error('the Redis Cluster node did not answer before the deadline') })
          : await writing
        results.forEach(([err, result], j) => {
          if (err !== null) throw err
          outcomes[mine[j]] = result === 'OK' ? 'written' : 'duplicate'
        })
      } catch (err) {
        if (!isCluster(client) || !nodeUnavailable(err as Error)) throw err
        const waiting = mine.filter(i => outcomes[i] === undefined && writes[i].deadline > Date.now())
        for (const i of mine) if (outcomes[i] === undefined && !waiting.includes(i)) outcomes[i] = 'late'
        if (waiting.length === 0) return
        this.#log.debug({ err: withoutCommand(err) }, 'a Redis Cluster node is unavailable: writing its replies again shortly')
        await sleep(RETRY_MS)
        await this.#write(writes, waiting, outcomes)
      }
    }))
  }

  /**
   * The last looks of one turn of the event loop (the calls whose timers fired together) go out as
   * one pipeline of GETDELs: under a worker outage every call comes to its last look.
   */
  async lastLook (correlation: Correlation): Promise<Arrival | undefined> {
    const redis = this.#client
    if (redis === undefined || redis.status !== 'ready' || !this.#pending.has(correlation.id)) return undefined
    return await new Promise<Arrival | undefined>(resolve => {
      if (this.#toLook.length === 0) setImmediate(() => { this.#look() })
      this.#toLook.push({ correlation, resolve })
    })
  }

  #look (): void {
    const looking = this.#toLook
    this.#toLook = []
    const calls = looking.filter(({ correlation, resolve }) => {
      if (this.#pending.has(correlation.id)) return true
      resolve(undefined)
      return false
    })
    if (calls.length === 0) return
    const taking = pipelined(this.#command, calls.length, (target, i) => target.getdel(this.#keys.reply(calls[i].correlation)))
    withDeadline(taking, LAST_LOOK_TIMEOUT, () => []).then(results => {
      calls.forEach(({ correlation, resolve }, i) => {
        const [err, stored] = results[i] ?? [null, null]
        resolve(err === null && stored !== null ? this.#arrival(correlation.id, stored as string, 'lastLook') : undefined)
      })
    }, () => { for (const { resolve } of calls) resolve(undefined) })
  }

  /** Closes the subscriber, and the client when the store created it. */
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

  /** The command client (set by connect()): a Redis or a Cluster. */
  get #command (): RedisClient {
    return this.#client!
  }

  #arrival (id: string, stored: string, foundBy: FoundBy): Arrival {
    return { id, reply: decodeStored(stored), foundBy }
  }

  /**
   * A keyspace event: one of our keys holds a reply. Take it (GETDEL evicts it) and hand it to the
   * call. The events of one read from the subscriber arrive together: their GETDELs go out as one
   * pipeline.
   */
  #onKey (key: string): void {
    const id = this.#keys.callId(key)
    if (!this.#pending.has(id)) {
      // No call waits for it (any more): evict it now rather than at its TTL. Ids are never reused,
      // so no call can come to wait for it later.
      this.#stats.add('unclaimed')
      this.#command.del(key).catch((err: Error) => this.#log.debug({ err }, 'could not delete an unclaimed reply'))
      return
    }
    if (this.#toTake.length === 0) queueMicrotask(() => this.#take())
    this.#toTake.push({ id, key })
  }

  #take (): void {
    const taking = this.#toTake
    this.#toTake = []
    const redis = this.#command
    const failed = (err: Error) => this.#log.warn({ err: withoutCommand(err) }, 'could not read a handed-over reply')
    const found = (id: string, stored: string | null) => { if (stored !== null) this.#arrived(this.#arrival(id, stored, 'notification')) }
    if (taking.length === 1) {
      redis.getdel(taking[0].key).then(stored => found(taking[0].id, stored), failed)
      return
    }
    pipelined(redis, taking.length, (target, i) => target.getdel(taking[i].key)).then(results => {
      results.forEach(([err, stored], i) => {
        if (err === null) found(taking[i].id, stored as string | null)
        else failed(err)
      })
    }, failed)
  }

  /** After the subscriber reconnected: events may have been lost, so look up every pending key. */
  async #afterReconnect (): Promise<void> {
    // A restarted Redis has forgotten a CONFIG SET: set the flags again (where the plugin may)
    // before looking for the replies that were written while no event could reach us.
    if (this.#settings.configureKeyspaceEvents) {
      await this.#configure().catch((err: Error) => this.#log.error({ err }, 'could not set notify-keyspace-events again'))
    }
    this.#sweep()
    // On a cluster the subscriber may be on another node now: prove that its events arrive there.
    if (isCluster(this.#command)) await this.#probe().catch((err: Error) => this.#log.error({ err }, 'no keyspace notification after the subscriber moved'))
  }

  /** Adds K$ to notify-keyspace-events: on the server, or on every node of a cluster (a replica can become master). */
  async #configure (): Promise<void> {
    const client = this.#command
    if (!isCluster(client)) return await configureKeyspaceEvents(client)
    await Promise.all(client.nodes('all').map(node => configureKeyspaceEvents(node, nodeName(node))))
  }

  async #probe (): Promise<void> {
    const client = this.#command
    await probeNotifications(client, this.#subscriber!, this.#keys.base, PROBE_TIMEOUT, async () => {
      if (!isCluster(client)) return ''
      // Which nodes lack the flags, and whether one of them is the master this instance listens on.
      const master = (this.#subscriber as ClusterSubscriber).node
      const lacking = await Promise.all(client.nodes('all').map(async node => {
        const flags = await describeFlags(node)
        if (flags === undefined) return undefined
        const name = nodeName(node)
        const role = name === master ? `the master of slot ${keySlot(this.#keys.base)}, which holds this instance's keys` : 'not this instance\'s master'
        return `${name} (${role}) ${flags}`
      }))
      const found = lacking.filter(line => line !== undefined)
      return found.length === 0 ? '' : ` On the cluster: ${found.join('; ')}.`
    })
  }

  #sweep (): void {
    const calls = [...this.#pending.calls()].map(call => call.correlation)
    if (calls.length === 0) return
    const take = (target: Commands, i: number) => target.getdel(this.#keys.reply(calls[i]))
    pipelined(this.#command, calls.length, take).then(results => {
      results.forEach(([err, stored], i) => {
        if (err === null && stored !== null) this.#arrived(this.#arrival(calls[i].id, stored as string, 'sweep'))
      })
    }, (err: Error) => this.#log.warn({ err }, 'could not sweep pending replies'))
  }
}

interface Write {
  key: string
  value: string
  ttl: number
  /** The call's deadline (epoch ms): on a cluster, how long the write may be tried again. */
  deadline: number
}

/** A NOPERM refusal as FST_KAFKA_REPLY_NOT_AUTHORIZED saying what to grant; any other error as it is, without its command. */
function denied (err: Error, what: string): Error {
  return isNoPerm(err) ? new errors.NOT_AUTHORIZED(`${what} (Redis said: ${err.message})`) : withoutCommand(err)
}
