// The demo's scenarios, each a printed table followed by the claims it checks.
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import type { KafkaReplyStats } from '../../plugin/index.js'
import { idempotencyPattern, keysPattern } from '../../plugin/redis/keys.js'
import { FAULT_SKUS, QUOTE_VALIDITY_MS } from '../../worker/pricing.js'
import type { Checks } from './checks.js'
import type { Child } from './children.js'
import { exchange, type Exchange } from './client.js'
import { keysUnder, recordsUnder } from './keys.js'
import { table } from './table.js'

/** What every step needs. */
export interface DemoContext {
  replicas: Child[]
  checks: Checks
  /** The apps' reply deadline and the SLOW SKU's duration, ms. */
  timeoutMs: number
  slowMs: number
  keyPrefix: string
  redis: Redis
}

type Stats = KafkaReplyStats & { instanceId: string }

const ORDERS: Array<[string, number, string]> = [
  ['KB-101', 1, 'cust-ada'], ['MS-202', 12, 'cust-bob'], ['MN-303', 2, 'cust-cyd'], ['HD-404', 60, 'cust-dee'],
  ['KB-101', 25, 'cust-eve'], ['MS-202', 3, 'cust-fay'], ['MN-303', 10, 'cust-gus'], ['HD-404', 1, 'cust-hal']
]

const ms = (value: number) => value.toFixed(2)
const money = (body: Record<string, unknown>) => `${body.sku} x ${body.quantity} = ${(Number(body.totalCents) / 100).toFixed(2)} EUR`
const quote = (n: number) => ({ sku: ORDERS[n % ORDERS.length][0], quantity: ORDERS[n % ORDERS.length][1], customerId: ORDERS[n % ORDERS.length][2] })

/** One untimed request per replica: producers fetch topic metadata on their first send. */
export async function warmUp ({ replicas }: DemoContext): Promise<void> {
  await Promise.all(replicas.map(replica => exchange(replica.port!, 'POST', '/quotes', quote(0))))
}

/**
 * Quotes sent one after the other, two in a row to each replica. The worker spreads replies over
 * the reply topic's partitions in turn, and each replica consumes one partition, so of two
 * consecutive replies to one replica, one lands on its own partition (memory) and one on the
 * other's (Redis).
 */
export async function routing (ctx: DemoContext): Promise<void> {
  const { replicas, checks } = ctx
  const rows: Exchange[] = []
  // Eight rows show the pattern; more only if a path has not shown up yet.
  for (let n = 0; n < 16 && (n < 8 || !bothPaths(rows)); n++) {
    rows.push(await exchange(replicas[Math.floor(n / 2) % replicas.length].port!, 'POST', '/quotes', quote(n)))
  }
  console.log(table(['#', 'HTTP to', 'reply consumed by', 'path', 'status', 'latency ms', 'quote'],
    rows.map((r, i) => [i + 1, r.instance, r.consumedBy, r.path, r.status, ms(r.ms), r.status === 200 ? money(r.body) : String(r.body.message)])))
  console.log()
  checks.check(rows.every(r => r.status === 200), 'every quote answered 200')
  checks.check(rows.some(r => r.path === 'memory'), 'some replies were consumed by the replica that waited (memory)')
  checks.check(rows.some(r => r.path === 'redis'), 'some replies were consumed by the other replica and handed over through Redis')
  checks.check(rows.every(r => (r.path === 'memory') === (r.consumedBy === r.instance)), 'path is memory exactly when the waiting replica consumed the reply')
}

function bothPaths (rows: Exchange[]): boolean {
  return rows.some(r => r.path === 'memory') && rows.some(r => r.path === 'redis')
}

