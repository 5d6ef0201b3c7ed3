import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { FINGERPRINT_LENGTH } from '../idempotency.js'
import type { Log } from '../log.js'
import { isCluster, type RedisClient } from './client.js'
import { byNode, nodeUnavailable, pipelined, withoutCommand } from './pipeline.js'

/** How soon an outcome held up by a cluster node that is down is tried again, and for how long. */
const RETRY_MS = 200
const RETRY_FOR_MS = 5000

/**
 * One record per idempotency key (per reference), `<prefix>:idempotency:{<ref>}`: the braces put
 * each record in the slot of its own reference on a Redis Cluster, so records spread over the
 * nodes, and a client's key, hashed into the reference, never chooses a slot. Two layouts:
 *
 * - in flight: `F<until>|<fingerprint>|<correlation id>`: a call was published and its outcome is
 *   awaited; `until` (epoch ms, the deadline plus replyGrace) is when a retry may publish again.
 * - done: `D<fingerprint>|<stored reply>`: the worker's reply in the hand-over layout (stored-reply.ts).
 *
 * Each operation is one script, so that reading a record and changing it cannot interleave with
 * another replica's. Scripts run with the caller's ACL: the Redis user needs +eval +evalsha, and
 * +get +set +del on `~<prefix>:idempotency:*`.
 */
const CLAIM = `
local v = redis.call('GET', KEYS[1])
if v then
  local kind = string.sub(v, 1, 1)
  if kind == 'D' then
    if string.sub(v, 2, ${FINGERPRINT_LENGTH + 1}) ~= ARGV[3] then return {'reused'} end
    return {'done', string.sub(v, ${FINGERPRINT_LENGTH + 3})}
  end
  if kind ~= 'F' then return {'unknown'} end
  local bar = string.find(v, '|', 2, true)
  if string.sub(v, bar + 1, bar + ${FINGERPRINT_LENGTH}) ~= ARGV[3] then return {'reused'} end
  local untilMs = string.sub(v, 2, bar - 1)
  if tonumber(untilMs) > tonumber(ARGV[1]) then return {'inProgress', untilMs} end
end
redis.call('SET', KEYS[1], 'F' .. ARGV[2] .. '|' .. ARGV[3] .. '|' .. ARGV[4], 'PX', ARGV[5])
return {'claimed'}
`

/** The id of the call in flight, or false: the record is done, missing or of another layout. */
const IN_FLIGHT_ID = `
local function inFlight (v)
  if not v or string.sub(v, 1, 1) ~= 'F' then return false, nil end
  local bar = string.find(v, '|', 2, true)
  return string.sub(v, bar + ${FINGERPRINT_LENGTH + 2}), string.sub(v, bar + 1, bar + ${FINGERPRINT_LENGTH})
end
`

const COMPLETE = `${IN_FLIGHT_ID}
local v = redis.call('GET', KEYS[1])
local id, fingerprint = inFlight(v)
if id == ARGV[1] then
  redis.call('SET', KEYS[1], 'D' .. fingerprint .. '|' .. ARGV[2], 'PX', ARGV[3])
  return 1
end
if v and string.sub(v, 1, 1) == 'D' then return 2 end
return 0
`

const RELEASE = `${IN_FLIGHT_ID}
if inFlight(redis.call('GET', KEYS[1])) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`

interface QueuedClaim {
  ref: string
  args: Array<string | number>
  resolve: (result: unknown) => void
  reject: (err: Error) => void
}

function completeOutcome (result: unknown): CompleteOutcome {
  return result === 1 ? 'stored' : result === 2 ? 'duplicate' : 'stale'
}

interface Script {
  source: string
  sha: string
}

function script (source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') }
}

const SCRIPTS = { claim: script(CLAIM), complete: script(COMPLETE), release: script(RELEASE) }

/** What a call finds in its key's record. */
export type Claim =
  /** Nothing, or a call that was abandoned (in flight past its deadline plus grace): this call is now in flight. */
  | { state: 'claimed' }
  /** A call with the same key is in flight until `until` (epoch ms). */
  | { state: 'inProgress', until: number }
  /** The outcome of an earlier call, in the hand-over layout. */
  | { state: 'done', stored: string }
  /** The key was used for another request. */
  | { state: 'reused' }
  /** A record of a layout this version does not know (written by a newer one). */
  | { state: 'unknown' }

/** What became of an outcome offered to its record. */
export type CompleteOutcome =
  /** Stored: a retry gets it. */
  | 'stored'
  /** The cluster node of its record stayed unavailable: not stored (a retry publishes again once the call's grace has passed). */
  | 'unstored'
  /** The record held an outcome already (the reply was consumed twice). */
  | 'duplicate'
  /** The record is gone (expired) or awaits another call (a retry took over): nothing stored. */
  | 'stale'

/** The outcome of one keyed call, to store in its record. */
export interface Completion {
  ref: string
  correlationId: string
  /** The reply in the hand-over layout. */
  stored: string
}

/** The idempotency records of one plugin instance's key prefix. */
export class IdempotencyRecords {
  readonly #client: () => RedisClient
  readonly #prefix: string
  readonly #ttl: number
  readonly #log: Log | undefined
  /** Claims waiting for the pipeline of this turn of the event loop. */
  #claims: QueuedClaim[] = []

