#!/usr/bin/env node
// npm run stack:up [-- --cluster] [-- --secure] | stack:down | stack:status
// Also, for tests that run it in a child process: kill-kafka-node <id>, restart-kafka-node <id>,
// kill-redis-node <port>, start-redis-node <port> (JSON out).
import { StackError } from './paths.mjs'
import { down, killKafkaClusterNode, killRedisClusterNode, restartKafkaClusterNode, startRedisClusterNode, status, up, upNoAutoCreate } from './stack.mjs'

const whose = s => s.owner === 'stack' ? `the stack's (pid ${s.pid}, log ${s.log})` : 'found running, not the stack\'s'

function printKafkaNodes (nodes) {
  for (const n of nodes) {
    const state = n.running ? `running, ${whose(n)}` : n.owner === 'stack' ? `NOT answering; the stack's pid ${n.pid} runs (starting? log ${n.log})` : 'not running'
    console.log(`kafka-cluster node ${n.id}  ${n.address} (controller ${n.controller})  ${state}`)
  }
}

function printRedisCluster (nodes) {
  for (const n of nodes) {
    const state = n.running ? `${n.role}, ${n.owner === 'stack' ? `the stack's (pid ${n.pid})` : 'found running, not the stack\'s'}` : 'not running'
    console.log(`redis-cluster node  ${n.address}  ${state}`)
  }
}

function printUp ({ kafka, redis, kafkaBrokers, redisUrl, kafkaCluster, redisCluster, kafkaSecure }) {
  const { before, after, changed } = redis.keyspaceEvents
  for (const [name, s] of [['kafka', kafka], ['redis', redis]]) {
    console.log(`${name}  ${s.address}  ${s.action === 'started' ? 'started now' : 'already running'}: ${whose(s)}`)
  }
  console.log(changed
    ? `redis  notify-keyspace-events: CONFIG SET '${before}' -> '${after}'`
    : `redis  notify-keyspace-events: '${after}' already includes K and $, left as is`)
  if (kafkaCluster) {
    console.log(`kafka-cluster  ${kafkaCluster.brokers.join(',')}  ${kafkaCluster.action === 'started' ? 'started now' : 'already running'}`)
    printKafkaNodes(kafkaCluster.nodes)
  }
  if (redisCluster) {
    console.log(`redis-cluster  ${redisCluster.action === 'started' ? 'started now' : redisCluster.action === 'restarted' ? 'nodes that were down started again' : 'already running'}`)
    printRedisCluster(redisCluster.nodes)
  }
  console.log(`\nKAFKA_BROKERS=${kafkaBrokers.join(',')}\nREDIS_URL=${redisUrl}`)
  if (kafkaCluster) console.log(`KAFKA_CLUSTER_BROKERS=${kafkaCluster.brokers.join(',')}`)
  if (redisCluster) console.log(`REDIS_CLUSTER_URLS=${redisCluster.nodes.map(n => `redis://${n.address}`).join(',')}`)
  if (kafkaSecure) {
    console.log(`kafka-secure  ${kafkaSecure.address}  ${kafkaSecure.action === 'started' ? 'started now' : 'already running'}: SASL_SSL (SCRAM), ACLs, CA ${kafkaSecure.settings.caFile}`)
    console.log(`KAFKA_SECURE_BROKER=${kafkaSecure.address} (users and passwords: stack/.run/kafka-secure/secure.json)`)
  }
}

function printDown ({ kafkaCluster, redisCluster, ...result }) {
  for (const r of kafkaCluster) {
    if (r.action !== 'none') console.log(`kafka-cluster node ${r.id}  ${r.action} pid ${r.pid} (${r.address})`)
  }
  for (const r of redisCluster) console.log(`redis-cluster node  ${r.action} pid ${r.pid} (${r.address})`)
  for (const [name, r] of Object.entries(result)) {
    console.log(r.action === 'none'
      ? `${name}  nothing started by the stack is running (servers found running are left alone)`
      : `${name}  ${r.action} pid ${r.pid} (${r.address})`)
  }
}

function printStatus ({ kafka, redis, kafkaCluster, redisCluster }) {
  for (const [name, s] of [['kafka', kafka], ['redis', redis]]) {
    const state = s.running ? `running, ${whose(s)}` : s.owner === 'stack' ? `NOT answering; the stack's pid ${s.pid} runs (starting? log ${s.log})` : 'not running'
    console.log(`${name}  ${s.address}  ${state}${s.clusterId ? ` (cluster ${s.clusterId})` : ''}`)
  }
  if (kafkaCluster.nodes.some(n => n.running || n.owner === 'stack')) {
    printKafkaNodes(kafkaCluster.nodes)
    if (kafkaCluster.clusterId) console.log(`kafka-cluster  cluster ${kafkaCluster.clusterId}, active controller ${kafkaCluster.controller}`)
  } else {
    console.log(`kafka-cluster  ${kafkaCluster.brokers.join(',')}  not running (npm run stack:up -- --cluster)`)
  }
  if (redisCluster.nodes.some(n => n.running || n.owner === 'stack')) printRedisCluster(redisCluster.nodes)
  else console.log('redis-cluster  not running (npm run stack:up -- --cluster)')
}

const json = value => console.log(JSON.stringify(value))

const commands = {
  up: async () => printUp(await up({ cluster: process.argv.includes('--cluster'), secure: process.argv.includes('--secure') })),
  'kill-kafka-node': async () => json(await killKafkaClusterNode(process.argv[3], { log: console.error })),
  'restart-kafka-node': async () => json(await restartKafkaClusterNode(process.argv[3], { log: console.error })),
  'kill-redis-node': async () => json(await killRedisClusterNode(process.argv[3])),
  'start-redis-node': async () => json(await startRedisClusterNode(process.argv[3], { log: console.error })),
  // The second broker, auto.create.topics.enable=false: started on demand by the tests that need it.
  'up-no-auto-create': async () => {
    const { kafka, kafkaBrokers } = await upNoAutoCreate()
    console.log(`kafka (auto.create.topics.enable=false)  ${kafka.address}  ${kafka.action === 'started' ? 'started now' : 'already running'}: ${whose(kafka)}`)
    console.log(`\nKAFKA_BROKERS=${kafkaBrokers.join(',')}`)
  },
  down: async () => printDown(await down()),
  status: async () => printStatus(await status())
}

const command = commands[process.argv[2]]
if (!command) {
  console.error('usage: node stack/cli.mjs up [--cluster] [--secure] | up-no-auto-create | down | status | kill-kafka-node <id> | restart-kafka-node <id> | kill-redis-node <port> | start-redis-node <port>')
  process.exit(2)
}
try {
  await command()
} catch (err) {
  console.error(err instanceof StackError ? `stack: ${err.message}` : err)
  process.exitCode = 1
}