/** The worker's refusals and failures, and a request the API refuses itself. */
export async function failures (ctx: DemoContext): Promise<void> {
  const { replicas: [a, b], checks } = ctx
  const sentBefore = (await stats(a)).sent
  const cases: Array<{ what: string, to: Child, body: unknown, expect: number }> = [
    { what: 'unknown SKU (worker: 422)', to: a, body: { sku: 'XX-999', quantity: 1, customerId: 'cust-ada' }, expect: 422 },
    { what: 'more than in stock (worker: 422)', to: b, body: { sku: 'MN-303', quantity: 41, customerId: 'cust-bob' }, expect: 422 },
    { what: 'worker crashes (plain Error)', to: a, body: { sku: 'CRASH', quantity: 1, customerId: 'cust-cyd' }, expect: 502 },
    { what: 'body violates the schema', to: a, body: { sku: 'kb-101', quantity: 0 }, expect: 400 },
    { what: `worker slower (${ctx.slowMs} ms) than the deadline`, to: b, body: { sku: 'SLOW', quantity: 1, customerId: 'cust-dee' }, expect: 504 }
  ]
  const rows: Array<Exchange & { what: string, expect: number }> = []
  for (const c of cases) rows.push({ ...await exchange(c.to.port!, 'POST', '/quotes', c.body), what: c.what, expect: c.expect })
  console.log(table(['#', 'case', 'HTTP to', 'reply consumed by', 'path', 'status', 'latency ms', 'answer'],
    rows.map((r, i) => [i + 1, r.what, r.instance, r.consumedBy, r.path, r.status, ms(r.ms), answer(r.body)])))
  console.log()
  for (const r of rows) checks.check(r.status === r.expect, `${r.what}: ${r.expect}`)
  const timeout = rows.at(-1)!
  checks.check(timeout.body.code === 'FST_KAFKA_REPLY_TIMEOUT' && timeout.ms >= ctx.timeoutMs, `the 504 came after the ${ctx.timeoutMs} ms deadline (${ms(timeout.ms)} ms), not before`)
  checks.check((await stats(a)).sent === sentBefore + 2, 'the request refused with 400 was never published to Kafka (stats.sent counts only the other two)')
}

function answer (body: Record<string, unknown>): string {
  const code = body.remoteCode ?? body.code
  return `${code}: ${body.message}`
}

/**
 * A client that names its call with an Idempotency-Key and retries it: a SLOW quote times out
 * (504), a retry while the worker still prices it is told when to come back (409, Retry-After), and
 * a retry after the late reply arrived gets that late quote (Idempotent-Replayed: true), on either
 * replica, without publishing again.
 */
