import type { ConnectionOptions as TlsOptions } from 'node:tls'
import { errors } from '../errors.js'
import { checkKafkajsOption, type KafkajsOption } from './kafkajs/options.js'

/**
 * The `kafka` option of the plugin and the responder: which client library, and how it reaches
 * Kafka. Checked here without loading the library: @platformatic/kafka is an optional peer
 * dependency, loaded only when chosen.
 */

/** The `kafka.library` value that selects @platformatic/kafka. */
export const PLATFORMATIC = '@platformatic/kafka'

/** The client libraries the plugin runs on. */
export const LIBRARIES = ['kafkajs', PLATFORMATIC] as const

/** A Kafka client library the plugin runs on. */
export type KafkaLibrary = typeof LIBRARIES[number]

/** Compression of produced records, as @platformatic/kafka names it. */
export const COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const
type Compression = typeof COMPRESSIONS[number]

/** SASL mechanisms, as kafkajs spells them or as Kafka does (case does not matter). */
export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512' | 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'

/** A user name or password, or a function that returns it (called at every authentication). */
export type Credential = string | (() => string | Promise<string>)

/** SASL authentication (over TLS, in production). */
export interface PlatformaticSasl {
  mechanism: SaslMechanism
  username: Credential
  password: Credential
}

/** Settings only @platformatic/kafka has; each is passed on as the library names it. */
export interface PlatformaticSettings {
  /** The client's rack, sent with fetches (KIP-392: fetch from the closest replica). */
  clientRack?: string
  /** How old cluster metadata may get, ms (the library's default: 5000). */
  metadataMaxAge?: number
  /** Requests in flight per connection (the library's default: 5). */
  maxInflights?: number
  /** Wait for a socket's `drain` before writing more (the library's default: false). */
  handleBackPressure?: boolean
  /** TLS SNI: a name, or true for each broker's host (unset: none). */
  tlsServerName?: string | boolean
  /** Let a produce to a missing topic create it, where the broker allows it (default true, as kafkajs). */
  autocreateTopics?: boolean
  /** Compression of produced records (default none). */
  compression?: Compression
  /** Most bytes one fetch returns (the library's default: 50 MB). */
  maxBytes?: number
  /** Most bytes one fetch returns per partition (default: maxBytes). */
  maxBytesPerPartition?: number
  /** Records a consumer buffers before it stops fetching (the library's default: 1024). */
  highWaterMark?: number
}

/** How the plugin reaches Kafka through @platformatic/kafka (Node >= 22.22 or >= 24.6). */
export interface PlatformaticKafkaOption {
  library: typeof PLATFORMATIC
  /** Bootstrap brokers, `host:port`. */
  brokers: string[]
  /** Default `fastify-kafka-reply`. */
  clientId?: string
  /** TLS: true, or Node's `tls.connect()` options. */
  ssl?: boolean | TlsOptions
  sasl?: PlatformaticSasl
  /** How long connecting to a broker may take, ms (the library's default: 5000). */
  connectionTimeout?: number
  /** How long the client waits for a broker's answer to a request, ms (the library's default: 30000). */
  requestTimeout?: number
  platformatic?: PlatformaticSettings
}

/** How the plugin reaches Kafka: kafkajs (the default) or @platformatic/kafka. */
export type KafkaOption = KafkajsOption | PlatformaticKafkaOption

/** The library a `kafka` option chooses. */
export function libraryOf (kafka: KafkaOption): KafkaLibrary {
  return kafka.library ?? 'kafkajs'
}

/** Checks the `kafka` option; throws FST_KAFKA_REPLY_INVALID_OPTION naming the path. */
export function checkKafkaOption (kafka: unknown): asserts kafka is KafkaOption {
  const library = typeof kafka === 'object' && kafka !== null ? (kafka as { library?: unknown }).library : undefined
  if (library === undefined || library === 'kafkajs') return checkKafkajsOption(kafka)
  if (library === PLATFORMATIC) return checkPlatformaticOption(kafka)
  throw new errors.INVALID_OPTION('kafka.library', `expected one of ${LIBRARIES.map(name => `'${name}'`).join(', ')}`)
}

/** The keys of a @platformatic/kafka option. */
const PLATFORMATIC_KEYS = ['library', 'brokers', 'clientId', 'ssl', 'sasl', 'connectionTimeout', 'requestTimeout', 'platformatic']

/** SASL mechanisms, in lower case. */
const MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512']

const SETTINGS: Record<keyof PlatformaticSettings, (value: unknown) => string | undefined> = {
  clientRack: value => typeof value === 'string' ? undefined : 'expected a string',
  metadataMaxAge: positiveNumber,
  maxInflights: value => Number.isInteger(value) && (value as number) > 0 ? undefined : 'expected a positive integer',
  handleBackPressure: boolean,
  tlsServerName: value => typeof value === 'boolean' || (typeof value === 'string' && value.length > 0) ? undefined : 'expected a boolean or a non-empty string',
  autocreateTopics: boolean,
  compression: value => (COMPRESSIONS as readonly unknown[]).includes(value) ? undefined : `expected one of ${COMPRESSIONS.join(', ')}`,
  maxBytes: positiveNumber,
  maxBytesPerPartition: positiveNumber,
  highWaterMark: value => Number.isInteger(value) && (value as number) > 0 ? undefined : 'expected a positive integer'
}

