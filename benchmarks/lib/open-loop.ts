import { Agent, request } from 'node:http'
import { BODY } from './load.js'

/** What one open-loop run measured. */
export interface OpenLoopResult {
  /** Calls sent; the schedule does not wait for answers. */
  sent: number
  /** Latency of each 2xx response, from the moment its request was sent, in microseconds. */
  latenciesUs: number[]
  /** Latency of each answer other than 2xx, by status, in microseconds. */
  otherLatenciesUs: Record<number, number[]>
  /** How late each request left against its schedule, in microseconds: the generator's own lag. */
  lagUs: number[]
  errors: number
  non2xx: number
  durationS: number
  /** Connections the calls opened (the others went on connections already open). */
  connectionsOpened: number
}

/** Options of openLoad. */
export interface OpenLoadOptions {
  /** The body of every call (default BODY). */
  body?: string
  /** Send `x-sent-at`, the epoch ms each call was sent at (see watchDeadlines). */
  stamp?: boolean
  /**
   * Keep-alive connections to use, and leave open: a warm-up's, so that a measured run opens no
   * burst of new ones (see openAgent). By default a run opens its own and closes them at the end.
   */
  agent?: Agent
}

/** Keep-alive connections for openLoad, as many as are in flight. */
export function openAgent (): Agent {
  return new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 4096 })
}

const TICK_MS = 1
/** The header that carries a call's send time, epoch ms, when openLoad is asked to stamp it. */
export const SENT_AT_HEADER = 'x-sent-at'
const TIMEOUT_MS = 10_000

/**
 * Sends `POST` calls at a fixed rate for `durationS`, whether or not earlier ones were answered
 * (open loop: a slow answer does not slow the arrivals, so latency shows waiting, not the queue a
 * closed loop builds). The calls go round-robin over the targets on keep-alive connections, as
 * many as are in flight. Waits for the last answers before it resolves.
 */
export async function openLoad (targets: string[], ratePerS: number, durationS: number, options: OpenLoadOptions = {}): Promise<OpenLoopResult> {
  const { body = BODY, stamp = false } = options
  const agent = options.agent ?? openAgent()
  let connectionsOpened = 0
  const urls = targets.map(target => new URL(target))
  const latenciesUs: number[] = []
  const lagUs: number[] = []
  const otherLatenciesUs: Record<number, number[]> = {}
  let errors = 0
  let non2xx = 0
  const total = Math.round(ratePerS * durationS)
  const inFlight = new Set<Promise<void>>()

  const send = (url: URL, scheduled: number) => {
    const sent = performance.now()
    lagUs.push((sent - scheduled) * 1000)
    const done = new Promise<void>(resolve => {
      const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(stamp ? { [SENT_AT_HEADER]: String(Date.now()) } : {}) }
      const req = request(url, { method: 'POST', agent, headers }, res => {
        res.resume()
        res.on('end', () => {
          const us = (performance.now() - sent) * 1000
          const status = res.statusCode ?? 0
          if (status >= 200 && status < 300) latenciesUs.push(us)
          else {
            non2xx++
            otherLatenciesUs[status] ??= []
            otherLatenciesUs[status].push(us)
          }
          resolve()
        })
        res.on('error', () => { errors++; resolve() })
      })
      req.once('socket', () => { if (!req.reusedSocket) connectionsOpened++ })
      req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error('timeout')))
      req.on('error', () => { errors++; resolve() })
      req.end(body)
    })
    inFlight.add(done)
    done.finally(() => inFlight.delete(done)).catch(() => {})
  }

  const started = performance.now()
  await new Promise<void>(resolve => {
    let next = 0
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * ratePerS) + 1)
      for (; next < due; next++) send(urls[next % urls.length], started + (next * 1000) / ratePerS)
      if (next >= total) {
        clearInterval(timer)
        resolve()
      }
    }, TICK_MS)
  })
  const elapsedS = (performance.now() - started) / 1000
  await Promise.all(inFlight)
  if (options.agent === undefined) agent.destroy()
  return { sent: total, latenciesUs, otherLatenciesUs, lagUs, errors, non2xx, durationS: elapsedS, connectionsOpened }
}
