// The Kafka half of the stack: probe a broker, or start a single-node KRaft one.
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import kafkajs from 'kafkajs'
import { kafkaJars, requireJava } from './java.mjs'
import { RUN_DIR, STACK_DIR, StackError, shown } from './paths.mjs'
import { isAlive, writeState } from './proc.mjs'

const { Kafka, logLevel } = kafkajs

export const KAFKA_VERSION = '4.4.0'
export const KAFKA_DIR = join(RUN_DIR, 'kafka')

export function kafkaBrokers () {
  return (process.env.KAFKA_BROKERS || '127.0.0.1:9092').split(',').map(s => s.trim()).filter(Boolean)
}

/** describeCluster() of the first broker that answers, or null. Never retries: callers poll. */
export async function describeKafka (brokers, timeoutMs = 2000) {
  const kafka = new Kafka({
    clientId: 'stack-probe',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 }
  })
  const admin = kafka.admin({ retry: { retries: 0 } })
  try {
    await admin.connect()
    const cluster = await admin.describeCluster()
    // A KRaft broker answers metadata before it has registered; wait until it lists itself.
    return cluster.brokers.length > 0 ? cluster : null
  } catch {
    return null
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

function localAddress (broker) {
  const m = /^(127\.0\.0\.1|localhost):(\d+)$/.exec(broker)
  if (!m) {
    throw new StackError(`no Kafka broker answers at ${broker}, and the stack only starts one on 127.0.0.1: start it yourself or unset KAFKA_BROKERS`)
  }
  const port = Number(m[2])
  return { port, controllerPort: Number(process.env.KAFKA_CONTROLLER_PORT) || port + 1 }
}

/**
 * The stack's second broker, started only on demand: auto.create.topics.enable=false, as on many
 * production clusters, for the tests of a call to a topic that does not exist.
 */
export const NO_AUTO_CREATE = {
  name: 'kafka-no-auto-create',
  address: process.env.KAFKA_NO_AUTO_CREATE_BROKER || '127.0.0.1:9094',
  dir: join(RUN_DIR, 'kafka-no-auto-create')
}

function serverProperties ({ port, controllerPort }, dir = KAFKA_DIR, autoCreate = true) {
  return `# Written by stack/kafka.mjs on every start: a single node acting as broker and KRaft controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${join(dir, 'data')}
auto.create.topics.enable=${autoCreate}
${ONE_NODE}`
}

/** What every single-node broker of the stack sets, the secure one's included. */
export const ONE_NODE = `# One node: internal topics cannot have more replicas, and tests must not wait for rebalances.
group.initial.rebalance.delay.ms=0
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
num.partitions=1
# Two cores: fewer threads than the defaults.
num.network.threads=2
num.io.threads=2
background.threads=2
`

/**
 * Starts a broker at the first address of KAFKA_BROKERS (which must be on 127.0.0.1) and
 * returns once it answers. The data dir is formatted afresh each start (it is a scratch broker),
 * unless `keepData` is set: then the broker comes back with its topics, groups and offsets, as
 * after a restart (the fault suite's broker-restart scenario).
 */
export async function startKafka (brokers, log, timeoutMs = 90_000, { keepData = false, name = 'kafka', dir = KAFKA_DIR, autoCreate = true, heap } = {}) {
  const address = localAddress(brokers[0])
  const state = await launchKafkaNode({
    dir,
    stateName: name,
    address: brokers[0],
    properties: serverProperties(address, dir, autoCreate),
    clusterId: keepData ? undefined : newClusterId(),
    heap: heap || process.env.STACK_KAFKA_HEAP_OPTS || '-Xms256m -Xmx512m',
    log
  })
  await waitForKafka(brokers, state, timeoutMs)
  await warmGroupCoordinator(brokers, state, timeoutMs)
  return state
}

/** A random KRaft cluster id: 22 characters, as Kafka wants. */
export function newClusterId () {
  return randomBytes(16).toString('base64url')
}

/**
 * Spawns one Kafka node (a broker, a controller or both) detached, with its log dir `dir`, and
 * records it under `stateName` (see proc.mjs). With a `clusterId`, `dir` is wiped and formatted
 * with that id and `properties` (a string, or a function called after `prepare()` has put what it
 * names in the fresh `dir`), `formatArgs` added to the format command (SCRAM users); without one,
 * the node starts on the data already in `dir` (a restart). Returns at once: the caller waits for
 * what it needs (waitForKafka).
 */
export async function launchKafkaNode ({ dir, stateName, address, properties, clusterId, heap, log, formatArgs = [], prepare = () => {} }) {
  requireJava()
  const jars = join(await kafkaJars(KAFKA_VERSION, log), '*')
  const props = join(dir, 'server.properties')
  // Appears in the node's command line, so a reused pid is not mistaken for our node.
  const marker = `-Dkafka.logs.dir=${dir}`
  const jvm = [
    '-cp', jars,
    `-Dlog4j2.configurationFile=${join(STACK_DIR, 'log4j2.properties')}`,
    marker
  ]
  if (clusterId !== undefined || !existsSync(props)) {
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    prepare()
    writeFileSync(props, typeof properties === 'function' ? properties() : properties)
    // `--cluster-id=<id>`, not `-t <id>`: an id may start with '-', which would read as an option.
    const format = spawnSync('java', [...jvm, 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId ?? newClusterId()}`, `--config=${props}`, ...formatArgs], { encoding: 'utf8' })
    if (format.status !== 0) {
      throw new StackError(`formatting the Kafka log dir ${shown(dir)} failed:\n${format.stdout}${format.stderr}`)
    }
  }

  const stdoutLog = join(dir, 'stdout.log')
  const logFile = join(dir, 'kafka.log')
  const out = openSync(stdoutLog, 'a')
  // A small heap and the serial collector: a test broker on two cores, next to the tests.
  const child = spawn('java', [
    ...heap.split(' '), '-XX:+UseSerialGC', '-XX:MaxMetaspaceSize=192m', '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true', ...jvm, 'kafka.Kafka', props
  ], { detached: true, stdio: ['ignore', out, out], cwd: dir })
  // Detached in its own session and unreferenced: the broker outlives this node process.
  child.unref()
  closeSync(out)
  const state = { pid: child.pid, address, marker, log: logFile, stdout: stdoutLog, startedAt: new Date().toISOString() }
  writeState(stateName, state)
  log(`starting Kafka ${KAFKA_VERSION} at ${address} (pid ${child.pid}, log ${shown(logFile)})`)
  return state
}

// A fresh broker creates __consumer_offsets on the first group lookup and answers
// "coordinator not available" until it has; do that here so the first test's group joins at once.
export async function warmGroupCoordinator (brokers, state, timeoutMs) {
  const admin = new Kafka({ clientId: 'stack-probe', brokers, logLevel: logLevel.NOTHING }).admin({ retry: { retries: 0 } })
  await admin.connect()
  try {
    for (const deadline = Date.now() + timeoutMs; ; await sleep(200)) {
      try {
        return await admin.describeGroups(['stack-warm-up'])
      } catch (err) {
        if (Date.now() > deadline) {
          throw new StackError(`the Kafka broker (pid ${state.pid}) answers but its group coordinator does not (${err.message}): see ${shown(state.log)}`)
        }
      }
    }
  } finally {
    await admin.disconnect()
  }
}

/**
 * Polls until the broker answers (and, with `ready`, until ready(cluster) holds); fails early,
 * with the log's tail, if the process dies.
 */
export async function waitForKafka (brokers, state, timeoutMs, ready = () => true) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const cluster = await describeKafka(brokers, 1000)
    if (cluster && ready(cluster)) return cluster
    if (!isAlive(state.pid)) {
      throw new StackError(`the Kafka broker (pid ${state.pid}) exited during startup:\n${tail(state.log)}${tail(state.stdout)}\nsee ${shown(state.log)} and ${shown(state.stdout)}`)
    }
    await sleep(300)
  }
  throw new StackError(`the Kafka broker (pid ${state.pid}) did not answer at ${brokers.join(',')} within ${timeoutMs / 1000}s: see ${shown(state.log)} and ${shown(state.stdout)}`)
}

export function tail (file, lines = 15) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') + '\n'
  } catch {
    return ''
  }
}
