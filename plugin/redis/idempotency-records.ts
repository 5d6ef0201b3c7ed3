import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Log } from '../log.js'
import type { AcceptedCall } from '../accepted.js'
import { isCluster, type RedisClient } from './client.js'
import { byNode, nodeUnavailable, pipelined, withoutCommand } from './pipeline.js'

/** How soon an outcome held up by a cluster node that is down is tried again, and for how long. */
const RETRY_MS = 200
const RETRY_FOR_MS = 5000

/**
 * One record per idempotency key (per reference), `<prefix>:idempotency:{<ref>}`: the braces put
 * each record in the slot of its own reference on a Redis Cluster, so records spread over the
 * nodes, and a client's key, hashed into the reference, never chooses a slot. An accepted call
 * (202 Accepted) has a record too, under its key's reference or, without a key, under a digest of
 * its reply id's token. Four layouts, `|`-separated after a letter:
 *
 * - `F<until>|<fingerprint>|<correlation id>`: a keyed call in flight; `until` (epoch ms, the
 *   deadline plus replyGrace) is when a retry may publish again.
 * - `D<fingerprint>|<stored reply>`: its outcome, the worker's reply in the hand-over layout (stored-reply.ts).
 * - `A<until>|<fingerprint>|<acceptedUntil>|<keyed 0/1>|<token><scope digest>|<correlation id>`:
 *   an accepted call in flight; `until` is acceptedUntil (or the deadline plus grace if later), so a
 *   retry with its key gets its 202 rather than publishing again while its reply is awaited.
 * - `C<fingerprint>|<acceptedUntil>|<keyed 0/1>|<token><scope digest>|<stored reply>`: its outcome.
 *
 * Each operation is one script, so that reading a record and changing it cannot interleave with
 * another replica's. Scripts run with the caller's ACL: the Redis user needs +eval +evalsha, and
 * +get +set +del on `~<prefix>:idempotency:*`.
 */
const RECORD = `
local function fields (v, n)
  local parts, from = {}, 2
  for i = 1, n - 1 do
    local bar = string.find(v, '|', from, true)
    if not bar then return nil end
    parts[i] = string.sub(v, from, bar - 1)
    from = bar + 1
  end
  parts[n] = string.sub(v, from)
  return parts
end
local function record (v)
  if not v then return nil end
  local kind = string.sub(v, 1, 1)
  local f
  if kind == 'F' then
    f = fields(v, 3)
    if f then return { kind = kind, untilMs = f[1], fp = f[2], id = f[3] } end
  elseif kind == 'D' then
    f = fields(v, 2)
    if f then return { kind = kind, fp = f[1], stored = f[2] } end
  elseif kind == 'A' then
    f = fields(v, 6)
    if f then return { kind = kind, untilMs = f[1], fp = f[2], acceptedUntil = f[3], keyed = f[4], access = f[5], id = f[6] } end
  elseif kind == 'C' then
    f = fields(v, 5)
    if f then return { kind = kind, fp = f[1], acceptedUntil = f[2], keyed = f[3], access = f[4], stored = f[5] } end
  end
  return { kind = '?' }
end
`

/** ARGV: now, until, fingerprint, correlation id, ttl, and for an accepted call `<acceptedUntil>|<keyed>|<access>` (else ''). */
const CLAIM = `${RECORD}
local r = record(redis.call('GET', KEYS[1]))
if r then
  if r.kind == '?' then return {'unknown'} end
  if r.fp ~= ARGV[3] then return {'reused'} end
  if r.kind == 'D' or r.kind == 'C' then return {'done', r.stored} end
  if tonumber(r.untilMs) > tonumber(ARGV[1]) then
    if r.kind == 'A' then return {'acceptedPending', r.untilMs, r.access} end
    return {'inProgress', r.untilMs}
  end
end
if ARGV[6] == '' then
  redis.call('SET', KEYS[1], 'F' .. ARGV[2] .. '|' .. ARGV[3] .. '|' .. ARGV[4], 'PX', ARGV[5])
else
  redis.call('SET', KEYS[1], 'A' .. ARGV[2] .. '|' .. ARGV[3] .. '|' .. ARGV[6] .. '|' .. ARGV[4], 'PX', ARGV[5])
end
return {'claimed'}
`

/**
 * ARGV: correlation id, stored reply, idempotencyTtl, now. A keyed outcome is kept idempotencyTtl
 * from now; an accepted call's until its acceptedUntil at least (exactly, without a key).
 */
