import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Value } from '@sinclair/typebox/value'
import { ReplyError, type RequestContext } from '../plugin/responder/index.js'
import { QuoteRequestSchema, type Quote, type QuoteRequest } from './contract.js'
import type { Deduplicator } from './dedupe.js'
import type { Logger } from './log.js'

interface Product {
  name: string
  unitPriceCents: number
  stock: number
}

/** What the worker sells. */
export const CATALOG: Readonly<Record<string, Product>> = {
  'KB-101': { name: 'Mechanical keyboard', unitPriceCents: 8900, stock: 500 },
  'MS-202': { name: 'Wireless mouse', unitPriceCents: 2900, stock: 2000 },
  'MN-303': { name: '27" monitor', unitPriceCents: 24_900, stock: 40 },
  'HD-404': { name: 'Headset', unitPriceCents: 5900, stock: 300 }
}

/**
 * SKUs that inject faults, so the app's failure answers can be seen end to end:
 * SLOW takes `slowMs` (beyond the caller's deadline: 504), CRASH fails like a bug would (502).
 */
export const FAULT_SKUS = { slow: 'SLOW', crash: 'CRASH' } as const

/** How long a quote is valid after it was priced, ms: its validUntil tells when it was priced. */
export const QUOTE_VALIDITY_MS = 15 * 60_000

/** Options of the pricing handler. */
export interface PricingOptions {
  workerId: string
  /** Simulated work per request, ms. */
  workMs: number
  /** Duration of the SLOW SKU, ms. */
  slowMs: number
  /** Aborts the simulated work at shutdown, so a SLOW request does not hold the worker up. */
  signal?: AbortSignal
  /** The quotes given per idempotency key: a request with a key seen before is not priced again. */
  dedupe: Deduplicator<Quote>
  log: Logger
}

/**
 * The handler of quote requests. Business refusals are 4xx ReplyErrors that reach the HTTP
 * caller as they are (400 invalid payload, 422 unknown SKU or not enough stock); anything else
 * thrown is a fault the app answers with 502.
 *
 * A request with an idempotency key (`context.idempotencyKey`) that was seen before, in flight or
 * done, gets the same quote, same quoteId: a caller's retry that reached the worker (its first
 * request outlived the caller's deadline and grace, or Redis lost the record) is not priced twice.
 * The plugin refuses a key reused for another request before publishing it, so one key always asks
 * for the same quote.
 */
export function pricing (options: PricingOptions): (payload: unknown, context: RequestContext) => Promise<Quote> {
  const { dedupe, log } = options
  return async function priceQuote (payload, context) {
    if (!Value.Check(QuoteRequestSchema, payload)) {
      const first = Value.Errors(QuoteRequestSchema, payload).First()
      throw new ReplyError(400, `invalid quote request: ${first?.path || '/'} ${first?.message}`, 'INVALID_REQUEST')
    }
    const { idempotencyKey, correlationId } = context
    if (idempotencyKey === undefined) return await price(payload, options)
    const { result, seen } = dedupe.run(idempotencyKey, async () => {
      const quote = await price(payload, options)
      // At debug: one line per key priced, so that a run can count keys priced more than once.
      log.debug({ idempotencyKey, correlationId, quoteId: quote.quoteId }, 'quote priced for an idempotency key')
      return quote
    })
    if (seen) log.info({ idempotencyKey, correlationId }, 'quote request with an idempotency key already seen: answered with its quote, not priced again')
    return await result
  }
}

async function price ({ sku, quantity, customerId }: QuoteRequest, options: PricingOptions): Promise<Quote> {
  const { signal } = options
  await sleep(options.workMs, undefined, { signal })
  if (sku === FAULT_SKUS.crash) throw new Error('pricing engine crashed')
  if (sku === FAULT_SKUS.slow) await sleep(options.slowMs, undefined, { signal })

  const product = sku === FAULT_SKUS.slow ? { name: 'Slow test item', unitPriceCents: 100, stock: Infinity } : CATALOG[sku]
  if (product === undefined) throw new ReplyError(422, `unknown sku ${sku}`, 'UNKNOWN_SKU')
  if (quantity > product.stock) throw new ReplyError(422, `only ${product.stock} of ${sku} in stock`, 'INSUFFICIENT_STOCK')
  const discountPercent = volumeDiscount(quantity)
  return {
    quoteId: randomUUID(),
    sku,
    name: product.name,
    customerId,
    quantity,
    unitPriceCents: product.unitPriceCents,
    discountPercent,
    totalCents: Math.round(product.unitPriceCents * quantity * (100 - discountPercent) / 100),
    currency: 'EUR',
    pricedBy: options.workerId,
    validUntil: new Date(Date.now() + QUOTE_VALIDITY_MS).toISOString()
  }
}

/** 5% from 10 units, 10% from 50. */
export function volumeDiscount (quantity: number): number {
  if (quantity >= 50) return 10
  if (quantity >= 10) return 5
  return 0
}