  /** `client` is read at each use: the store connects it after constructing this. */
  constructor (client: () => RedisClient, prefix: string, ttl: number, log?: Log) {
    this.#client = client
    this.#prefix = prefix
    this.#ttl = ttl
    this.#log = log
  }

  /** The Redis key of a reference's record. */
  key (ref: string): string {
    return `${this.#prefix}:idempotency:{${ref}}`
  }

  /**
   * Reads the key's record and, unless a call is in flight or done, records this call as in flight
   * until `until`: one script, one round trip. The record lives idempotencyTtl, or until `until` if
   * that is later, so that a reply however late still finds it.
   */
  async claim (ref: string, fingerprint: string, correlationId: string, until: number): Promise<Claim> {
    const now = Date.now()
    const ttl = Math.max(this.#ttl, until - now)
    const [state, value] = await new Promise<unknown>((resolve, reject) => {
      if (this.#claims.length === 0) setImmediate(() => { this.#sendClaims() })
      this.#claims.push({ ref, args: [now, until, fingerprint, correlationId, ttl], resolve, reject })
    }) as [Claim['state'], string | undefined]
    if (state === 'inProgress') return { state, until: Number(value) }
    if (state === 'done') return { state, stored: value! }
    return { state } as Claim
  }

  /**
   * The claims of one turn of the event loop (the calls of the HTTP requests read in it) go out as
   * one pipeline, per node on a cluster: one write for many calls, as the producer coalesces their
   * records. A claim the pipeline could not run (the script not loaded yet, a redirect) runs alone.
   */
  #sendClaims (): void {
    const claims = this.#claims
    this.#claims = []
    const client = this.#client()
    const keys = claims.map(({ ref }) => this.key(ref))
    for (const group of byNode(client, keys)) {
      pipelined(client, group.length, (target, j) => target.evalsha(SCRIPTS.claim.sha, 1, keys[group[j]], ...claims[group[j]].args)).then(results => {
        results.forEach(([err, result], j) => {
          const claim = claims[group[j]]
          if (err === null) claim.resolve(result)
          else this.#run(SCRIPTS.claim, claim.ref, claim.args).then(claim.resolve, claim.reject)
        })
      }, (err: unknown) => {
        for (const i of group) claims[i].reject(withoutCommand(err))
      })
    }
  }

  /**
   * Stores outcomes in the records whose call they answer, for idempotencyTtl from now: one
   * pipeline (per node, on a cluster). Rejects when Redis refuses or is away (the consumed batch is
   * then tried again). On a cluster, a record whose node is down holds up only its own outcome,
   * tried again until its replica has taken over (RETRY_FOR_MS at most), and then left unstored
   * rather than stall every reply behind it.
   */
  async complete (completions: Completion[]): Promise<CompleteOutcome[]> {
    const client = this.#client()
    const keys = completions.map(({ ref }) => this.key(ref))
    const args = (i: number) => [completions[i].correlationId, completions[i].stored, this.#ttl]
    const outcomes = new Array<CompleteOutcome>(completions.length)
    await Promise.all(byNode(client, keys).map(async group => {
      const results = await pipelined(client, group.length, (target, j) => target.evalsha(SCRIPTS.complete.sha, 1, keys[group[j]], ...args(group[j])))
      await Promise.all(results.map(async ([err, result], j) => {
        const i = group[j]
        // Not loaded on that node yet (a restart, a promoted replica), or the node away: one by one.
        outcomes[i] = err === null ? completeOutcome(result) : await this.#completeOne(completions[i].ref, args(i), completions[i].correlationId)
      }))
    })).catch((err: unknown) => { throw withoutCommand(err) })
    return outcomes
  }

  async #completeOne (ref: string, args: Array<string | number>, correlationId: string): Promise<CompleteOutcome> {
    const giveUpAt = Date.now() + RETRY_FOR_MS
    for (;;) {
      try {
        return completeOutcome(await this.#run(SCRIPTS.complete, ref, args))
      } catch (err) {
        if (!isCluster(this.#client()) || !nodeUnavailable(err as Error)) throw err
        if (Date.now() >= giveUpAt) {
          this.#log?.warn({ err, correlationId }, 'could not store the outcome of a call with an idempotency key: its Redis Cluster node stayed unavailable')
          return 'unstored'
        }
        await sleep(RETRY_MS)
      }
    }
  }

  /** Deletes the record of a call that certainly published nothing, so a retry proceeds at once. */
  async release (ref: string, correlationId: string): Promise<void> {
    await this.#run(SCRIPTS.release, ref, [correlationId])
  }

  /** EVALSHA, and EVAL when the server does not hold the script yet (a restart, a new node). */
  async #run (script: Script, ref: string, args: Array<string | number>): Promise<unknown> {
    const client = this.#client()
    const key = this.key(ref)
    try {
      try {
        return await client.evalsha(script.sha, 1, key, ...args)
      } catch (err) {
        if (!(err as Error).message.startsWith('NOSCRIPT')) throw err
        return await client.eval(script.source, 1, key, ...args)
      }
    } catch (err) {
      // The arguments hold a reply: never in a log line.
      throw withoutCommand(err)
    }
  }
}
