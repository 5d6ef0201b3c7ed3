import { Admin, Consumer, type Base, type ConnectionPool } from '@platformatic/kafka'
import type { Log } from '../../log.js'
import type { GroupConsumer, GroupConsumerOptions, KafkaTransport, ProducerOptions, RecordProducer, TopicSpec, TopicState } from '../transport.js'
import { consumerOptions, PlatformaticGroupConsumer } from './group-consumer.js'
import { PLATFORMATIC, type PlatformaticKafkaOption } from '../options.js'
import { ADMIN_RETRIES, clientOptions } from './options.js'
import { explainConnectionFailure } from './connection-errors.js'
import { brokerErrorName } from './produce-errors.js'
import { createLibraryProducer, PlatformaticProducer } from './producer.js'

/** How long ensureTopic() waits for a created topic's partitions to have leaders. */
const LEADERS_TIMEOUT_MS = 10_000

/**
 * The transport on @platformatic/kafka (2.12): each producer, group consumer and admin lookup is a
 * client of its own (the library has no shared client object), made from the same option.
 */
export class PlatformaticTransport implements KafkaTransport {
  readonly library = PLATFORMATIC
  readonly #option: PlatformaticKafkaOption
  readonly #log: Log
  /** Every client this transport made, to find what is still open at close(). */
  readonly #clients = new Set<Base>()
  readonly #consumers = new Set<PlatformaticGroupConsumer>()

  /** `option` as checkPlatformaticOption() accepts it. */
  constructor (option: PlatformaticKafkaOption, log: Log) {
    this.#option = option
    this.#log = log
  }

  producer (options: ProducerOptions): RecordProducer {
    const client = createLibraryProducer(this.#option, options.createTopics ?? false)
    this.#clients.add(client)
    return new PlatformaticProducer(client, options)
  }

  consumer (options: GroupConsumerOptions): GroupConsumer {
    const client = new Consumer<Buffer, Buffer, string, Buffer>(consumerOptions(this.#option, options))
    this.#clients.add(client)
    const consumer = new PlatformaticGroupConsumer(client, this.#option, options, this.#log)
    this.#consumers.add(consumer)
    return consumer
  }

  async ensureTopic ({ topic, create, partitions, replicationFactor }: TopicSpec): Promise<TopicState> {
    const admin = new Admin(clientOptions(this.#option, ADMIN_RETRIES))
    try {
      // The plugin's first connection: a refused certificate or password is said plainly.
      const topics = await admin.listTopics().catch((err: unknown) => { throw explainConnectionFailure(err) })
      if (topics.includes(topic)) return 'exists'
      // Listed topics are those the client may describe: ask for this one to learn why it is not.
      if (await this.#topicForbidden(topic)) return 'unauthorized'
      if (!create) return 'missing'
      try {
        await admin.createTopics({ topics: [{ topic, partitions, replicas: replicationFactor }] })
      } catch (err) {
        // Another instance created it meanwhile.
        if (brokerErrorName(err) === 'TOPIC_ALREADY_EXISTS') return 'exists'
        throw err
      }
      await waitForLeaders(admin, topic, partitions)
      return 'created'
    } finally {
      await admin.close()
    }
  }

  /** Whether the broker refuses to describe `topic` to this client (TOPIC_AUTHORIZATION_FAILED); asked once, not retried. */
  async #topicForbidden (topic: string): Promise<boolean> {
    const admin = new Admin(clientOptions(this.#option, 0))
    try {
      await admin.metadata({ topics: [topic] })
      return false
    } catch (err) {
      return brokerErrorName(err) === 'TOPIC_AUTHORIZATION_FAILED'
    } finally {
      await admin.close()
    }
  }

  /**
   * Closes what the library left open once the producers and consumers were closed: clients not
   * closed (force: their streams too) and sockets still open in any of their connection pools.
   * Returns how many sockets that were.
   */
  async close (): Promise<number> {
    const clients = new Set(this.#clients)
    const pools: ConnectionPool[] = []
    for (const consumer of this.#consumers) {
      if (consumer.admin !== undefined) clients.add(consumer.admin)
      if (consumer.stream !== undefined) pools.push(consumer.stream.connections)
    }
    for (const client of clients) pools.push(client.connections)
    let open = 0
    for (const pool of pools) {
      for (const [, connection] of pool) {
        const socket = connection.socket as typeof connection.socket | undefined
        if (socket !== undefined && !socket.destroyed) {
          open++
          socket.destroy()
        }
      }
    }
    await Promise.allSettled([...clients].filter(client => !client.closed).map(client => closeClient(client)))
    this.#clients.clear()
    this.#consumers.clear()
    return open
  }
}

/** Closes a client the way its class wants it: a consumer or producer with its streams. */
function closeClient (client: Base): Promise<void> {
  if (client instanceof Consumer) return client.close(true)
  return client.close()
}

/**
 * Waits until every partition of a topic just created has a leader (the library's createTopics()
 * returns as soon as the controller accepted it): the first produce then finds them.
 */
async function waitForLeaders (admin: Admin, topic: string, partitions: number): Promise<void> {
  const deadline = Date.now() + LEADERS_TIMEOUT_MS
  for (;;) {
    try {
      const metadata = await admin.metadata({ topics: [topic], forceUpdate: true, retries: 0 })
      const found = metadata.topics.get(topic)
      const expected = partitions > 0 ? partitions : 1
      if (found !== undefined && found.partitionsCount >= expected && found.partitions.every(partition => partition.leader >= 0)) return
    } catch {
      // Not known yet to the broker answering: look again.
    }
    if (Date.now() > deadline) return // the producer's retries take it from here
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}
