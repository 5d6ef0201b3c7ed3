// Brings up, stops and reports the Kafka broker and Redis that the tests and the app run against.
// Reuses servers that already answer; starts (and later stops) only what is missing.
import { setTimeout as sleep } from 'node:timers/promises'
import { NO_AUTO_CREATE, describeKafka, kafkaBrokers, startKafka, waitForKafka } from './kafka.mjs'
import { downKafkaCluster, killKafkaNode, restartKafkaNode, statusKafkaCluster, upKafkaCluster } from './kafka-cluster.mjs'
import { StackError, shown } from './paths.mjs'
import { clearState, ownedProcess, stopProcess, withLock } from './proc.mjs'
import { ensureKeyspaceEvents, redisAnswers, redisUrl, startRedis } from './redis.mjs'
import { describeNodes, downRedisCluster, killRedisNode, startRedisNode, upRedisCluster } from './redis-cluster.mjs'
import { SECURE, secureAnswers, secureSettings, startSecureKafka } from './kafka-secure.mjs'

// Long enough for a first start that downloads the jars; a waiting caller is told why it waits.
const LOCK_TIMEOUT_MS = 15 * 60_000

function mine (name, address) {
  const owned = ownedProcess(name)
  if (owned && owned.address !== address) {
    throw new StackError(`the stack's ${name} runs at ${owned.address}, not ${address}: run \`npm run stack:down\` first`)
  }
  return owned
}

const described = (address, owned, action) => ({
  address,
  owner: owned ? 'stack' : 'external',
  action,
  pid: owned?.pid,
  log: owned ? shown(owned.log) : undefined
})

async function upKafka (brokers, log) {
  const owned = mine('kafka', brokers[0])
  if (await describeKafka(brokers)) return described(brokers.join(','), owned, 'reused')
  if (owned) {
    // Started by an earlier run that gave up waiting, or still booting.
    log(`Kafka broker pid ${owned.pid} runs but does not answer yet; waiting`)
    await waitForKafka(brokers, owned, 90_000)
    return described(brokers.join(','), owned, 'reused')
  }
  return described(brokers.join(','), await startKafka(brokers, log), 'started')
}

async function upRedis (url, log) {
  const owned = mine('redis', url)
  const found = await redisAnswers(url)
  const state = found ? owned : await startRedis(url, log)
  const events = await ensureKeyspaceEvents(url)
  return { ...described(url, state, found ? 'reused' : 'started'), keyspaceEvents: events }
}

/**
 * Makes sure a Kafka broker answers at KAFKA_BROKERS (default 127.0.0.1:9092) and a Redis at
 * REDIS_URL (default redis://127.0.0.1:6379) with keyspace events on. Safe to call concurrently.
 * With `cluster`, also the cluster parts: a 3-node Kafka cluster (stack/kafka-cluster.mjs).
 */
export async function up ({ log = console.log, cluster = false, secure = false } = {}) {
  const brokers = kafkaBrokers()
  const url = redisUrl()
  return withLock('stack', LOCK_TIMEOUT_MS, log, async () => {
    const redis = await upRedis(url, log)
    const kafka = await upKafka(brokers, log)
    const result = { kafkaBrokers: brokers, redisUrl: url, kafka, redis }
    if (cluster) result.kafkaCluster = await upKafkaCluster(log)
    if (cluster) result.redisCluster = await upRedisCluster({ log })
    if (secure) result.kafkaSecure = await upSecureKafka(log)
    return result
  })
}

/**
 * The secure broker (stack/kafka-secure.mjs): reused while the stack's one answers with the
 * settings it wrote, else formatted and started afresh (new CA, new passwords).
 */
async function upSecureKafka (log) {
  const owned = mine(SECURE.name, SECURE.address)
  const settings = secureSettings()
  if (owned && await secureAnswers(settings)) return { ...described(SECURE.address, owned, 'reused'), settings }
  if (owned) {
    await stopProcess(owned.pid, 20_000)
    clearState(SECURE.name)
  }
  const started = await startSecureKafka(log)
  return { ...described(SECURE.address, started.state, 'started'), settings: started.settings }
}

/**
 * Makes sure the stack's second broker answers: one with auto.create.topics.enable=false at
 * KAFKA_NO_AUTO_CREATE_BROKER (default 127.0.0.1:9094, controller on the next port), for tests of
 * calls to a topic that does not exist. Started on demand with a small heap, reused when it answers;
 * `down()` stops it.
 */
