import { Kafka, logLevel } from 'kafkajs'
import { createResponder, type Responder, type ResponderStats } from '../plugin/responder/index.js'
import type { WorkerConfig } from './config.js'
import { kafkaOption } from '../common/kafka.js'
import type { Logger } from './log.js'
import { pricing } from './pricing.js'
import { Deduplicator } from './dedupe.js'
import type { Quote } from './contract.js'

/** The responder's counters, and the worker's deduplication by idempotency key. */
export interface WorkerStats extends ResponderStats {
  /** Requests with an idempotency key seen before, answered with its quote and not priced again. */
  deduplicated: number
  /** Idempotency keys remembered now. */
  idempotencyKeys: number
}

/** A running pricing worker. */
export interface PricingWorker {
  readonly workerId: string
  stats: () => WorkerStats
  /** Aborts simulated work in progress, leaves the group and disconnects. */
  close: () => Promise<void>
}

/**
 * Starts the pricing worker: makes sure its request topic exists, then answers quote requests
 * through the responder. Resolves once its consumer has joined its group.
 */
export async function startWorker (config: WorkerConfig, log: Logger): Promise<PricingWorker> {
  await ensureTopic(new Kafka({ brokers: config.kafkaBrokers, clientId: config.workerId, logLevel: logLevel.WARN }), config.requestTopic, config.requestPartitions)
  const shutdown = new AbortController()
  const dedupe = new Deduplicator<Quote>({ ttlMs: config.idempotencyTtlMs, maxKeys: config.idempotencyMaxKeys })
  let responder: Responder
  try {
    responder = await createResponder({
      kafka: kafkaOption(config.kafkaLibrary, config.kafkaBrokers, config.workerId),
      groupId: config.groupId,
      handlers: { [config.requestTopic]: pricing({ ...config, signal: shutdown.signal, dedupe, log }) },
      concurrency: config.concurrency,
      ...(config.replyTopics === undefined ? {} : { replyTopics: config.replyTopics }),
      logger: log,
      consumer: { heartbeatInterval: config.heartbeatMs, sessionTimeout: config.sessionTimeoutMs, maxWaitTimeInMs: 100 }
    })
  } catch (err) {
    shutdown.abort()
    throw err
  }
  return {
    workerId: config.workerId,
    stats: () => ({ ...responder.stats(), deduplicated: dedupe.deduplicated, idempotencyKeys: dedupe.size }),
    async close () {
      shutdown.abort()
      await responder.close()
    }
  }
}

/**
 * The worker owns its request topic, so it creates it when missing (the broker's auto-creation,
 * where enabled, would give it one partition and no say in the matter).
 */
async function ensureTopic (kafka: Kafka, topic: string, numPartitions: number): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    if ((await admin.listTopics()).includes(topic)) return
    // Another replica may create it at the same moment: createTopics then answers false, not an error.
    await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true })
  } finally {
    await admin.disconnect()
  }
}
