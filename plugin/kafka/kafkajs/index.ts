import { Partitioners, type ICustomPartitioner, type Producer } from 'kafkajs'
import type { Log } from '../../log.js'
import type { GroupConsumer, GroupConsumerOptions, KafkaTransport, ProducerOptions, RecordProducer, SendScope, TopicSpec, TopicState } from '../transport.js'
import { BatchingProducer } from './batching-producer.js'
import { createKafka, type KafkaClient } from './client.js'
import type { KafkajsOption } from './options.js'
import { KafkajsGroupConsumer } from './group-consumer.js'
import { brokerErrorType, toProduceError } from './produce-errors.js'

/** The transport on kafkajs. */
export class KafkajsTransport implements KafkaTransport {
  readonly library = 'kafkajs'
  readonly #client: KafkaClient
  readonly #log: Log

  constructor (option: KafkajsOption, log: Log) {
    this.#client = createKafka(option, log)
    this.#log = log
  }

  producer (options: ProducerOptions): RecordProducer {
    const partitioner = options.ignoreMissingPartition === true ? knownPartitionsOnly : undefined
    return new KafkajsProducer(BatchingProducer.create(this.#client.kafka, partitioner, { maxBatchBytes: options.maxBatchBytes, createTopics: options.createTopics }), this.#client.refused)
  }

  consumer (options: GroupConsumerOptions): GroupConsumer {
    return new KafkajsGroupConsumer(this.#client.kafka, options, this.#log)
  }

  async ensureTopic ({ topic, create, partitions, replicationFactor }: TopicSpec): Promise<TopicState> {
    const admin = this.#client.kafka.admin()
    try {
      // The plugin's first connection: a refused certificate fails it at once, not after retries.
      await Promise.race([admin.connect(), this.#client.refused])
      const topics = await admin.listTopics()
      if (topics.includes(topic)) return 'exists'
      // Listed topics are those the client may describe: ask for this one to learn why it is not.
      if (await this.#topicForbidden(topic)) return 'unauthorized'
      if (!create) return 'missing'
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor }], waitForLeaders: true })
      return 'created'
    } finally {
      await admin.disconnect()
    }
  }

  /** Whether the broker refuses to describe `topic` to this client (TOPIC_AUTHORIZATION_FAILED); asked once, not retried. */
  async #topicForbidden (topic: string): Promise<boolean> {
    const admin = this.#client.kafka.admin({ retry: { retries: 0 } })
    await admin.connect()
    try {
      await admin.fetchTopicMetadata({ topics: [topic] })
      return false
    } catch (err) {
      return brokerErrorType(err) === 'TOPIC_AUTHORIZATION_FAILED'
    } finally {
      await admin.disconnect()
    }
  }

  async close (): Promise<number> {
    return this.#client.destroySockets()
  }
}

/** The BatchingProducer as the transport's RecordProducer: errors classified. */
class KafkajsProducer implements RecordProducer {
  readonly #batcher: BatchingProducer
  readonly #refused: Promise<never>
  readonly instrumented: boolean

  constructor (batcher: BatchingProducer, refused: Promise<never>) {
    this.#batcher = batcher
    this.#refused = refused
    this.instrumented = sendBatchIsWrapped(batcher.producer)
  }

  /** The responder's first connection: a refused certificate fails it at once, not after retries. */
  connect (): Promise<void> {
    return Promise.race([this.#batcher.connect(), this.#refused])
  }

  send (topic: string, record: Parameters<RecordProducer['send']>[1], scope?: SendScope): Promise<void> {
    return this.#batcher.send(topic, record, scope).catch(err => { throw toProduceError(err) })
  }

  idle (): Promise<void> {
    return this.#batcher.idle()
  }

  close (): Promise<void> {
    return this.#batcher.disconnect()
  }
}

/**
 * Whether @opentelemetry/instrumentation-kafkajs (or any shimmer-based wrapper) wraps this
 * producer's sendBatch: it then starts its own PRODUCER span per message, a child of the context
 * active at sendBatch, and overwrites the message's `traceparent` with it.
 */
function sendBatchIsWrapped (producer: Producer): boolean {
  const sendBatch = producer.sendBatch as { __wrapped?: unknown }
  return sendBatch.__wrapped === true
}

/**
 * The default partitioner, except that a partition the topic does not have (by the producer's
 * metadata) counts as absent: the record goes elsewhere rather than nowhere.
 */
const knownPartitionsOnly: ICustomPartitioner = () => {
  const fallback = Partitioners.DefaultPartitioner()
  return args => {
    const { partition } = args.message
    if (partition === undefined) return fallback(args)
    if (args.partitionMetadata.some(meta => meta.partitionId === partition)) return partition
    return fallback({ ...args, message: { ...args.message, partition: undefined } })
  }
}
