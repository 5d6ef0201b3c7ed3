import { Agent, request } from 'node:http'
import { leakIn } from './leaks.js'

/** An app replica the load may be sent to. */
export interface Target {
  readonly name: string
  readonly port: number
  /** Keep-alive connections to this replica only, so that stopping it touches no other's. */
  readonly agent: Agent
}

/** One request and how it ended. Times are ms since the load started. */
export interface Call {
  seq: number
  target: string
  sentAt: number
  endedAt?: number
  /** HTTP status, when a response came. */
  status?: number
  /** For an error answer: its `code` (FST_KAFKA_REPLY_TIMEOUT, ...). */
  code?: string
  /** For a 200: the quote echoes this request's own customerId and quantity. */
  ownReply?: boolean
  /** For a 200: the quote's id (the worker makes one per quote it prices). */
  quoteId?: string
  /** The Idempotency-Key it carried, when the load sends keys (see KeyedRetries). */
  key?: string
  /** For a retry: the seq of its call's first request, whose key and payload it sends again. */
  retryOf?: number
  /** The answer carried `Idempotent-Replayed: true`: a stored outcome, nothing published. */
  replayed?: boolean
  /** For a 409 or a 202: its Retry-After, s (undefined when it had none). */
  retryAfterS?: number
  /** The client-side error (ECONNRESET, ...) when no response came. */
  error?: string
  /** No answer at all within the deadline plus margin: the client gave up. */
  unanswered?: boolean
  /** For an error answer: what it showed that it must not (a stack frame, an address, a key). */
  leak?: string
  /**
   * For a 504: its Server-Timing, ms: how late the replica's deadline timer fired, and how long
   * the replica took from then to send the answer.
   */
  serverTiming?: { timerMs: number, answerMs: number }
  /** The request opened a connection of its own (none of the replica's keep-alive ones was free). */
  newConnection?: boolean
  /** For a 202 Accepted: its Location, where the reply is to be polled. */
  location?: string
}

/** What one request needs besides its target. */
export interface SendOptions {
  /** How long a request may go without any answer before it counts as unanswered, ms. */
  answerMs: number
  /** Strings no error answer may contain (see leakIn). */
  secrets: readonly string[]
  /** Called with the body of every answer other than 200, e.g. to keep one of each kind. */
  onErrorBody?: (call: Call, body: string) => void
  /** A `Prefer` header for every request, e.g. `respond-async, wait=2` (default: none). */
  prefer?: string
}

/**
 * Calls as a client that retries safely makes them: each with an Idempotency-Key of its own (unique
 * per call, not per request). A 504 is sent again at once, a 409 once its Retry-After has passed,
 * with the same key and payload, to the next replica up, until another answer or `maxAttempts`.
 */
export interface KeyedRetries {
  /** Requests per call at most, the first included. */
  maxAttempts: number
}

/** Options of an open-loop load. */
export interface LoadOptions extends SendOptions {
  /** Requests per second, sent on a fixed schedule whatever the latency (open loop). */
  rate: number
  /** Rises linearly from 0 to `rate` over this many ms first (default 0: full rate at once). */
  rampMs?: number
  /** The replicas up now; the load goes round-robin over them. */
  targets: () => readonly Target[]
  /** Keys on every call, and retries (default: no key, no retry). */
  keyedRetries?: KeyedRetries
}

const TICK_MS = 5
/** A 409 without Retry-After is retried after this long. */
const DEFAULT_RETRY_AFTER_S = 1

/** A quote request: the worker echoes its customerId and quantity. */
export interface QuoteRequest {
  sku: string
  quantity: number
  customerId: string
}

/** The body of request `seq`: its customerId and quantity make it unique, the worker echoes both. */
export function quoteRequest (seq: number): QuoteRequest {
  // KB-101 has 500 in stock: every quantity up to 500 is priced, never refused.
  return { sku: 'KB-101', quantity: 1 + (seq % 500), customerId: `c${seq}` }
}

/**
 * The body of a call: a retry sends its first request's again. A keyed call's customer is `k<seq>`:
 * one customer per key, which no unkeyed call (the warm-up's `c<seq>`) shares.
 */
export function requestOf (call: Pick<Call, 'seq' | 'retryOf' | 'key'>): QuoteRequest {
  const seq = call.retryOf ?? call.seq
  const body = quoteRequest(seq)
  return call.key === undefined ? body : { ...body, customerId: `k${seq}` }
}

/** The Idempotency-Key of the call whose first request is `seq`. */
export function keyOf (seq: number): string {
  return `quote-${seq}`
}

