// The three ways a slot of the stack's Redis Cluster moves (a manual failover, a master killed, a slot migration), plus a load that
// records every call and samples the waiting instance's counters.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { Cluster, Redis } from 'ioredis'
import type { Test } from 'tap'
import type { KafkaReplyStats } from '../../plugin/index.js'
import { keySlot } from '../../plugin/redis/key-slot.js'
import { clusterNodes, clusterOk, isMaster, onNode, ownerOf } from '../../faults/lib/redis-cluster.js'
import { killRedisNode, redisClusterPorts, startRedisNode } from './cluster.js'
import { waitFor } from './wait.js'

/** A client of one node, with no retries; closed at teardown. */
export function nodeClient (t: Test, port: number): Redis {
  const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, retryStrategy: () => null })
  client.on('error', () => {})
  t.teardown(() => { client.disconnect() })
  return client
}

/** A Cluster client of the stack's cluster; closed at teardown. */
export function clusterClient (t: Test): Cluster {
  const cluster = new Cluster(redisClusterPorts.map(port => ({ host: '127.0.0.1', port })))
  cluster.on('error', () => {})
  t.teardown(() => { cluster.disconnect() })
  return cluster
}

/** The slot that holds every key of an instance. */
export function instanceSlot (keyPrefix: string, instanceId: string): number {
  return keySlot(`${keyPrefix}:{${instanceId}}`)
}

/** What a move did: the nodes, and when the cluster had settled (epoch ms). */
export interface Move {
  from: number
  to: number
  startedAt: number
  settledAt: number
}

/** CLUSTER FAILOVER on the replica of the slot's master: the replica takes over, the master steps down. */
export async function manualFailover (slot: number): Promise<Move> {
  const { master: owner, replica } = await ownerOf(slot)
  if (replica === undefined) throw new Error(`the master of slot ${slot} has no replica`)
  const startedAt = Date.now()
  await onNode(replica.port, client => client.cluster('FAILOVER'))
  await waitFor('the replica to take over', () => isMaster(replica.port), 30_000)
  const settledAt = Date.now()
  await waitFor('every node to know the new master', async () => (await ownerOf(slot).catch(() => undefined))?.master.port === replica.port, 30_000)
  return { from: owner.port, to: replica.port, startedAt, settledAt }
}

/** SIGKILLs the slot's master; resolves once its replica has been promoted. Start it again with rejoin(). */
export async function killMaster (slot: number): Promise<Move> {
  const { master: owner, replica } = await ownerOf(slot)
  if (replica === undefined) throw new Error(`the master of slot ${slot} has no replica`)
  const startedAt = Date.now()
  await killRedisNode(owner.port)
  await waitFor('the replica to be promoted', () => isMaster(replica.port), 60_000)
  return { from: owner.port, to: replica.port, startedAt, settledAt: Date.now() }
}

/** Starts a killed node again (it rejoins as a replica) and waits for the cluster to be whole. */
export async function rejoin (port: number): Promise<void> {
  await startRedisNode(port)
  await waitFor('the cluster to be whole again', clusterOk, 60_000)
}

/** Moves `slot` to another master: IMPORTING, MIGRATING, MIGRATE of its keys, then NODE on every master. */
export async function migrateSlot (slot: number): Promise<Move> {
  const nodes = await clusterNodes()
  const { master: source } = await ownerOf(slot)
  const target = nodes.find(node => node.master && !node.failed && node.id !== source.id)!
  const startedAt = Date.now()
  await onNode(target.port, client => client.cluster('SETSLOT', slot, 'IMPORTING', source.id))
  await onNode(source.port, async client => {
    await client.cluster('SETSLOT', slot, 'MIGRATING', target.id)
    for (;;) {
      const keys = await client.cluster('GETKEYSINSLOT', slot, 100) as string[]
      if (keys.length === 0) break
      await client.migrate('127.0.0.1', target.port, '', 0, 5000, 'KEYS', ...keys)
    }
  })
  // As redis-cli --cluster does: the target first, then the source, then the other masters.
  const masters = nodes.filter(node => node.master && !node.failed)
  for (const node of [target, source, ...masters.filter(n => n.id !== target.id && n.id !== source.id)]) {
    await onNode(node.port, client => client.cluster('SETSLOT', slot, 'NODE', target.id))
  }
  return { from: source.port, to: target.port, startedAt, settledAt: Date.now() }
}

/** One call of a load: when it was sent and ended, its status, and whether its body was its own. */
export interface CallRecord {
  sentAt: number
  endedAt: number
  status: number
  /** A 200 whose body was another call's reply. */
  crossed: boolean
}

/** A sample of the waiting instance's counters. */
export interface Sample {
  at: number
  stats: KafkaReplyStats
}

/** `concurrency` callers in a loop on `app`'s POST /call, until stop(); the counters sampled every 50 ms. */
export function load (app: FastifyInstance, concurrency: number, timeout: number) {
  const calls: CallRecord[] = []
  const samples: Sample[] = []
  const state = { running: true }
  let n = 0
  const caller = async () => {
    while (state.running) {
      const id = n++
      const sentAt = Date.now()
      const res = await app.inject({ method: 'POST', url: `/call?timeout=${timeout}`, payload: { id } })
      const crossed = res.statusCode === 200 && res.json().id !== id
      calls.push({ sentAt, endedAt: Date.now(), status: res.statusCode, crossed })
      // A refusal comes at once: do not spin on it.
      if (res.statusCode === 503) await sleep(50)
    }
  }
  const sampler = setInterval(() => samples.push({ at: Date.now(), stats: app.kafkaReply.stats() }), 50)
  const callers = Array.from({ length: concurrency }, caller)
  return {
    calls,
    samples,
    async stop () {
      state.running = false
      await Promise.all(callers)
      clearInterval(sampler)
    }
  }
}

/** The first sample after `after` in which resolvedByNotification had risen: replies arrive by notification again. */
export function notificationsBack (samples: Sample[], after: number): number | undefined {
  const before = samples.filter(s => s.at <= after).at(-1)?.stats.resolvedByNotification ?? 0
  return samples.find(s => s.at > after && s.stats.resolvedByNotification > before)?.at
}

/** Counts of statuses and of how replies were found between two times. */
export function countBetween (calls: CallRecord[], samples: Sample[], from: number, to: number) {
  const statuses: Record<number, number> = {}
  for (const call of calls) if (call.sentAt >= from && call.sentAt < to) statuses[call.status] = (statuses[call.status] ?? 0) + 1
  const at = (time: number) => samples.filter(s => s.at <= time).at(-1)?.stats
  const a = at(from)
  const b = at(to)
  const delta = (key: 'resolvedByNotification' | 'resolvedBySweep' | 'resolvedByLastLook') => (b?.[key] ?? 0) - (a?.[key] ?? 0)
  return { statuses, notification: delta('resolvedByNotification'), sweep: delta('resolvedBySweep'), lastLook: delta('resolvedByLastLook') }
}