const COMPLETE = `${RECORD}
local r = record(redis.call('GET', KEYS[1]))
if not r then return 0 end
if r.kind == 'D' or r.kind == 'C' then return 2 end
if r.id ~= ARGV[1] then return 0 end
if r.kind == 'F' then
  redis.call('SET', KEYS[1], 'D' .. r.fp .. '|' .. ARGV[2], 'PX', ARGV[3])
  return 1
end
local ttl = tonumber(r.acceptedUntil) - tonumber(ARGV[4])
if r.keyed == '1' and tonumber(ARGV[3]) > ttl then ttl = tonumber(ARGV[3]) end
if ttl < 1 then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('SET', KEYS[1], 'C' .. r.fp .. '|' .. r.acceptedUntil .. '|' .. r.keyed .. '|' .. r.access .. '|' .. ARGV[2], 'PX', ttl)
return 1
`

/** ARGV: correlation id. */
const RELEASE = `${RECORD}
local r = record(redis.call('GET', KEYS[1]))
if r and (r.kind == 'F' or r.kind == 'A') and r.id == ARGV[1] then
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
  /** An accepted call with the same key awaits its reply until `until`; `access` is its token and scope digest. */
  | { state: 'acceptedPending', until: number, access: string }
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

/** An accepted call's record, as a poll reads it. */
export interface AcceptedRecord {
  /** Epoch ms after which a poll gets 404, whatever Redis still holds. */
  until: number
  /** The token and the scope digest a poll must match. */
  access: string
  /** The outcome in the hand-over layout, once the reply came. */
  stored?: string
}

/** Reads an `A` (pending) or `C` (done) record; undefined for any other. */
export function parseAcceptedRecord (value: string): AcceptedRecord | undefined {
  const kind = value[0]
  if (kind !== 'A' && kind !== 'C') return undefined
  const fields: string[] = []
  let from = 1
  const count = kind === 'A' ? 6 : 5
  for (let i = 0; i < count - 1; i++) {
    const bar = value.indexOf('|', from)
    if (bar === -1) return undefined
    fields.push(value.slice(from, bar))
    from = bar + 1
  }
  fields.push(value.slice(from))
  // A: until, fingerprint, acceptedUntil, keyed, access, id. C: fingerprint, acceptedUntil, keyed, access, stored.
  const until = Number(kind === 'A' ? fields[2] : fields[1])
  if (!Number.isSafeInteger(until)) return undefined
  return kind === 'A' ? { until, access: fields[4] } : { until, access: fields[3], stored: fields[4] }
}

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
   * until `until`: one script, one round trip. A keyed record lives idempotencyTtl, or until `until`
   * if that is later, so that a reply however late still finds it; an accepted call's record
   * without a key lives exactly until its `accepted.until`.
   */
  async claim (ref: string, fingerprint: string, correlationId: string, until: number, accepted?: AcceptedCall): Promise<Claim> {
    const now = Date.now()
    const ttl = accepted !== undefined && !accepted.keyed ? accepted.until - now : Math.max(this.#ttl, until - now)
    const acceptedFields = accepted === undefined ? '' : `${accepted.until}|${accepted.keyed ? 1 : 0}|${accepted.token}${accepted.scope}`
    const [state, value, access] = await new Promise<unknown>((resolve, reject) => {
      if (this.#claims.length === 0) setImmediate(() => { this.#sendClaims() })
      this.#claims.push({ ref, args: [now, until, fingerprint, correlationId, ttl, acceptedFields], resolve, reject })
    }) as [Claim['state'], string | undefined, string | undefined]
    if (state === 'inProgress') return { state, until: Number(value) }
    if (state === 'acceptedPending') return { state, until: Number(value), access: access! }
    if (state === 'done') return { state, stored: value! }
    return { state } as Claim
  }

  /** The record of `ref` as an accepted call's, for a poll: undefined when there is none (or another kind). */
  async readAccepted (ref: string): Promise<AcceptedRecord | undefined> {
    let value: string | null
    try {
      value = await this.#client().get(this.key(ref))
    } catch (err) {
      throw withoutCommand(err)
    }
    return value === null ? undefined : parseAcceptedRecord(value)
  }

  /** Deletes the record of an accepted call without a key whose caller got its reply in time: nobody will poll it. */
  async forget (ref: string): Promise<void> {
    try {
      await this.#client().del(this.key(ref))
    } catch (err) {
      throw withoutCommand(err)
    }
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
    const now = Date.now()
    const args = (i: number) => [completions[i].correlationId, completions[i].stored, this.#ttl, now]
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
