import { type BaseOptions, type RetryDelayGetter, type SASLOptions } from '@platformatic/kafka'
import type { PlatformaticKafkaOption } from '../options.js'

/** SASL mechanisms as the library names them. */
const MECHANISMS = new Map<string, SASLOptions['mechanism']>([
  ['plain', 'PLAIN'],
  ['scram-sha-256', 'SCRAM-SHA-256'],
  ['scram-sha-512', 'SCRAM-SHA-512']
])

/** A backoff as kafkajs's: 100 ms doubling, at most a second apart. */
export const retryDelay: RetryDelayGetter = (_client, _operation, attempt) => Math.min(100 * 2 ** Math.max(attempt - 1, 0), 1000)

/**
 * Retries of a record by the producer (PlatformaticProducer, not the library: see there), about
 * 10 s at most a second apart, as the kafkajs transport's PRODUCER_RETRY. A send to a dead leader
 * clears the metadata and the next attempt finds the new one.
 */
export const PRODUCER_RETRIES = 13

/**
 * Retries of a topic's first metadata lookup by a producer (well under a second): a topic the
 * broker does not know fails its calls soon, where PRODUCER_RETRIES would take 10 s.
 */
export const PROBE_RETRIES = 3

/**
 * Retries of the consumers, about a minute, as the kafkajs transport's CONSUMER_RETRY. The library
 * applies them to every operation, fetches included: its stream is destroyed once a fetch has
 * failed that often (the group consumer then makes a new one).
 */
export const CONSUMER_RETRIES = 60

/** Retries of the admin lookups (topics, group members): a few, these callers retry themselves. */
export const ADMIN_RETRIES = 5

/**
 * The library's client options for the plugin's option, a new object every time: the library's
 * constructors add fields to the object they are given.
 */
export function clientOptions (option: PlatformaticKafkaOption, retries: number): BaseOptions {
  const { brokers, clientId, ssl, sasl, connectionTimeout, requestTimeout } = option
  const settings = option.platformatic ?? {}
  const base: BaseOptions = {
    clientId: clientId ?? 'fastify-kafka-reply',
    bootstrapBrokers: [...brokers],
    retries,
    retryDelay
  }
  if (ssl === true) base.tls = {}
  else if (typeof ssl === 'object') base.tls = { ...ssl }
  if (sasl !== undefined) {
    base.sasl = { mechanism: MECHANISMS.get(sasl.mechanism.toLowerCase())!, username: sasl.username, password: sasl.password }
  }
  if (connectionTimeout !== undefined) base.connectTimeout = connectionTimeout
  if (requestTimeout !== undefined) base.requestTimeout = requestTimeout
  if (settings.clientRack !== undefined) base.clientRack = settings.clientRack
  if (settings.metadataMaxAge !== undefined) base.metadataMaxAge = settings.metadataMaxAge
  if (settings.maxInflights !== undefined) base.maxInflights = settings.maxInflights
  if (settings.handleBackPressure !== undefined) base.handleBackPressure = settings.handleBackPressure
  if (settings.tlsServerName !== undefined) base.tlsServerName = settings.tlsServerName
  return base
}
