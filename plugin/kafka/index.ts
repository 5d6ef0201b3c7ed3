import type { Log } from '../log.js'
import { checkKafkajsOption, KafkajsTransport, type KafkaOption } from './kafkajs/index.js'
import type { KafkaTransport } from './transport.js'

export type { KafkaOption }

/** Checks the `kafka` option (plugin and responder alike); throws FST_KAFKA_REPLY_INVALID_OPTION naming the path. */
export function checkKafkaOption (kafka: unknown): asserts kafka is KafkaOption {
  checkKafkajsOption(kafka)
}

/** The transport for the `kafka` option. */
export function createTransport (option: KafkaOption, log: Log): KafkaTransport {
  return new KafkajsTransport(option, log)
}
