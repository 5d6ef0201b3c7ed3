import { Kafka, logLevel, type LogEntry } from 'kafkajs'
import type { KafkaOption } from '../options.js'
import type { Log } from '../log.js'

/** A Kafka client, and whether the plugin created it (and so may close what it opens). */
export interface KafkaClient {
  kafka: Kafka
  owned: boolean
}

/**
 * Creates the kafkajs client from a config, or takes the one passed as `{ client }`. kafkajs logs
 * go to the plugin's logger: INFO chatter (joins, connects) at debug level.
 */
export function createKafka (option: KafkaOption, log: Log): KafkaClient {
  if ('client' in option) return { kafka: option.client, owned: false }
  const kafka = new Kafka({
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => logEntry(log, entry),
    ...option
  })
  return { kafka, owned: true }
}

function logEntry (log: Log, { level, log: { message, ...extra } }: LogEntry): void {
  const details = { kafkajs: extra }
  if (level === logLevel.ERROR) log.error(details, message)
  else if (level === logLevel.WARN) log.warn(details, message)
  else log.debug(details, message)
}
