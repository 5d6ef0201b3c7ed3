import type { FastifyInstance } from 'fastify'
import { SENT_AT_HEADER } from './open-loop.js'

/** How late a replica ended the calls that reached their deadline, ms, as the replica itself saw it. */
export interface DeadlineReading {
  /** Calls that ended 504 since the last read. */
  count: number
  /** From the deadline to when the plugin's timer ended the call (the error's `expiredAt`). */
  timerLateMs: { p50: number, p99: number, max: number }
  /** From the deadline to when the 504 was written to the socket (Fastify's onResponse). */
  writtenLateMs: { p50: number, p99: number, max: number }
  /**
   * The way in: from the load generator's send (its `x-sent-at`) to this replica's onRequest, for
   * the same calls. Time the call spent before the replica took it, which the replica's deadline
   * does not count and the generator's lateness does.
   */
  inboundMs: { p50: number, p99: number, max: number }
}

interface Timeout { deadline: number, expiredAt: number }

/**
 * Watches the 504s of `app`: how late after its deadline the plugin's timer ended each call, and
 * how late its answer was written. Set against the lateness the load generator measured, the
 * difference is the way in (send to the call's start) and the way back (socket to the generator).
 */
export function watchDeadlines (app: FastifyInstance): () => DeadlineReading {
  const ended = new WeakMap<object, Timeout>()
  let timerLate: number[] = []
  let writtenLate: number[] = []
  let inbound: number[] = []
  const receivedAt = new WeakMap<object, number>()
  app.addHook('onRequest', async request => {
    receivedAt.set(request, Date.now())
  })
  app.addHook('onError', async (request, _reply, error) => {
    const { deadline, expiredAt } = error as Partial<Timeout>
    if (typeof deadline === 'number' && typeof expiredAt === 'number') ended.set(request, { deadline, expiredAt })
  })
  app.addHook('onResponse', async request => {
    const timeout = ended.get(request)
    if (timeout === undefined) return
    timerLate.push(timeout.expiredAt - timeout.deadline)
    writtenLate.push(Date.now() - timeout.deadline)
    const sentAt = Number(request.headers[SENT_AT_HEADER])
    if (Number.isFinite(sentAt)) inbound.push(receivedAt.get(request)! - sentAt)
  })
  return () => {
    const reading = { count: timerLate.length, timerLateMs: summary(timerLate), writtenLateMs: summary(writtenLate), inboundMs: summary(inbound) }
    timerLate = []
    writtenLate = []
    inbound = []
    return reading
  }
}

function summary (values: number[]): DeadlineReading['timerLateMs'] {
  const sorted = Float64Array.from(values).sort()
  const at = (p: number) => sorted.length === 0 ? NaN : sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1))]
  return { p50: at(50), p99: at(99), max: at(100) }
}
