// The Kafka cluster of `stack:up --cluster`: three KRaft nodes, each broker and controller (a quorum
// of 3), started from the same jars as the single broker, with replicated topics by default.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describeKafka, launchKafkaNode, newClusterId, waitForKafka, warmGroupCoordinator } from './kafka.mjs'
import { RUN_DIR, StackError, shown } from './paths.mjs'
import { clearState, ownedProcess, stopProcess } from './proc.mjs'

/** The nodes: node.id, broker port and controller port. */
export const KAFKA_CLUSTER_NODES = [1, 2, 3].map(id => ({
  id,
  address: `127.0.0.1:${29091 + id}`,
  port: 29091 + id,
  controllerPort: 29191 + id
}))

export const KAFKA_CLUSTER_DIR = join(RUN_DIR, 'kafka-cluster')
const HEAP = process.env.STACK_KAFKA_CLUSTER_HEAP_OPTS || '-Xms128m -Xmx256m'
const START_TIMEOUT_MS = 120_000

export function kafkaClusterBrokers () {
  return KAFKA_CLUSTER_NODES.map(node => node.address)
}

const stateName = id => `kafka-cluster-${id}`
const nodeDir = id => join(KAFKA_CLUSTER_DIR, `node-${id}`)

function node (id) {
  const found = KAFKA_CLUSTER_NODES.find(n => n.id === Number(id))
  if (!found) throw new StackError(`no Kafka cluster node ${id}: the nodes are ${KAFKA_CLUSTER_NODES.map(n => n.id).join(', ')}`)
  return found
}

function nodeProperties ({ id, port, controllerPort }) {
  const voters = KAFKA_CLUSTER_NODES.map(n => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',')
  return `# Written by stack/kafka-cluster.mjs: node ${id} of 3, broker and KRaft controller.
process.roles=broker,controller
node.id=${id}
controller.quorum.voters=${voters}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${join(nodeDir(id), 'data')}
# Replicated as in production: a write is acknowledged by at least 2 of 3 replicas (acks=all).
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
# A few offsets partitions, so that group coordinators spread over the brokers.
offsets.topic.num.partitions=6
transaction.state.log.num.partitions=3
auto.create.topics.enable=true
num.partitions=1
group.initial.rebalance.delay.ms=0
# A dead broker is fenced 4 s after its last heartbeat to the controller (default 9 s).
broker.session.timeout.ms=4000
broker.heartbeat.interval.ms=1000
# Leadership stays where the kills left it: tests place roles explicitly.
auto.leader.rebalance.enable=false
# Two cores for three nodes and the tests.
num.network.threads=1
num.io.threads=2
background.threads=2
num.replica.fetchers=1
`
}

/** Does this one node answer (a connection to it alone, not to the cluster)? */
async function nodeAnswers (address) {
  return Boolean(await describeKafka([address], 1000))
}

const allRegistered = cluster => cluster.brokers.length === KAFKA_CLUSTER_NODES.length

async function launch (id, clusterId, log) {
  const n = node(id)
  return launchKafkaNode({
    dir: nodeDir(id),
    stateName: stateName(id),
    address: n.address,
    properties: nodeProperties(n),
    clusterId,
    heap: HEAP,
    log
  })
}

/**
 * Starts the cluster's nodes that do not answer, and returns once all three are registered and
 * the group coordinator answers. A cluster already answering on every port is reused.
 */
