import { Kafka, logLevel, type LogEntry } from 'kafkajs'
import type { KafkaOption } from '../options.js'
import type { Log } from '../log.js'

/**
 * Retries of the plugin's and the responder's producers. kafkajs's default (300 ms doubling, 5
 * retries) waits up to 4.8 s between the last two attempts, so a send to a dead leader resumed
 * seconds after Kafka had elected a new one, or gave up. These retry at most a second apart for
 * about 10 s; each failed attempt refreshes the metadata, so the first attempt after the election
 * goes to the new leader.
 */
export const PRODUCER_RETRY = { initialRetryTime: 100, maxRetryTime: 1000, multiplier: 2, retries: 13 }

/**
 * Retries of the consumers (the reply group's members and the responder's). A fetch from a dead
 * leader fails on every retry until the metadata names the new leader; once kafkajs's retries run
 * out the consumer crashes, leaves its group and joins again: a rebalance for every member.
 */
export const CONSUMER_RETRY = { initialRetryTime: 100, maxRetryTime: 1000, multiplier: 2, retries: 20 }

/**
 * How old the consumers' metadata may get (kafkajs's default: 5 minutes). A consumer whose fetch
 * fails keeps asking the leader it knows; only a metadata refresh shows it the new one.
 */
export const CONSUMER_METADATA_MAX_AGE = 1000

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
