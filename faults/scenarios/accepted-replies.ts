import { setTimeout as sleep } from 'node:timers/promises'
import { recordsUnder } from '../../app/demo/keys.js'
import { countOutcomes, describe, sentFrom } from '../lib/calls.js'
import { requestOf, type Call } from '../lib/load.js'
import type { Replica } from '../lib/cluster.js'
import type { Scenario } from '../lib/types.js'
import { restartWorker } from './worker-restart.js'

/**
 * Load after the new worker is ready. Unlike worker-restart's, the outage's requests are not
 * skipped as expired: the new worker prices them all, the live traffic on top, and calls sent while
 * it works through that backlog may be accepted too (202, which the first check allows).
 */
const AFTER_MS = 8000
/** The last requests of the load, sent once the backlog was priced: each must be answered 200. */
const LAST_MS = 3000
/** How long the polls go on for one reply at most, ms: the backlog is priced by then. */
const POLL_FOR_MS = 60_000
/** Polls in flight at once. */
const POLLERS = 32
/** Accepted calls also polled by another customer: each must be a 404. */
const FOREIGN_POLLS = 50

/** What the polls of the accepted calls came to, noted as `polls`. */
interface PollFigures {
  /** Calls answered 202 with a Location. */
  accepted: number
  /** Polled until done: the call's own quote (200). */
  fetched: number
  /** Polled until done: another request's quote, or no valid one. */
  crossed: number
  /** Still 202 when the polls gave up, or a 404, or another answer: the reply is lost. */
  lost: number
  /** Polls answered 202 (pending) before the reply came. */
  pending: number
  /** Polls in all. */
  polls: number
  /** Of the polls naming another customer, those answered 404 FST_KAFKA_REPLY_UNKNOWN_REPLY. */
  foreign404: number
  foreignPolls: number
  /** What a lost reply's last poll got, by `status code`. */
  lostAnswers: Record<string, number>
  /** Idempotency records (the accepted calls' stored replies among them) under the prefix. */
  records: number
}

/**
 * Every call asks for `Prefer: respond-async, wait=<deadline>`: the reference app answers it at
 * its deadline with 202 Accepted and a Location instead of a 504. The worker is killed (SIGKILL)
 * and started again; the calls of the outage are answered 202, their requests stay in Kafka (an
 * accepted call's worker deadline is `acceptedTtl` away, so the new worker prices them rather than
 * skip them as expired), and whichever replica consumes each late reply stores it. Once the load
 * has drained, every Location is polled, on the replicas in turn, until it gives the call's quote.
 */
export const acceptedReplies: Scenario = {
  name: 'accepted-replies',
  description: 'Every call with Prefer: respond-async, wait=<deadline>; the worker killed (SIGKILL) and started again: calls of the outage end 202 Accepted with a Location, every accepted reply is fetched by polling it once the worker is back, none lost.',
  respondAsync: true,
  // Below the other faults' share: the outage's requests are all priced once the worker is back, so
  // it has the backlog to work through beside the load, with the capacity the load leaves it.
  loadShare: 0.3,
  fault: ctx => restartWorker(ctx, AFTER_MS),
  async afterLoad (ctx, calls) {
    const accepted = calls.filter(call => call.status === 202 && call.location !== undefined)
    const figures = await pollAll(ctx.cluster.up, accepted)
    figures.records = (await recordsUnder(ctx.redis, ctx.keyPrefix)).length
    ctx.note('polls', figures)
  },
  checks ({ calls, marks, stoppedAt, notes }) {
    const lastSent = Math.max(...calls.map(call => call.sentAt))
    const killed = marks['worker killed']
    const ready = marks['new worker ready']
    const polls = notes.polls as PollFigures
    const during = calls.filter(call => call.sentAt >= killed && call.sentAt < ready)
    const duringCounts = countOutcomes(during, stoppedAt)
    const accepted = calls.filter(call => call.status === 202)
    const unexpected = calls.filter(call => call.status !== 200 && call.status !== 202)
    const withoutLocation = accepted.filter(call => call.location === undefined || call.retryAfterS === undefined).length
    const after = sentFrom(calls, lastSent - LAST_MS)
    const afterCounts = countOutcomes(after, stoppedAt)
    return [
      {
        claim: `every call ended 200 or 202, none 504: ${accepted.length} of ${calls.length} accepted (${describe(duringCounts)} of the ${during.length} sent during the outage), ${unexpected.length} others${unexpected.length === 0 ? '' : ` (${[...new Set(unexpected.map(answerOf))].join(', ')})`}`,
        ok: accepted.length > 0 && unexpected.length === 0
      },
      { claim: `every 202 carried a Location and a Retry-After: ${withoutLocation} did not`, ok: withoutLocation === 0 },
      {
        claim: `every accepted reply was fetched, the call's own quote: ${polls.fetched} of ${polls.accepted} fetched, ${polls.lost} lost, ${polls.crossed} crossed, in ${polls.polls} polls (${polls.pending} of them 202 while pending)${polls.lost === 0 ? '' : `; lost ones' last answers: ${JSON.stringify(polls.lostAnswers)}`}`,
        ok: polls.accepted > 0 && polls.fetched === polls.accepted && polls.lost === 0 && polls.crossed === 0
      },
      {
        claim: `a poll naming another customer got 404: ${polls.foreign404} of ${polls.foreignPolls}`,
        ok: polls.foreignPolls > 0 && polls.foreign404 === polls.foreignPolls
      },
      { claim: `every request of the load's last ${LAST_MS / 1000} s (the backlog priced by then) answered 200: ${describe(afterCounts)}`, ok: after.length > 0 && afterCounts.answered === after.length }
    ]
  }
}