export async function upKafkaCluster (log) {
  const brokers = kafkaClusterBrokers()
  const owned = KAFKA_CLUSTER_NODES.map(n => ownedProcess(stateName(n.id)))
  const answering = await Promise.all(KAFKA_CLUSTER_NODES.map(n => nodeAnswers(n.address)))
  if (answering.every(Boolean)) {
    return { brokers, action: 'reused', nodes: describedNodes(owned, answering) }
  }
  let states
  if (owned.some(Boolean) || (answering.some(Boolean))) {
    // Part of a cluster runs: bring the missing nodes back on their data (a node cannot join a
    // quorum it was not formatted for).
    const missing = KAFKA_CLUSTER_NODES.filter((n, i) => !answering[i] && !owned[i])
    for (const n of missing) {
      if (!existsSync(join(nodeDir(n.id), 'server.properties'))) {
        throw new StackError(`Kafka cluster node ${n.id} (${n.address}) is missing and has no data dir to restart from, while others run: run \`npm run stack:down\` first`)
      }
    }
    await Promise.all(missing.map(n => launch(n.id, undefined, log)))
    states = KAFKA_CLUSTER_NODES.map(n => ownedProcess(stateName(n.id)))
  } else {
    const clusterId = newClusterId()
    // The formats run one after the other (each is a JVM); the nodes start together: a quorum of 3 needs 2.
    states = []
    for (const n of KAFKA_CLUSTER_NODES) states.push(await launch(n.id, clusterId, log))
  }
  const first = states.find(Boolean)
  await waitForKafka(brokers, first, START_TIMEOUT_MS, allRegistered)
  await warmGroupCoordinator(brokers, first, START_TIMEOUT_MS)
  return { brokers, action: 'started', nodes: describedNodes(KAFKA_CLUSTER_NODES.map(n => ownedProcess(stateName(n.id))), KAFKA_CLUSTER_NODES.map(() => true)) }
}

function describedNodes (owned, answering) {
  return KAFKA_CLUSTER_NODES.map((n, i) => ({
    id: n.id,
    address: n.address,
    controller: `127.0.0.1:${n.controllerPort}`,
    running: answering[i],
    owner: owned[i] ? 'stack' : 'external',
    pid: owned[i]?.pid,
    log: owned[i] ? shown(owned[i].log) : undefined
  }))
}

/** Stops the nodes this checkout's stack started (all three at once: a quorum shuts down together). */
export async function downKafkaCluster () {
  return Promise.all(KAFKA_CLUSTER_NODES.map(async n => {
    const owned = ownedProcess(stateName(n.id))
    if (!owned) return { id: n.id, action: 'none' }
    const how = await stopProcess(owned.pid, 20_000)
    clearState(stateName(n.id))
    return { id: n.id, action: how, pid: owned.pid, address: n.address }
  }))
}

/** Each node: answering or not, and whether the stack started it. */
export async function statusKafkaCluster () {
  const owned = KAFKA_CLUSTER_NODES.map(n => ownedProcess(stateName(n.id)))
  const answering = await Promise.all(KAFKA_CLUSTER_NODES.map(n => nodeAnswers(n.address)))
  const cluster = answering.some(Boolean) ? await describeKafka(kafkaClusterBrokers()) : null
  return { brokers: kafkaClusterBrokers(), clusterId: cluster?.clusterId, controller: cluster?.controller, nodes: describedNodes(owned, answering) }
}

function ownedNode (id, what) {
  const n = node(id)
  const owned = ownedProcess(stateName(n.id))
  if (!owned) throw new StackError(`${what}: Kafka cluster node ${n.id} (${n.address}) is not running as this checkout's stack, so it is not the stack's to ${what.split(' ')[0]}`)
  return { n, owned }
}

/** SIGKILLs one node (no clean shutdown: its leaderships and group coordination are lost at once). */
export async function killKafkaNode (id) {
  const { n, owned } = ownedNode(id, 'kill node')
  const killedAt = Date.now()
  process.kill(owned.pid, 'SIGKILL')
  await stopProcess(owned.pid, 5000)
  clearState(stateName(n.id))
  return { id: n.id, address: n.address, pid: owned.pid, killedAt }
}

/**
 * Starts a node that is down again on its data, and returns once it answers and the cluster lists
 * all three brokers again (it has caught up with the metadata).
 */
export async function restartKafkaNode (id, log) {
  const n = node(id)
  if (ownedProcess(stateName(n.id))) throw new StackError(`restart node: Kafka cluster node ${n.id} runs already`)
  if (!existsSync(join(nodeDir(n.id), 'server.properties'))) throw new StackError(`restart node: Kafka cluster node ${n.id} has no data dir in ${shown(nodeDir(n.id))}`)
  const state = await launch(n.id, undefined, log)
  await waitForKafka([n.address], state, START_TIMEOUT_MS, allRegistered)
  return { id: n.id, address: n.address, pid: state.pid, startedAt: Date.parse(state.startedAt), readyAt: Date.now() }
}