export async function idempotentRetries (ctx: DemoContext): Promise<void> {
  const { replicas: [a, b], checks } = ctx
  const body = { sku: FAULT_SKUS.slow, quantity: 1, customerId: 'cust-ivy' }
  // The IETF draft's structured-field string, with its quotes; Stripe's clients send it bare.
  const quoted = '"ivy-order-1"'
  const bare = 'ivy-order-1'
  const before = await Promise.all([a, b].map(stats))
  const rows: Array<Exchange & { what: string, key: string }> = []
  const send = async (what: string, to: Child, key: string) => {
    const row = { ...await exchange(to.port!, 'POST', '/quotes', body, { 'idempotency-key': key }), what, key }
    rows.push(row)
    return row
  }

  const firstSent = Date.now()
  const first = await send(`the call: the worker takes ${ctx.slowMs} ms`, a, quoted)
  const during = await send('retry while the worker prices it', b, quoted)
  // A client waits as long as Retry-After says; the late reply is stored by then (its deadline plus
  // the replicas' 1 s grace), but a slow machine may take longer: wait for it, within bounds.
  await sleep(Number(during.retryAfter) * 1000 || 1000)
  const giveUp = Date.now() + ctx.slowMs + 10_000
  while (sum(await Promise.all([a, b].map(stats)), 'outcomesStored') === sum(before, 'outcomesStored') && Date.now() < giveUp) await sleep(100)
  const retry = await send('retry after the late reply', a, quoted)
  const again = await send('retry, the key bare, other replica', b, bare)
  const after = await Promise.all([a, b].map(stats))

  console.log(table(['#', 'request', 'Idempotency-Key', 'HTTP to', 'status', 'Retry-After', 'Idempotent-Replayed', 'path', 'latency ms', 'answer'],
    rows.map((r, i) => [i + 1, r.what, r.key, r.instance, r.status, r.retryAfter, r.replayed, r.path, ms(r.ms), r.status === 200 ? `${money(r.body)}, quote ${String(r.body.quoteId).slice(0, 8)}` : answer(r.body)])))
  console.log()
  checks.check(first.status === 504 && first.body.code === 'FST_KAFKA_REPLY_TIMEOUT', `the call timed out: 504 after its ${ctx.timeoutMs} ms deadline`)
  checks.check(during.status === 409 && during.body.code === 'FST_KAFKA_REPLY_IDEMPOTENCY_IN_PROGRESS' && /^\d+$/.test(during.retryAfter),
    `a retry during the flight, on the other replica: 409 FST_KAFKA_REPLY_IDEMPOTENCY_IN_PROGRESS with Retry-After: ${during.retryAfter}`)
  const pricedAt = Date.parse(String(retry.body.validUntil)) - QUOTE_VALIDITY_MS
  checks.check(retry.status === 200 && retry.replayed === 'true' && retry.path === 'replayed',
    'a retry after the late reply: 200 with the quote, Idempotent-Replayed: true')
  checks.check(pricedAt >= firstSent + ctx.timeoutMs, `it is the late quote: priced ${((pricedAt - firstSent) / 1000).toFixed(1)} s after the call, past its deadline`)
  checks.check(again.status === 200 && again.replayed === 'true' && again.body.quoteId === retry.body.quoteId,
    'the key sent bare, to the other replica: the same quote (same quoteId)')
  checks.check(sum(after, 'sent') === sum(before, 'sent') + 1, 'published once: the 409 and the replays sent nothing to Kafka')
  checks.check(sum(after, 'outcomesStored') === sum(before, 'outcomesStored') + 1 && sum(after, 'replayed') === sum(before, 'replayed') + 2,
    'the late reply was stored as the key\'s outcome once, and replayed twice')
}

/**
 * A client that handles 202 Accepted says so (`Prefer: respond-async, wait=60`): its SLOW quote gets
 * a 202 at the deadline instead of a 504, with a Location. Polled on the other replica while the
 * worker prices it: 202 with Retry-After; by another customer: 404; once the late reply is stored:
 * the quote.
 */
export async function acceptedQuote (ctx: DemoContext): Promise<void> {
  const { replicas: [a, b], checks } = ctx
  const body = { sku: FAULT_SKUS.slow, quantity: 2, customerId: 'cust-jon' }
  const customer = { 'x-customer-id': body.customerId }
  const rows: Array<Exchange & { what: string }> = []
  const send = async (what: string, row: Promise<Exchange>) => {
    const exchanged = { ...await row, what }
    rows.push(exchanged)
    return exchanged
  }

  const firstSent = Date.now()
  const call = await send('the call, Prefer: respond-async, wait=60', exchange(a.port!, 'POST', '/quotes', body, { prefer: 'respond-async, wait=60' }))
  const { location } = call
  const pending = await send('poll while the worker prices it', exchange(b.port!, 'GET', location, undefined, customer))
  const foreign = await send('poll by another customer', exchange(b.port!, 'GET', location, undefined, { 'x-customer-id': 'cust-ivy' }))
  // A client polls as often as Retry-After says, until the quote is there.
  let done: Exchange = pending
  const giveUp = Date.now() + ctx.slowMs + 10_000
  while (done.status === 202 && Date.now() < giveUp) {
    await sleep(Number(done.retryAfter) * 1000 || 1000)
    done = await exchange(a.port!, 'GET', location, undefined, customer)
  }
  rows.push({ ...done, what: 'poll after Retry-After' })

  console.log(table(['#', 'request', 'HTTP to', 'status', 'Retry-After', 'Location', 'latency ms', 'answer'],
    rows.map((r, i) => [i + 1, r.what, r.instance, r.status, r.retryAfter, r.location === '-' ? '-' : `${r.location.slice(0, 24)}...`, ms(r.ms), r.status === 200 ? `${money(r.body)}, quote ${String(r.body.quoteId).slice(0, 8)}` : answer(r.body)])))
  console.log()
  checks.check(call.status === 202 && /^\/quotes\/replies\/[A-Za-z0-9_-]{44}$/.test(location) && call.ms >= ctx.timeoutMs,
    `the call: 202 Accepted with a Location at its ${ctx.timeoutMs} ms deadline, not a 504`)
  checks.check(pending.status === 202 && pending.body.code === 'FST_KAFKA_REPLY_ACCEPTED' && /^\d+$/.test(pending.retryAfter), 'polled on the other replica while pending: 202 with Retry-After')
  checks.check(foreign.status === 404 && foreign.body.code === 'FST_KAFKA_REPLY_UNKNOWN_REPLY', 'polled by another customer: 404 FST_KAFKA_REPLY_UNKNOWN_REPLY')
  const pricedAt = Date.parse(String(done.body.validUntil)) - QUOTE_VALIDITY_MS
  checks.check(done.status === 200 && done.body.customerId === body.customerId && pricedAt >= firstSent + ctx.timeoutMs,
    `polled once the worker was done: 200 with the quote priced ${((pricedAt - firstSent) / 1000).toFixed(1)} s after the call, past its deadline`)
}