/** Polls every accepted call's Location until it gives a quote (or the polls give up), and a few as another customer. */
async function pollAll (replicas: readonly Replica[], accepted: readonly Call[]): Promise<PollFigures> {
  const figures: PollFigures = { accepted: accepted.length, fetched: 0, crossed: 0, lost: 0, pending: 0, polls: 0, foreign404: 0, foreignPolls: 0, lostAnswers: {}, records: 0 }
  let turn = 0
  const get = async (call: Call, customer: string): Promise<{ status: number, body: string, retryAfter: number }> => {
    const replica = replicas[turn++ % replicas.length]
    figures.polls++
    const res = await fetch(`http://127.0.0.1:${replica.port}${call.location!}`, {
      headers: { 'x-customer-id': customer },
      signal: AbortSignal.timeout(10_000)
    })
    return { status: res.status, body: await res.text(), retryAfter: Number(res.headers.get('retry-after') ?? 1) }
  }
  const pollOne = async (call: Call, index: number): Promise<void> => {
    const sent = requestOf(call)
    if (index < FOREIGN_POLLS) {
      figures.foreignPolls++
      const foreign = await get(call, `not-${sent.customerId}`).catch(() => undefined)
      if (foreign?.status === 404 && codeOf(foreign.body) === 'FST_KAFKA_REPLY_UNKNOWN_REPLY') figures.foreign404++
    }
    const giveUpAt = performance.now() + POLL_FOR_MS
    let last = 'no answer'
    while (performance.now() < giveUpAt) {
      const answer = await get(call, sent.customerId).catch((err: Error) => ({ status: 0, body: err.message, retryAfter: 1 }))
      if (answer.status === 200) {
        const quote = parseJson(answer.body)
        if (quote?.customerId === sent.customerId && quote.quantity === sent.quantity) figures.fetched++
        else figures.crossed++
        return
      }
      last = `${answer.status} ${codeOf(answer.body) ?? '-'}`
      if (answer.status !== 202 && answer.status !== 503) break
      if (answer.status === 202) figures.pending++
      await sleep(Math.max(1, answer.retryAfter) * 1000)
    }
    figures.lost++
    figures.lostAnswers[last] = (figures.lostAnswers[last] ?? 0) + 1
  }
  let next = 0
  await Promise.all(Array.from({ length: POLLERS }, async () => {
    while (next < accepted.length) {
      const index = next++
      await pollOne(accepted[index], index)
    }
  }))
  return figures
}

function parseJson (text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown
    return typeof value === 'object' && value !== null ? value as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

function codeOf (text: string): string | undefined {
  const code = parseJson(text)?.code
  return typeof code === 'string' ? code : undefined
}

/** `status code`, or what ended a request that got no answer. */
function answerOf (call: Call): string {
  if (call.status === undefined) return call.unanswered === true ? 'no answer' : `client error ${call.error ?? '-'}`
  return call.status === 200 ? '200' : `${call.status} ${call.code ?? '-'}`
}