/**
 * Checks the `kafka` option for @platformatic/kafka; throws FST_KAFKA_REPLY_INVALID_OPTION naming
 * the path. Unknown keys under `platformatic` are refused: a misspelt setting would otherwise be
 * silently ignored.
 */
export function checkPlatformaticOption (kafka: unknown): asserts kafka is PlatformaticKafkaOption {
  if (typeof kafka !== 'object' || kafka === null || Array.isArray(kafka)) {
    throw new errors.INVALID_OPTION('kafka', `expected { library: '${PLATFORMATIC}', brokers, clientId }`)
  }
  const option = kafka as Record<string, unknown>
  if (option.library !== PLATFORMATIC) throw new errors.INVALID_OPTION('kafka.library', `expected '${PLATFORMATIC}'`)
  if ('client' in option) {
    throw new errors.INVALID_OPTION('kafka.client', `${PLATFORMATIC} has no single client object to pass (its producers, consumers and admins are separate): give brokers, and the plugin makes and closes its own`)
  }
  const unknown = Object.keys(option).find(name => !PLATFORMATIC_KEYS.includes(name))
  if (unknown !== undefined) throw new errors.INVALID_OPTION(`kafka.${unknown}`, `unknown setting for ${PLATFORMATIC} (known: ${PLATFORMATIC_KEYS.join(', ')}; settings only ${PLATFORMATIC} has go under kafka.platformatic)`)
  const { brokers, clientId, ssl, sasl, connectionTimeout, requestTimeout, platformatic } = option
  if (!Array.isArray(brokers) || brokers.length === 0 || !brokers.every(b => typeof b === 'string' && b.length > 0)) {
    throw new errors.INVALID_OPTION('kafka.brokers', 'expected a non-empty array of "host:port" strings')
  }
  // The library's own schema: no whitespace in a client id.
  if (clientId !== undefined && (typeof clientId !== 'string' || !/^\S+$/.test(clientId))) {
    throw new errors.INVALID_OPTION('kafka.clientId', 'expected a non-empty string without whitespace')
  }
  if (ssl !== undefined && typeof ssl !== 'boolean' && (typeof ssl !== 'object' || ssl === null || Array.isArray(ssl))) {
    throw new errors.INVALID_OPTION('kafka.ssl', 'expected a boolean or TLS connection options')
  }
  if (sasl !== undefined) checkSasl(sasl)
  for (const [name, value] of [['connectionTimeout', connectionTimeout], ['requestTimeout', requestTimeout]] as const) {
    const problem = value === undefined ? undefined : positiveNumber(value)
    if (problem !== undefined) throw new errors.INVALID_OPTION(`kafka.${name}`, problem)
  }
  if (platformatic !== undefined) {
    if (typeof platformatic !== 'object' || platformatic === null || Array.isArray(platformatic)) {
      throw new errors.INVALID_OPTION('kafka.platformatic', 'expected an object')
    }
    for (const [name, value] of Object.entries(platformatic)) {
      const check = Object.hasOwn(SETTINGS, name) ? SETTINGS[name as keyof PlatformaticSettings] : undefined
      if (check === undefined) {
        throw new errors.INVALID_OPTION(`kafka.platformatic.${name}`, `unknown setting (known: ${Object.keys(SETTINGS).join(', ')})`)
      }
      const problem = value === undefined ? undefined : check(value)
      if (problem !== undefined) throw new errors.INVALID_OPTION(`kafka.platformatic.${name}`, problem)
    }
  }
}

function checkSasl (sasl: unknown): void {
  if (typeof sasl !== 'object' || sasl === null) throw new errors.INVALID_OPTION('kafka.sasl', 'expected { mechanism, username, password }')
  const { mechanism, username, password } = sasl as Record<string, unknown>
  if (typeof mechanism !== 'string' || !MECHANISMS.includes(mechanism.toLowerCase())) {
    throw new errors.INVALID_OPTION('kafka.sasl.mechanism', 'expected plain, scram-sha-256 or scram-sha-512')
  }
  for (const [name, value] of [['username', username], ['password', password]] as const) {
    if (typeof value !== 'function' && (typeof value !== 'string' || value.length === 0)) {
      throw new errors.INVALID_OPTION(`kafka.sasl.${name}`, 'expected a non-empty string or a function returning one')
    }
  }
}

function positiveNumber (value: unknown): string | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? undefined : 'expected a positive number'
}

function boolean (value: unknown): string | undefined {
  return typeof value === 'boolean' ? undefined : 'expected a boolean'
}
