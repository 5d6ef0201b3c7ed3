import autocannon from 'autocannon'

/** What one load run measured. */
export interface LoadResult {
  /** Completed calls (any status). */
  requests: number
  /** Calls sent, including those still in flight when the run ended. */
  sent: number
  /** Latency of each 2xx response, in microseconds. */
  latenciesUs: number[]
  errors: number
  timeouts: number
  non2xx: number
  durationS: number
}

export const BODY = JSON.stringify({ sku: 'KB-101', quantity: 1 })

/**
 * Runs autocannon against the targets at once, `connections` split evenly over them, pipelining 1.
 * autocannon's own histogram keeps whole milliseconds; the per-response event carries the time as
 * a fraction of a millisecond, which is what is recorded here.
 */
export async function httpLoad (targets: string[], connections: number, durationS: number): Promise<LoadResult> {
  const latenciesUs: number[] = []
  let non2xx = 0
  const started = performance.now()
  const used = targets.slice(0, connections) // one connection cannot be split over two replicas
  const results = await Promise.all(used.map((url, i) => new Promise<autocannon.Result>((resolve, reject) => {
    const share = Math.floor(connections / used.length) + (i < connections % used.length ? 1 : 0)
    const options = {
      url,
      method: 'POST' as const,
      headers: { 'content-type': 'application/json' },
      body: BODY,
      connections: share,
      pipelining: 1,
      duration: durationS,
      timeout: 10
    }
    const instance = autocannon(options, (err, result) => err === null || err === undefined ? resolve(result) : reject(err))
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latenciesUs.push(responseTime * 1000)
      else non2xx++
    })
  })))
  const elapsedS = (performance.now() - started) / 1000
  return {
    requests: results.reduce((sum, r) => sum + r.requests.total, 0),
    sent: results.reduce((sum, r) => sum + r.requests.sent, 0),
    latenciesUs,
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    timeouts: results.reduce((sum, r) => sum + r.timeouts, 0),
    non2xx,
    durationS: elapsedS
  }
}

/** The p-th percentile (0..100) of the values, in ms with decimals. */
export function percentileMs (sortedUs: number[], p: number): number {
  if (sortedUs.length === 0) return NaN
  const index = Math.min(sortedUs.length - 1, Math.ceil((p / 100) * sortedUs.length) - 1)
  return Math.round(sortedUs[Math.max(0, index)]) / 1000
}
