import { Agent, request } from 'node:http'
import { BODY } from './load.js'

/** What one open-loop run measured. */
export interface OpenLoopResult {
  /** Calls sent; the schedule does not wait for answers. */
  sent: number
  /** Latency of each 2xx response, from the moment its request was sent, in microseconds. */
  latenciesUs: number[]
  /** How late each request left against its schedule, in microseconds: the generator's own lag. */
  lagUs: number[]
  errors: number
  non2xx: number
  durationS: number
}

const TICK_MS = 1
const TIMEOUT_MS = 10_000

/**
 * Sends `POST` calls at a fixed rate for `durationS`, whether or not earlier ones were answered
 * (open loop: a slow answer does not slow the arrivals, so latency shows waiting, not the queue a
 * closed loop builds). The calls go round-robin over the targets on keep-alive connections, as
 * many as are in flight. Waits for the last answers before it resolves.
 */
export async function openLoad (targets: string[], ratePerS: number, durationS: number): Promise<OpenLoopResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 4096 })
  const urls = targets.map(target => new URL(target))
  const latenciesUs: number[] = []
  const lagUs: number[] = []
  let errors = 0
  let non2xx = 0
  const total = Math.round(ratePerS * durationS)
  const inFlight = new Set<Promise<void>>()

  const send = (url: URL, scheduled: number) => {
    const sent = performance.now()
    lagUs.push((sent - scheduled) * 1000)
    const done = new Promise<void>(resolve => {
      const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) } }, res => {
        res.resume()
        res.on('end', () => {
          if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) latenciesUs.push((performance.now() - sent) * 1000)
          else non2xx++
          resolve()
        })
        res.on('error', () => { errors++; resolve() })
      })
      req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error('timeout')))
      req.on('error', () => { errors++; resolve() })
      req.end(BODY)
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
  agent.destroy()
  return { sent: total, latenciesUs, lagUs, errors, non2xx, durationS: elapsedS }
}
