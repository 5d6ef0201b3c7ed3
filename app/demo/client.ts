import { ROUTE_HEADERS } from '../routes/quotes.js'

/** One HTTP exchange with a replica, as the demo reports it. */
export interface Exchange {
  status: number
  /** The replica that took the request (its instance id), from x-kafka-reply-instance. */
  instance: string
  /** The replica that consumed the reply from Kafka; '-' when no reply came. */
  consumedBy: string
  /** `memory`, `redis`, or `replayed` (the stored outcome of an earlier call with the same Idempotency-Key); '-' when no reply came. */
  path: string
  /** The Idempotent-Replayed response header; '-' when absent. */
  replayed: string
  /** The Retry-After response header (seconds); '-' when absent. */
  retryAfter: string
  /** The Location response header (a 202's poll URL); '-' when absent. */
  location: string
  /** From sending the request to having read the whole response. */
  ms: number
  body: Record<string, unknown>
}

/** Sends `method path` (with a JSON body when given, and `headers`) to the replica on `port`. */
export async function exchange (port: number, method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Exchange> {
  const started = performance.now()
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000)
  })
  const json = await res.json() as Record<string, unknown>
  const ms = performance.now() - started
  return {
    status: res.status,
    instance: res.headers.get(ROUTE_HEADERS.instance) ?? '-',
    consumedBy: res.headers.get(ROUTE_HEADERS.consumedBy) ?? '-',
    path: res.headers.get(ROUTE_HEADERS.path) ?? '-',
    replayed: res.headers.get('idempotent-replayed') ?? '-',
    retryAfter: res.headers.get('retry-after') ?? '-',
    location: res.headers.get('location') ?? '-',
    ms,
    body: json
  }
}