/**
 * Steady load at a fixed rate, each request tracked on its own. Open loop: a slow or stuck
 * replica does not slow the sender down, as it would with a fixed number of connections, so
 * faults show as they would to independent clients. Connections are not capped, for the same
 * reason: a request queued in the client would start its wait late. With `keyedRetries`, a
 * retry goes out when its answer asks for one, off the schedule, and is tracked as a request of its own.
 */
export class OpenLoop {
  readonly calls: Call[] = []
  /** Requests due while no replica was up (not sent, not counted). */
  skipped = 0
  readonly #options: LoadOptions
  #started = 0
  #due = 0
  #next = 0
  #timer: NodeJS.Timeout | undefined
  #inFlight = 0
  #idle: (() => void) | undefined

  constructor (options: LoadOptions) {
    this.#options = options
  }

  /** ms since start(). */
  now (): number {
    return performance.now() - this.#started
  }

  start (): void {
    this.#started = performance.now()
    this.#timer = setInterval(() => this.#tick(), TICK_MS)
  }

  /** Stops sending; calls in flight go on. */
  stop (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** Resolves once every call sent has ended: each request ends by answerMs at the latest, a call after maxAttempts requests at most. */
  async drained (): Promise<void> {
    if (this.#inFlight === 0) return
    await new Promise<void>(resolve => { this.#idle = resolve })
  }

  #tick (): void {
    // Catch up after a stalled event loop rather than drop the requests that fell due.
    const due = Math.floor(this.#dueBy(this.now()))
    while (this.#due < due) {
      this.#due++
      const targets = this.#options.targets()
      if (targets.length === 0) {
        this.skipped++
        continue
      }
      this.#send(targets[this.#next++ % targets.length])
    }
  }

  /** Requests due by `ms`: the integral of the rate, which ramps up over rampMs. */
  #dueBy (ms: number): number {
    const { rate, rampMs = 0 } = this.#options
    if (ms >= rampMs) return rate * (ms - rampMs / 2) / 1000
    return rate * ms * ms / (2 * rampMs) / 1000
  }

  #send (target: Target): void {
    const seq = this.calls.length
    const keyed = this.#options.keyedRetries !== undefined
    this.#inFlight++
    this.#attempt(target, keyed ? { key: keyOf(seq) } : {}, 1)
  }

  /** Sends one request of a call (`first`: its key and, on a retry, the first request's seq), then a retry if its answer asks for one. */
  #attempt (target: Target, first: Pick<Call, 'key' | 'retryOf'>, attempt: number): void {
    const call: Call = { seq: this.calls.length, target: target.name, sentAt: this.now(), ...first }
    this.calls.push(call)
    sendQuote(target, call, () => this.now(), this.#options).then(() => {
      const delayMs = this.#retryDelay(call, attempt)
      if (delayMs === undefined) return this.#ended()
      // Not unref'd: drained() waits for the retries. With no replica up, the call ends where it is.
      setTimeout(() => {
        const targets = this.#options.targets()
        if (targets.length === 0) return this.#ended()
        this.#attempt(targets[this.#next++ % targets.length], { key: call.key, retryOf: call.retryOf ?? call.seq }, attempt + 1)
      }, delayMs)
    }, () => this.#ended())
  }

  /** How long to wait before retrying `call`, or undefined: its answer is final. */
  #retryDelay (call: Call, attempt: number): number | undefined {
    const retries = this.#options.keyedRetries
    if (retries === undefined || attempt >= retries.maxAttempts) return undefined
    if (call.status === 504) return 0
    if (call.status === 409) return (call.retryAfterS ?? DEFAULT_RETRY_AFTER_S) * 1000
    return undefined
  }

  #ended (): void {
    if (--this.#inFlight === 0) this.#idle?.()
  }
}

/**
 * Sends request `call.seq` (with `call.key` as its Idempotency-Key, when it has one) to `target`
 * and fills in `call` as it ends: status, whether the quote is its own and its quoteId for a 200;
 * error code, any leak and a 409's Retry-After for another answer; whether it was replayed; the
 * client error; or unanswered after `answerMs`. Never rejects.
 */