export async function upNoAutoCreate ({ log = console.log } = {}) {
  const { name, address, dir } = NO_AUTO_CREATE
  const brokers = [address]
  return withLock(name, LOCK_TIMEOUT_MS, log, async () => {
    const owned = mine(name, address)
    if (await describeKafka(brokers)) return { kafkaBrokers: brokers, kafka: described(address, owned, 'reused') }
    if (owned) {
      await waitForKafka(brokers, owned, 90_000)
      return { kafkaBrokers: brokers, kafka: described(address, owned, 'reused') }
    }
    const state = await startKafka(brokers, log, 90_000, { name, dir, autoCreate: false, heapOpts: '-Xms64m -Xmx256m' })
    return { kafkaBrokers: brokers, kafka: described(address, state, 'started') }
  })
}

/** Stops what `up()` (the cluster parts included) and `upNoAutoCreate()` started, and nothing else. */
export async function down ({ log = console.log } = {}) {
  return withLock('stack', 60_000, log, async () => {
    const result = {}
    result.kafkaCluster = await downKafkaCluster()
    result.redisCluster = await downRedisCluster()
    // Kafka gets time for a clean shutdown; Redis keeps nothing on disk anyway.
    for (const [name, graceMs] of [['kafka', 20_000], [NO_AUTO_CREATE.name, 20_000], [SECURE.name, 20_000], ['redis', 5000]]) {
      const owned = ownedProcess(name)
      if (!owned) {
        result[name] = { action: 'none' }
        continue
      }
      const how = await stopProcess(owned.pid, graceMs)
      clearState(name)
      result[name] = { action: how, pid: owned.pid, address: owned.address }
    }
    return result
  })
}

/** SIGKILLs node `id` (1..3) of the stack's Kafka cluster; see stack/kafka-cluster.mjs. */
export async function killKafkaClusterNode (id, { log = console.log } = {}) {
  return withLock('stack', 120_000, log, () => killKafkaNode(id))
}

/** Starts node `id` of the stack's Kafka cluster again on its data; resolves once it is registered. */
export async function restartKafkaClusterNode (id, { log = console.log } = {}) {
  return withLock('stack', 180_000, log, () => restartKafkaNode(id, log))
}

/**
 * Stops the broker the stack started and starts it again on the same data: topics, groups and
 * committed offsets survive, as in a broker restart. `pauseMs` is how long it stays down.
 */
export async function restartKafka ({ log = console.log, pauseMs = 0 } = {}) {
  return withLock('stack', 120_000, log, async () => {
    const owned = ownedProcess('kafka')
    if (!owned) throw new StackError('restartKafka: the broker was not started by the stack, so it is not the stack\'s to restart')
    await stopProcess(owned.pid, 20_000)
    clearState('kafka')
    await sleep(pauseMs)
    return described(kafkaBrokers().join(','), await startKafka(kafkaBrokers(), log, 90_000, { keepData: true }), 'started')
  })
}

/** What answers where (the cluster parts included), and whether the stack started it. */
export async function status () {
  const brokers = kafkaBrokers()
  const url = redisUrl()
  const kafkaOwned = ownedProcess('kafka')
  const redisOwned = ownedProcess('redis')
  const cluster = await describeKafka(brokers)
  const redisUp = await redisAnswers(url)
  return {
    kafkaBrokers: brokers,
    redisUrl: url,
    kafka: { ...described(brokers.join(','), kafkaOwned, null), running: Boolean(cluster), clusterId: cluster?.clusterId },
    redis: { ...described(url, redisOwned, null), running: redisUp },
    kafkaCluster: await statusKafkaCluster(),
    redisCluster: { nodes: await describeNodes() }
  }
}

/** Only the Redis Cluster of `up({ cluster: true })`, for a benchmark or fault that needs it alone. */
export async function upRedisClusterOnly ({ log = console.log } = {}) {
  return withLock('stack', LOCK_TIMEOUT_MS, log, () => upRedisCluster({ log }))
}

/** Stops the Redis Cluster nodes the stack started, and nothing else. */
export async function downRedisClusterOnly ({ log = console.log } = {}) {
  return withLock('stack', 60_000, log, () => downRedisCluster())
}

/** SIGKILLs the Redis Cluster node on `port` (the stack's own only): a crash, for failover tests. */
export async function killRedisClusterNode (port) {
  await killRedisNode(Number(port))
  return { killedAt: Date.now() }
}

/** Starts the Redis Cluster node on `port` again on its nodes.conf: it rejoins (as a replica if it lost its slots). */
export async function startRedisClusterNode (port, { log = console.log } = {}) {
  await startRedisNode(Number(port), { log })
  return { readyAt: Date.now() }
}
