import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Value } from '@sinclair/typebox/value'
import { ReplyError } from '../plugin/responder/index.js'
import { QuoteRequestSchema, type Quote } from './contract.js'

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

const QUOTE_VALIDITY_MS = 15 * 60_000

/** Options of the pricing handler. */
export interface PricingOptions {
  workerId: string
  /** Simulated work per request, ms. */
  workMs: number
  /** Duration of the SLOW SKU, ms. */
  slowMs: number
  /** Aborts the simulated work at shutdown, so a SLOW request does not hold the worker up. */
  signal?: AbortSignal
}

/**
 * The handler of quote requests. Business refusals are 4xx ReplyErrors that reach the HTTP
 * caller as they are (400 invalid payload, 422 unknown SKU or not enough stock); anything else
 * thrown is a fault the app answers with 502.
 */
export function pricing (options: PricingOptions): (payload: unknown) => Promise<Quote> {
  const { signal } = options
  return async function priceQuote (payload) {
    if (!Value.Check(QuoteRequestSchema, payload)) {
      const first = Value.Errors(QuoteRequestSchema, payload).First()
      throw new ReplyError(400, `invalid quote request: ${first?.path || '/'} ${first?.message}`, 'INVALID_REQUEST')
    }
    const { sku, quantity, customerId } = payload
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
}

/** 5% from 10 units, 10% from 50. */
export function volumeDiscount (quantity: number): number {
  if (quantity >= 50) return 10
  if (quantity >= 10) return 5
  return 0
}