/**
 * Once the SLOW replies came back late: no reply key of the run is left in Redis. The idempotency
 * record of the keyed call is, on purpose: it answers the key's retries for idempotencyTtl; so is
 * the accepted call's, which answers its polls for acceptedTtl.
 */
export async function redisIsEmpty (ctx: DemoContext): Promise<void> {
  const { replicas, checks, redis, keyPrefix } = ctx
  const giveUp = Date.now() + ctx.slowMs + 10_000
  let all = await Promise.all(replicas.map(stats))
  while (sum(all, 'late') < 3 && Date.now() < giveUp) {
    await sleep(100)
    all = await Promise.all(replicas.map(stats))
  }
  checks.check(sum(all, 'late') === 3, 'the three SLOW replies arrived after their deadlines: none was handed over through Redis')
  const keys = await keysUnder(redis, keyPrefix)
  console.log(`  SCAN MATCH ${keysPattern(keyPrefix)} -> ${plural(keys.length, 'reply key')}${keys.length > 0 ? `: ${keys.join(', ')}` : ''}`)
  checks.check(keys.length === 0, `no reply key under the prefix: the ${sum(all, 'handedOver')} replies handed over through Redis were deleted on read (GETDEL)`)
  const records = await recordsUnder(redis, keyPrefix)
  const ttls = await Promise.all(records.map(async record => await redis.pttl(record)))
  console.log(`  SCAN MATCH ${idempotencyPattern(keyPrefix)} -> ${plural(records.length, 'idempotency record')}${records.map((record, i) => `: ${record} (PTTL ${ttls[i]} ms)`).join(',')}`)
  checks.check(records.length === 2 && ttls.every(ttl => ttl > ctx.slowMs), 'two records, the keyed call\'s outcome and the accepted call\'s reply: kept on purpose, for retries and polls until their TTL')
  console.log()
  const counters: Array<keyof KafkaReplyStats> = ['sent', 'resolvedLocal', 'resolvedViaRedis', 'handedOver', 'remoteErrors', 'timeouts', 'late', 'inProgress', 'outcomesStored', 'replayed', 'accepted', 'polledDone', 'pending']
  console.log(table(['replica', ...counters], all.map(s => [s.instanceId, ...counters.map(c => s[c])])))
  console.log()
}

function plural (n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}

async function stats (replica: Child): Promise<Stats> {
  return (await exchange(replica.port!, 'GET', '/stats')).body as unknown as Stats
}

function sum (all: Stats[], counter: keyof KafkaReplyStats): number {
  return all.reduce((total, s) => total + s[counter], 0)
}
