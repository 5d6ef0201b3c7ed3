import { recordsUnder } from '../../app/demo/keys.js'
import { byKey } from '../lib/calls.js'
import type { Call } from '../lib/load.js'
import { readTopic } from '../lib/replies.js'
import { REPLY_GRACE_MS } from '../lib/run-scenario.js'
import type { Scenario } from '../lib/types.js'

/** Requests per call at most: enough for several deadlines of each outage. */
const MAX_ATTEMPTS = 12
/** When the first pause starts (load clock, ms): the load is at full rate from the start. */
const FIRST_PAUSE_AT_MS = 1500
/** How far the long pause outlasts the deadline plus grace of the work it froze, ms. */
const LONG_BEYOND_MS = 1500
/** After a pause, besides a deadline plus grace, until the calls it held up have settled, ms. */
const SETTLE_MS = 2000
const TIMEOUT = '504 FST_KAFKA_REPLY_TIMEOUT'
const IN_PROGRESS = '409 FST_KAFKA_REPLY_IDEMPOTENCY_IN_PROGRESS'
/** Calls shown for each kind of failure in the results. */
const SAMPLES = 5

/** What the keyed calls came to, noted as `keyed` once the load has drained. */
interface KeyedFigures {
  /** Calls (keys), each with its own Idempotency-Key. */
  calls: number
  /** Calls sent more than once. */
  retried: number
  /** Calls whose last request got no answer to keep (504, 409 or none), with every retry spent. */
  unanswered: number
  /** Of them, calls the worker had priced: an outcome existed that no retry got. */
  unansweredPriced: number
  /** Calls that came to two different quotes (quoteIds), counting what the worker wrote and what the client got. */
  twice: number
  /** Calls the worker answered more than once, each time with the same quote: its deduplication at work. */
  pricedAgain: number
  /** Quotes a client got that the reply topic did not show: the reader missed some, so `twice` would too. */
  notOnTopic: number
  /** Replies the worker wrote for keyed calls. */
  workerReplies: number
  /** Idempotency records under the scenario's prefix. */
  records: number
  /** A few calls of each failure: their requests, as `status[ replayed][ quoteId]`, then the worker's quotes. */
  samples: Record<string, Record<string, string[]>>
}

/**
 * Every call carries an Idempotency-Key, and a client retries every 504 with it, honouring 409's
 * Retry-After, while the worker is paused twice (SIGSTOP, then SIGCONT): it freezes with work in
 * hand, and finishes that work when it goes on, after the callers' deadlines. A kill would not do:
 * the work in hand dies with the worker and its redeliveries have expired, so nothing is ever
 * priced late. The short pause ends within the deadline plus grace of the frozen work, so its late
 * replies are stored as outcomes and the retries replayed; the long one ends after the retries have
 * taken the keys over and published again, so the late replies are dropped and only the worker's
 * deduplication by `context.idempotencyKey` keeps the quote the same.
 */
