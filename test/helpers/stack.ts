// Where the test stack runs, and names that keep tests apart from each other.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Kafka, logLevel } from 'kafkajs'
import type { KafkaOption } from '../../plugin/index.js'

const execFileAsync = promisify(execFile)

/** Same defaults as stack/ (`npm run stack:up`), which tap's `before` script runs. */
export const kafkaBrokers: string[] = (process.env.KAFKA_BROKERS || '127.0.0.1:9092')
  .split(',').map(s => s.trim()).filter(Boolean)

export const redisUrl: string = process.env.REDIS_URL || 'redis://127.0.0.1:6379'

/**
 * The Kafka client library the plugin and the responder run on in this test run: KAFKA_LIBRARY
 * (`kafkajs`, the default, or `@platformatic/kafka`). Tests, their helpers and peers use kafkajs
 * directly either way.
 */
export const kafkaLibrary: string = process.env.KAFKA_LIBRARY || 'kafkajs'

/** Options for a test that exercises kafkajs itself: skipped when the run is on another library. */
export const kafkajsOnly = { skip: kafkaLibrary === 'kafkajs' ? false : `kafkajs only (this run: ${kafkaLibrary})` }

/** The plugin's or the responder's `kafka` option for this run's library. */
export function kafkaConfig (clientId: string, brokers: string[] = kafkaBrokers): KafkaOption {
  return (kafkaLibrary === 'kafkajs' ? { brokers, clientId } : { library: kafkaLibrary, brokers, clientId }) as KafkaOption
}

/** The database index of redisUrl, for `__keyspace@<db>__:` channels. */
export const redisDb: number = Number(new URL(redisUrl).pathname.slice(1) || 0)

/** `<prefix>-<12 hex chars>`: a topic, group or Redis key prefix no other test (or run) uses. */
export function uniqueName (prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`
}

/** Creates a topic and resolves once every partition has a leader (ready to produce to). */
export async function createTopic (topic: string, numPartitions = 1, brokers = kafkaBrokers): Promise<void> {
  const admin = new Kafka({ clientId: 'test-admin', brokers, logLevel: logLevel.WARN }).admin()
  await admin.connect()
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: false })
    // kafkajs's waitForLeaders gives up on UNKNOWN_TOPIC_OR_PARTITION, which a busy broker still
    // answers just after creating the topic: look until every partition has a leader instead.
    const deadline = Date.now() + 30_000
    for (;;) {
      const partitions = await admin.fetchTopicMetadata({ topics: [topic] })
        .then(({ topics }) => topics[0]?.partitions ?? [], () => [])
      if (partitions.length === numPartitions && partitions.every(p => p.leader >= 0)) return
      if (Date.now() > deadline) throw new Error(`topic ${topic}: not every partition had a leader 30 s after its creation`)
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  } finally {
    await admin.disconnect()
  }
}

/** Resolves as promise does, or rejects once ms have passed: every wait in a test has a deadline. */
export async function within<T> (ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms waiting for ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * The stack's second broker, with auto.create.topics.enable=false: started on first use (run
 * through the stack's CLI, as the tap `before` script does), reused afterwards; `npm run
 * stack:down` stops it. Resolves with its bootstrap address.
 */
export async function noAutoCreateBrokers (): Promise<string[]> {
  const cli = fileURLToPath(new URL('../../stack/cli.mjs', import.meta.url))
  const { stdout } = await execFileAsync(process.execPath, [cli, 'up-no-auto-create'], {
    env: { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
  })
  const line = /^KAFKA_BROKERS=(.+)$/m.exec(stdout)
  if (line === null) throw new Error(`the stack did not say where its second broker runs:\n${stdout}`)
  return line[1].split(',')
}
