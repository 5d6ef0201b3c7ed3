// The stack's Redis Cluster (127.0.0.1:7001..7006) as a test or a fault sees it: its nodes as
// CLUSTER NODES tells them, who serves a slot, and whether a node has become a master.
import { Redis } from 'ioredis'

/** The ports of the stack's Redis Cluster (`npm run stack:up -- --cluster`). */
export const REDIS_CLUSTER_PORTS: readonly number[] = [7001, 7002, 7003, 7004, 7005, 7006]

/** One node as CLUSTER NODES tells it. */
export interface NodeInfo {
  id: string
  port: number
  master: boolean
  /** The master's id, for a replica. */
  masterId: string | undefined
  failed: boolean
  /** Slot ranges served, as [first, last]. */
  slots: Array<[number, number]>
}

/** Runs fn on a connection of its own to the node on `port`: one attempt, no retries. */
export async function onNode<T> (port: number, fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: 1000 })
  client.on('error', () => {})
  try {
    await client.connect()
    return await fn(client)
  } finally {
    client.disconnect()
  }
}

/** CLUSTER NODES as seen from the first node that answers (other than `skip`). */
export async function clusterNodes (skip?: number): Promise<NodeInfo[]> {
  for (const port of REDIS_CLUSTER_PORTS) {
    if (port === skip) continue
    try {
      const text = await onNode(port, client => client.cluster('NODES') as Promise<string>)
      return text.trim().split('\n').map(parseNode)
    } catch {}
  }
  throw new Error('no Redis Cluster node answers')
}

function parseNode (line: string): NodeInfo {
  const [id, address, flags, masterId, , , , , ...slots] = line.split(' ')
  const port = Number(address.split('@')[0].split(':').at(-1))
  return {
    id,
    port,
    master: flags.split(',').includes('master'),
    masterId: masterId === '-' ? undefined : masterId,
    failed: /fail/.test(flags),
    slots: slots.filter(s => !s.startsWith('[')).map(s => {
      const [first, last = first] = s.split('-').map(Number)
      return [first, last] as [number, number]
    })
  }
}

/** The master that serves `slot` and its replica, as the cluster's nodes agree. */
export async function ownerOf (slot: number, skip?: number): Promise<{ master: NodeInfo, replica: NodeInfo | undefined }> {
  const nodes = await clusterNodes(skip)
  const master = nodes.find(node => node.master && !node.failed && node.slots.some(([a, b]) => slot >= a && slot <= b))
  if (master === undefined) throw new Error(`no master serves slot ${slot}`)
  return { master, replica: nodes.find(node => node.masterId === master.id && !node.failed) }
}

/** The node says it is a master (ROLE): from then on it serves its slots. */
export async function isMaster (port: number): Promise<boolean> {
  return await onNode(port, async client => (await client.role())[0] === 'master').catch(() => false)
}

/** Every node answers and says cluster_state:ok. */
export async function clusterOk (): Promise<boolean> {
  const states = await Promise.all(REDIS_CLUSTER_PORTS.map(port => onNode(port, client => client.cluster('INFO') as Promise<string>).catch(() => '')))
  return states.every(info => info.includes('cluster_state:ok'))
}

/** Every key under `prefix:` on every master (SCAN on each). */
export async function keysOnMasters (prefix: string): Promise<string[]> {
  return await scanMasters(`${prefix}:*`)
}

/** Every key that matches the SCAN pattern on every master. */
export async function scanMasters (pattern: string): Promise<string[]> {
  const masters = (await clusterNodes()).filter(node => node.master && !node.failed)
  const keys = await Promise.all(masters.map(node => onNode(node.port, async client => {
    const found: string[] = []
    let cursor = '0'
    do {
      const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      found.push(...batch)
    } while (cursor !== '0')
    return found
  })))
  return keys.flat()
}
