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
  /** The client-side error (ECONNRESET, ...) when no response came. */
  error?: string
  /** No answer at all within the deadline plus margin: the client gave up. */
  unanswered?: boolean
  /** For an error answer: what it showed that it must not (a stack frame, an address, a key). */
  leak?: string
}

/** What one request needs besides its target. */
export interface SendOptions {
  /** How long a request may go without any answer before it counts as unanswered, ms. */
  answerMs: number
  /** Strings no error answer may contain (see leakIn). */
  secrets: readonly string[]
  /** Called with the body of every answer other than 200, e.g. to keep one of each kind. */
  onErrorBody?: (call: Call, body: string) => void
}

/** Options of an open-loop load. */
export interface LoadOptions extends SendOptions {
  /** Requests per second, sent on a fixed schedule whatever the latency (open loop). */
  rate: number
  /** Rises linearly from 0 to `rate` over this many ms first (default 0: full rate at once). */
  rampMs?: number
  /** The replicas up now; the load goes round-robin over them. */
  targets: () => readonly Target[]
}

const TICK_MS = 5

/** The body of request `seq`: its customerId and quantity make it unique, the worker echoes both. */
export function quoteRequest (seq: number): { sku: string, quantity: number, customerId: string } {
  // KB-101 has 500 in stock: every quantity up to 500 is priced, never refused.
  return { sku: 'KB-101', quantity: 1 + (seq % 500), customerId: `c${seq}` }
}

/**
 * Steady load at a fixed rate, each request tracked on its own. Open loop: a slow or stuck
 * replica does not slow the sender down, as it would with a fixed number of connections, so
 * faults show as they would to independent clients. Connections are not capped, for the same
 * reason: a request queued in the client would start its wait late.
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

  /** Resolves once every call sent has ended (each ends by answerMs at the latest). */
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
    const call: Call = { seq: this.calls.length, target: target.name, sentAt: this.now() }
    this.calls.push(call)
    this.#inFlight++
    sendQuote(target, call, () => this.now(), this.#options).then(() => {
      if (--this.#inFlight === 0) this.#idle?.()
    }, () => {})
  }
}

/**
 * Sends request `call.seq` to `target` and fills in `call` as it ends: status and whether the
 * quote is its own for a 200; error code and any leak for another answer; the client error; or
 * unanswered after `answerMs`. Never rejects.
 */
export async function sendQuote (target: Target, call: Call, now: () => number, options: SendOptions): Promise<Call> {
  const body = quoteRequest(call.seq)
  const payload = JSON.stringify(body)
  return await new Promise<Call>(resolve => {
    let done = false
    const end = (fields: Partial<Call>) => {
      if (done) return
      done = true
      clearTimeout(timer)
      Object.assign(call, fields, { endedAt: now() })
      resolve(call)
    }
    const req = request({
      host: '127.0.0.1',
      port: target.port,
      method: 'POST',
      path: '/quotes',
      agent: target.agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
    }, res => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', err => end({ error: codeOf(err) }))
      res.on('end', () => {
        const status = res.statusCode ?? 0
        const text = Buffer.concat(chunks).toString()
        if (status === 200) return end({ status, ownReply: echoes(text, body) })
        const leak = leakIn(text, options.secrets)
        end({ status, code: errorCode(text), ...(leak === undefined ? {} : { leak }) })
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

function echoes (text: string, sent: { quantity: number, customerId: string }): boolean {
  try {
    const quote = JSON.parse(text) as { quantity?: unknown, customerId?: unknown }
    return quote.customerId === sent.customerId && quote.quantity === sent.quantity
  } catch {
    return false
  }
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
