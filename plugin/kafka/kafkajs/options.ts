import type { Kafka, KafkaConfig } from 'kafkajs'
import { errors } from '../../errors.js'

/**
 * How the plugin reaches Kafka through kafkajs (the default library): a kafkajs config, or a Kafka
 * client you own (`{ client }`, closed by you). `library` may say 'kafkajs'.
 */
export type KafkajsOption = (KafkaConfig & { library?: 'kafkajs' }) | { library?: 'kafkajs', client: Kafka }

/** Checks the `kafka` option for kafkajs: a config with brokers, or `{ client }`. Throws INVALID_OPTION naming the path. */
export function checkKafkajsOption (kafka: unknown): asserts kafka is KafkajsOption {
  if (typeof kafka !== 'object' || kafka === null) {
    throw new errors.INVALID_OPTION('kafka', 'expected a kafkajs config ({ brokers, clientId }) or { client }')
  }
  if ('client' in kafka) {
    const client = kafka.client as Partial<Kafka> | null
    if (typeof client?.producer !== 'function' || typeof client.consumer !== 'function' || typeof client.admin !== 'function') {
      throw new errors.INVALID_OPTION('kafka.client', 'expected a kafkajs Kafka instance')
    }
    return
  }
  const { brokers, clientId } = kafka as Partial<KafkaConfig>
  const brokerList = Array.isArray(brokers) && brokers.length > 0 && brokers.every(b => typeof b === 'string' && b.length > 0)
  if (!brokerList && typeof brokers !== 'function') {
    throw new errors.INVALID_OPTION('kafka.brokers', 'expected a non-empty array of "host:port" strings')
  }
  if (clientId !== undefined && (typeof clientId !== 'string' || clientId.length === 0)) {
    throw new errors.INVALID_OPTION('kafka.clientId', 'expected a non-empty string')
  }
}
