import type { Correlation } from '../correlation.js'

/**
 * Redis key of a reply: `<prefix>:{<instanceId>}:<requestId>`. The braces are a Redis Cluster hash
 * tag: all of one instance's keys live in one slot, so one subscription on one node sees them.
 */
export function replyKey (prefix: string, correlation: Pick<Correlation, 'instanceId' | 'requestId'>): string {
  return `${keyBase(prefix, correlation.instanceId)}:${correlation.requestId}`
}

/** What every key of one instance starts with (then `:`): `<prefix>:{<instanceId>}`. */
export function keyBase (prefix: string, instanceId: string): string {
  return `${prefix}:{${instanceId}}`
}

/**
 * The keys of one instance: its reply keys, the id of the call a key answers, the keyspace pattern
 * of its notifications, and the keys of its probes.
 */
export class InstanceKeys {
  readonly prefix: string
  readonly instanceId: string
  /** `<prefix>:{<instanceId>}`: every key of the instance starts with it. */
  readonly base: string

  constructor (prefix: string, instanceId: string) {
    this.prefix = prefix
    this.instanceId = instanceId
    this.base = keyBase(prefix, instanceId)
  }

  /** The key of a call's reply. */
  reply (correlation: Pick<Correlation, 'instanceId' | 'requestId'>): string {
    return replyKey(this.prefix, correlation)
  }

  /** The correlation id of the call whose reply key this is (the key is one of this instance's). */
  callId (key: string): string {
    return `${this.instanceId}.${key.slice(this.base.length + 1)}`
  }

  /** The keyspace pattern that matches this instance's keys, and only them. */
  pattern (db: number): string {
    return `__keyspace@${db}__:${escapeGlob(this.prefix)}:{${this.instanceId}}:*`
  }

  /** A key of this instance that answers no call: `<base>:<name>`. */
  own (name: string): string {
    return `${this.base}:${name}`
  }
}

function escapeGlob (text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}

/** The SCAN pattern of every key the plugin writes under `prefix`, for all instances. */
export function keysPattern (prefix: string): string {
  return `${escapeGlob(prefix)}:{*}:*`
}

/** The SCAN pattern of the idempotency records under `prefix` (see idempotency-records.ts): meant to outlive their calls. */
export function idempotencyPattern (prefix: string): string {
  return `${escapeGlob(prefix)}:idempotency:{*}`
}