export async function sendQuote (target: Target, call: Call, now: () => number, options: SendOptions): Promise<Call> {
  const body = requestOf(call)
  const payload = JSON.stringify(body)
  return await new Promise<Call>(resolve => {
    let done = false
    const end = (fields: Partial<Call>) => {
      if (done) return
      done = true
      clearTimeout(timer)
      Object.assign(call, fields, { endedAt: now() }, req.reusedSocket ? {} : { newConnection: true })
      resolve(call)
    }
    const req = request({
      host: '127.0.0.1',
      port: target.port,
      method: 'POST',
      path: '/quotes',
      agent: target.agent,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
        ...(call.key === undefined ? {} : { 'idempotency-key': call.key }),
        ...(options.prefer === undefined ? {} : { prefer: options.prefer })
      }
    }, res => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', err => end({ error: codeOf(err) }))
      res.on('end', () => {
        const status = res.statusCode ?? 0
        const text = Buffer.concat(chunks).toString()
        const replayed = res.headers['idempotent-replayed'] === 'true' ? { replayed: true } : {}
        if (status === 200) {
          const quote = parseQuote(text)
          return end({ status, ownReply: echoes(quote, body), ...(typeof quote?.quoteId === 'string' ? { quoteId: quote.quoteId } : {}), ...replayed })
        }
        const leak = leakIn(text, options.secrets)
        const retryAfter = status === 409 || status === 202 ? retryAfterS(res.headers['retry-after']) : undefined
        const location = status === 202 ? res.headers.location : undefined
        const timing = status === 504 ? serverTiming(res.headers['server-timing']) : undefined
        end({
          status,
          code: errorCode(text),
          ...replayed,
          ...(retryAfter === undefined ? {} : { retryAfterS: retryAfter }),
          ...(location === undefined ? {} : { location }),
          ...(leak === undefined ? {} : { leak }),
          ...(timing === undefined ? {} : { serverTiming: timing })
        })
        options.onErrorBody?.(call, text)
      })
    })
    const timer = setTimeout(() => {
      end({ unanswered: true })
      req.destroy()
    }, options.answerMs)
    req.on('error', err => end({ error: codeOf(err) }))
    req.end(payload)
  })
}

/**
 * Opens `count` keep-alive connections to `target` and leaves them free in its agent, as a client
 * with a pool of warm connections (a proxy, a gateway) holds them: calls then start at once instead
 * of waiting for a new connection to be accepted, which a replica busy with thousands of waiting
 * calls does late. Every request goes out in the same tick, so none can reuse another's connection.
 * Resolves with the connections now free (fewer when some failed or the agent keeps fewer).
 */
export async function openConnections (target: Target, count: number): Promise<number> {
  await Promise.all(Array.from({ length: count }, async () => await new Promise<void>(resolve => {
    const req = request({ host: '127.0.0.1', port: target.port, path: '/health/live', agent: target.agent }, res => {
      res.resume()
      res.on('end', resolve)
      res.on('error', () => resolve())
    })
    req.on('error', () => resolve())
    req.setTimeout(30_000, () => req.destroy())
    req.end()
  })))
  return Object.values(target.agent.freeSockets).reduce((sum, sockets) => sum + (sockets?.length ?? 0), 0)
}

type QuoteFields = Partial<Record<'quoteId' | 'quantity' | 'customerId', unknown>>

function parseQuote (text: string): QuoteFields | undefined {
  try {
    const quote = JSON.parse(text) as unknown
    return typeof quote === 'object' && quote !== null ? quote as QuoteFields : undefined
  } catch {
    return undefined
  }
}

function echoes (quote: QuoteFields | undefined, sent: QuoteRequest): boolean {
  return quote?.customerId === sent.customerId && quote.quantity === sent.quantity
}

/** Retry-After as whole seconds (the plugin sends no HTTP date), or undefined. */
function retryAfterS (header: string | undefined): number | undefined {
  if (header === undefined || !/^\d+$/.test(header)) return undefined
  return Number(header)
}

/** `timer;dur=12, answer;dur=3` (the reference app's 504) as { timerMs, answerMs }, or undefined. */
function serverTiming (value: string | string[] | undefined): Call['serverTiming'] {
  if (value === undefined) return undefined
  const header = Array.isArray(value) ? value.join(', ') : value
  const dur = (name: string): number | undefined => {
    const match = new RegExp(`(?:^|,)\\s*${name};dur=(-?[\\d.]+)`).exec(header)
    return match === null ? undefined : Number(match[1])
  }
  const timerMs = dur('timer')
  const answerMs = dur('answer')
  return timerMs === undefined || answerMs === undefined ? undefined : { timerMs, answerMs }
}

function errorCode (text: string): string | undefined {
  try {
    const { code } = JSON.parse(text) as { code?: unknown }
    return typeof code === 'string' ? code : undefined
  } catch {
    return undefined
  }
}

function codeOf (err: Error & { code?: string }): string {
  return err.code ?? err.message
}
