// The messages the pricing worker takes and gives: the app validates HTTP bodies and the
// worker's replies against the same schemas, so both sides agree on one definition.
import { Type, type Static } from '@sinclair/typebox'

/** Default Kafka topic the worker takes quote requests from. */
export const QUOTES_TOPIC = 'quotes.requests'

/** A request for a price: which product, how many, for whom. */
export const QuoteRequestSchema = Type.Object({
  sku: Type.String({ pattern: '^[A-Z0-9-]{2,32}$', description: 'product code, e.g. KB-101' }),
  quantity: Type.Integer({ minimum: 1, maximum: 10_000 }),
  customerId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })
}, { additionalProperties: false })
export type QuoteRequest = Static<typeof QuoteRequestSchema>

/** A priced quote. Amounts are integer cents: no floating-point money. */
export const QuoteSchema = Type.Object({
  quoteId: Type.String(),
  sku: Type.String(),
  name: Type.String(),
  customerId: Type.String(),
  quantity: Type.Integer(),
  unitPriceCents: Type.Integer(),
  discountPercent: Type.Integer({ minimum: 0, maximum: 100 }),
  totalCents: Type.Integer(),
  currency: Type.Literal('EUR'),
  pricedBy: Type.String({ description: 'the worker that priced it' }),
  validUntil: Type.String({ description: 'ISO 8601 date-time' })
}, { additionalProperties: false })
export type Quote = Static<typeof QuoteSchema>
