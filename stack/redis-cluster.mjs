// The Redis Cluster of `npm run stack:up -- --cluster`: 3 masters and 3 replicas of Debian's
// redis-server on 127.0.0.1:7001..7006, keyspace events set in each node's configuration, nothing
// saved to disk. Reused when it already runs; a node that is down (a test killed it) is started
// again on its own nodes.conf and rejoins the cluster.
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, mkdirSync, openSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { RUN_DIR, StackError, shown } from './paths.mjs'
import { clearState, isAlive, ownedProcess, stopProcess, writeState } from './proc.mjs'
import { withClient } from './redis.mjs'

export const REDIS_CLUSTER_DIR = join(RUN_DIR, 'redis-cluster')
export const REDIS_CLUSTER_PORTS = [7001, 7002, 7003, 7004, 7005, 7006]
/** How long a master may be unreachable before its replica takes over. */
export const CLUSTER_NODE_TIMEOUT = 3000
const HOST = '127.0.0.1'

const stateName = port => `redis-cluster-${port}`
const address = port => `${HOST}:${port}`

/** The cluster's nodes as `redis://127.0.0.1:<port>` URLs (startup nodes for a Cluster client). */
export function redisClusterUrls () {
  return REDIS_CLUSTER_PORTS.map(port => `redis://${address(port)}`)
}

/** Runs fn on a probe connection of its own to the node on `port`. */
function onNode (port, fn) {
  return withClient(`redis://${HOST}:${port}`, fn)
}

async function answers (port) {
  try {
    return await onNode(port, async client => (await client.ping()) === 'PONG')
  } catch {
    return false
  }
}

/** CLUSTER INFO of one node as an object, or undefined when it does not answer. */
async function clusterInfo (port) {
  try {
    const text = await onNode(port, client => client.cluster('INFO'))
    return Object.fromEntries(text.split('\r\n').filter(Boolean).map(line => line.split(':')))
  } catch {
    return undefined
  }
}

/** Starts the node on `port`; with `fresh`, its directory (and nodes.conf) is wiped first. */
export async function startRedisNode (port, { log = console.log, fresh = false, keyspaceEvents = true } = {}) {
  if (spawnSync('redis-server', ['--version']).error?.code === 'ENOENT') {
    throw new StackError('redis-server not found (Debian: apt-get install redis-server)')
  }
  const dir = join(REDIS_CLUSTER_DIR, String(port))
  if (fresh) rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const logFile = join(dir, 'redis.log')
  const out = openSync(logFile, 'a')
  const child = spawn('redis-server', [
    '--bind', HOST, '--port', String(port), '--dir', dir,
    '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
    '--cluster-node-timeout', String(CLUSTER_NODE_TIMEOUT),
    '--notify-keyspace-events', keyspaceEvents ? 'K$' : '',
    '--save', '', '--appendonly', 'no', '--daemonize', 'no'
  ], { detached: true, stdio: ['ignore', out, out] })
  child.unref()
  closeSync(out)
  const state = { pid: child.pid, address: address(port), marker: 'redis-server', log: logFile, startedAt: new Date().toISOString() }
  writeState(stateName(port), state)
  log(`starting redis-server at ${address(port)} (cluster node, pid ${child.pid}, log ${shown(logFile)})`)
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(100)) {
    if (await answers(port)) return state
    if (!isAlive(child.pid)) break
  }
  throw new StackError(`redis-server (pid ${child.pid}) did not answer at ${address(port)}: see ${shown(logFile)}`)
}

/** SIGKILLs the node on `port` if the stack started it (a crash, for failover tests). */
export async function killRedisNode (port) {
  const owned = ownedProcess(stateName(port))
  if (!owned) throw new StackError(`the Redis Cluster node at ${address(port)} was not started by the stack`)
  process.kill(owned.pid, 'SIGKILL')
  for (const end = Date.now() + 5000; Date.now() < end && isAlive(owned.pid); await sleep(50));
  clearState(stateName(port))
}

/** Resolves once every node answers and reports cluster_state:ok with all 16384 slots served. */
export async function waitForClusterOk (timeoutMs = 30_000) {
  for (const deadline = Date.now() + timeoutMs; ; await sleep(200)) {
    const infos = await Promise.all(REDIS_CLUSTER_PORTS.map(clusterInfo))
    if (infos.every(info => info?.cluster_state === 'ok' && info.cluster_slots_ok === '16384' && info.cluster_known_nodes === String(REDIS_CLUSTER_PORTS.length))) return
    if (Date.now() > deadline) {
      const states = REDIS_CLUSTER_PORTS.map((port, i) => `${port}: ${infos[i]?.cluster_state ?? 'down'}`).join(', ')
      throw new StackError(`the Redis Cluster did not reach cluster_state:ok within ${timeoutMs} ms (${states})`)
    }
  }
}

/**
 * Makes sure the Redis Cluster runs: reuses it when every node answers, starts the nodes that are
 * down, and creates the cluster (3 masters, a replica each) when none runs.
 */
export async function upRedisCluster ({ log = console.log } = {}) {
  const up = await Promise.all(REDIS_CLUSTER_PORTS.map(answers))
  if (up.every(Boolean)) {
    await waitForClusterOk()
    return { action: 'reused', nodes: await describeNodes() }
  }
  if (up.some(Boolean)) {
    // Some nodes run: start the others on their nodes.conf, and they rejoin.
    for (const [i, port] of REDIS_CLUSTER_PORTS.entries()) if (!up[i]) await startRedisNode(port, { log })
    await waitForClusterOk(60_000)
    return { action: 'restarted', nodes: await describeNodes() }
  }
  for (const port of REDIS_CLUSTER_PORTS) await startRedisNode(port, { log, fresh: true })
  const create = spawnSync('redis-cli', ['--cluster', 'create', ...REDIS_CLUSTER_PORTS.map(address), '--cluster-replicas', '1', '--cluster-yes'], { encoding: 'utf8' })
  if (create.status !== 0) throw new StackError(`redis-cli --cluster create failed: ${create.stderr || create.stdout}`)
  await waitForClusterOk(60_000)
  return { action: 'started', nodes: await describeNodes() }
}

/** Each node: address, role, whether it answers, and whether the stack started it. */
export async function describeNodes () {
  return Promise.all(REDIS_CLUSTER_PORTS.map(async port => {
    const owned = ownedProcess(stateName(port))
    let role
    try {
      role = (await onNode(port, client => client.role()))[0]
    } catch {}
    return { address: address(port), running: role !== undefined, role, owner: owned ? 'stack' : 'external', pid: owned?.pid }
  }))
}

/** Stops the nodes the stack started. */
export async function downRedisCluster () {
  const stopped = []
  for (const port of REDIS_CLUSTER_PORTS) {
    const owned = ownedProcess(stateName(port))
    if (!owned) continue
    stopped.push({ address: address(port), pid: owned.pid, action: await stopProcess(owned.pid, 5000) })
    clearState(stateName(port))
  }
  return stopped
}
