import type { KafkaLibrary, KafkaOption } from '../plugin/index.js'

/** The client libraries the reference services run on, as KAFKA_LIBRARY names them. */
export const KAFKA_LIBRARIES: readonly KafkaLibrary[] = ['kafkajs', '@platformatic/kafka']

/** The `kafka` option of the plugin or the responder for a library, brokers and client id. */
export function kafkaOption (library: KafkaLibrary, brokers: string[], clientId: string): KafkaOption {
  return library === 'kafkajs' ? { brokers, clientId } : { library, brokers, clientId }
}