export const idempotentRetries: Scenario = {
  name: 'idempotent-retries',
  description: 'Every call with an Idempotency-Key; the worker paused (SIGSTOP) twice, within and beyond deadline plus grace, with work in hand; every 504 retried with the same key and payload, 409s after their Retry-After: no outcome lost, no call priced twice.',
  keyedRetries: { maxAttempts: MAX_ATTEMPTS },
  // Below the other faults' share: a keyed call costs two Redis scripts more, and each pause adds
  // its retries and, on resuming, a backlog on top of the load.
  loadShare: 0.3,
  appEnv: {
    // Work in hand when the worker freezes (the suite's 2 ms leaves a few calls at most), and slots
    // enough that the worker still answers 3200 quotes a second, its backlog after a pause included.
    WORK_MS: '40',
    CONCURRENCY: '128',
    // A pause is not a crash: the worker stays in its group through the longest one.
    KAFKA_SESSION_TIMEOUT_MS: '20000',
    // Every key of the run remembered (the default keeps the last 10000, some seconds of this load).
    IDEMPOTENCY_MAX_KEYS: '1000000'
  },
  async fault (ctx) {
    const worker = ctx.cluster.workers[0]
    const pauses = [ctx.timeoutMs + REPLY_GRACE_MS / 2, ctx.timeoutMs + REPLY_GRACE_MS + LONG_BEYOND_MS]
    await ctx.sleep(FIRST_PAUSE_AT_MS - ctx.now())
    for (const ms of pauses) {
      ctx.cluster.pause(worker)
      ctx.mark(`worker paused for ${ms / 1000} s`)
      try {
        await ctx.sleep(ms)
      } finally {
        ctx.cluster.resume(worker)
      }
      ctx.mark(`worker resumed after ${ms / 1000} s`)
      await ctx.sleep(ctx.timeoutMs + REPLY_GRACE_MS + SETTLE_MS)
    }
  },
  async afterLoad (ctx, calls) {
    const replies = await readTopic(ctx.kafkaBrokers, ctx.replyTopic)
    const records = (await recordsUnder(ctx.redis, ctx.keyPrefix)).length
    ctx.note('keyed', figures(calls, replies, records))
  },
  checks ({ calls, notes }) {
    const keyed = notes.keyed as KeyedFigures
    const keyedCalls = calls.filter(call => call.key !== undefined)
    const retries = keyedCalls.filter(call => call.retryOf !== undefined).length
    const replays = keyedCalls.filter(call => call.replayed === true)
    const inProgress = keyedCalls.filter(call => answerOf(call) === IN_PROGRESS)
    const withoutRetryAfter = inProgress.filter(call => call.retryAfterS === undefined).length
    const againInProgress = afterWaiting(calls).filter(call => call.status === 409).length
    const unexpected = keyedCalls.filter(call => !(call.status === 200 && call.ownReply === true) && answerOf(call) !== TIMEOUT && answerOf(call) !== IN_PROGRESS)
    return [
      {
        claim: `the pauses made 504s that were retried with their key: ${keyed.retried} of ${keyed.calls} calls retried, ${retries} retries, ${inProgress.length} of them 409 (in flight)`,
        ok: keyed.retried > 0 && inProgress.length > 0
      },
      {
        claim: `every answer was the call's own quote, a 504 or a 409 while its key was in flight: ${unexpected.length} others${unexpected.length === 0 ? '' : ` (${[...new Set(unexpected.map(answerOf))].join(', ')})`}`,
        ok: unexpected.length === 0
      },
      {
        claim: `every 409 carried a Retry-After, and a retry sent once it had passed was not in flight any more: ${withoutRetryAfter} without, ${againInProgress} 409s again`,
        ok: withoutRetryAfter === 0 && againInProgress === 0
      },
      {
        claim: `retries after a late reply got the stored outcome, marked Idempotent-Replayed: ${replays.length} replays`,
        ok: replays.length > 0
      },
      {
        claim: `no outcome lost: ${keyed.unanswered} calls without their quote after every retry, ${keyed.unansweredPriced} of them priced by the worker`,
        ok: keyed.calls > 0 && keyed.unanswered === 0
      },
      {
        claim: `no call priced twice: ${keyed.twice} calls with two quotes, among ${keyed.workerReplies} replies the worker wrote; ${keyed.pricedAgain} calls answered again by the worker with the same quote (late first reply, then the retry)`,
        ok: keyed.twice === 0 && keyed.pricedAgain > 0
      },
      {
        claim: `every quote a client got is among the worker's replies on the reply topic: ${keyed.notOnTopic} not`,
        ok: keyed.notOnTopic === 0
      },
      {
        claim: `one idempotency record per call, kept after it: ${keyed.records} records for ${keyed.calls} calls`,
        ok: keyed.records === keyed.calls
      }
    ]
  }
}

/** `status code`, or what ended a request that got no answer. */
function answerOf (call: Call): string {
  if (call.status === undefined) return call.unanswered === true ? 'no answer' : `client error ${call.error ?? '-'}`
  return call.status === 200 ? '200' : `${call.status} ${call.code ?? '-'}`
}

/** The retries sent after a 409's Retry-After. */
function afterWaiting (calls: readonly Call[]): Call[] {
  return [...byKey(calls).values()].flatMap(requests => requests.filter((_, i) => i > 0 && requests[i - 1].status === 409))
}

/** The keyed calls against the replies the worker wrote (a quote's customerId is `k<seq>`, one per key) and the records left. */
function figures (calls: readonly Call[], replies: readonly unknown[], records: number): KeyedFigures {
  const priced = new Map<string, string[]>()
  let workerReplies = 0
  for (const reply of replies) {
    const quote = reply as { quoteId?: unknown, customerId?: unknown } | null
    if (typeof quote?.customerId !== 'string' || typeof quote.quoteId !== 'string' || !quote.customerId.startsWith('k')) continue
    workerReplies++
    priced.set(quote.customerId, [...priced.get(quote.customerId) ?? [], quote.quoteId])
  }
  const f: KeyedFigures = { calls: 0, retried: 0, unanswered: 0, unansweredPriced: 0, twice: 0, pricedAgain: 0, notOnTopic: 0, workerReplies, records, samples: {} }
  const sample = (kind: string, first: number, requests: Call[]) => {
    const samples = f.samples[kind] ??= {}
    if (Object.keys(samples).length >= SAMPLES) return
    const answers = requests.map(r => `${answerOf(r)}${r.replayed === true ? ' replayed' : ''}${r.quoteId === undefined ? '' : ` ${r.quoteId}`}`)
    samples[`k${first}`] = [...answers, `worker: ${(priced.get(`k${first}`) ?? []).join(' ') || 'none'}`]
  }
  for (const [first, requests] of byKey(calls)) {
    f.calls++
    if (requests.length > 1) f.retried++
    const byWorker = priced.get(`k${first}`) ?? []
    const got = requests.flatMap(r => r.status === 200 && r.quoteId !== undefined ? [r.quoteId] : [])
    const last = requests.at(-1)!
    const answered = last.status !== undefined && last.status !== 409 && last.status < 500
    if (!answered) {
      f.unanswered++
      if (byWorker.length > 0) f.unansweredPriced++
      sample('unanswered', first, requests)
    }
    const quotes = new Set([...byWorker, ...got])
    if (quotes.size > 1) {
      f.twice++
      sample('twice', first, requests)
    } else if (byWorker.length > 1) {
      f.pricedAgain++
    }
    if (got.some(quoteId => !byWorker.includes(quoteId))) f.notOnTopic++
  }
  return f
}
