import { Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { TSchema } from '@sinclair/typebox'
import { errors } from './errors.js'

/** A duration in ms, as setTimeout takes it. */
export const Millis = (description: string) => Type.Integer({ minimum: 1, maximum: 2_147_483_647, description })

/** The `consumer` option of the plugin and the responder: settings that mean the same with every Kafka library. */
export const ConsumerSettingsSchema = Type.Object({
  sessionTimeout: Type.Optional(Millis('consumer group session timeout')),
  rebalanceTimeout: Type.Optional(Millis('how long the group waits for members to rejoin in a rebalance')),
  heartbeatInterval: Type.Optional(Millis('how often the member heartbeats to the group coordinator')),
  maxWaitTimeInMs: Type.Optional(Millis('how long a fetch waits for records on an idle partition'))
}, { additionalProperties: false })

/**
 * Checks `options` against `schema`; throws FST_KAFKA_REPLY_INVALID_OPTION naming the first
 * option that fails (its path, e.g. `consumer.sessionTimeout`) and why.
 */
export function checkSchema (schema: TSchema, options: unknown): void {
  if (typeof options !== 'object' || options === null) throw new errors.INVALID_OPTION('options', 'expected an object')
  const first = Value.Errors(schema, options).First()
  if (first !== undefined) {
    const name = first.path.slice(1).replaceAll('/', '.') || 'options'
    throw new errors.INVALID_OPTION(name, first.message)
  }
}
