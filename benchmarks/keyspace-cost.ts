// npm run bench:keyspace-cost: the Redis CPU a write costs against the number of PSUBSCRIBE patterns
// on the node (one per plugin instance whose keys live there). Redis matches every keyspace event
// against every pattern, so the cost grows with the instances per node, and a cluster of M masters
// divides them by M. Each row runs on a fresh redis-server of its own; CPU is the server's
// used_cpu_user + used_cpu_sys (INFO cpu) over the writes, divided by their number. Each row is
// measured REPEAT times and the lowest kept: other work on the machine only ever adds CPU time
// (cache misses, a slower clock), so the lowest figure is the closest to the cost itself.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { RedisServer } from '../faults/lib/redis-server.js'

const WRITES = 50_000
const BATCH = 200
const REPEAT = 3
const PATTERNS = [1, 10, 20, 33, 50, 100, 167, 500]
const PREFIX = 'kr'
const CHANNEL = '__keyspace@0__:'

async function cpu (admin: Redis): Promise<number> {
  const info = await admin.info('cpu')
  const field = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)![1])
  return field('used_cpu_user') + field('used_cpu_sys')
}

/** µs of Redis CPU per write: `run` performs WRITES writes. */
async function perWrite (admin: Redis, run: () => Promise<void>): Promise<number> {
  const before = await cpu(admin)
  await run()
  return (await cpu(admin) - before) / WRITES * 1e6
}

/** Plain SETs of keys no pattern matches: what every other user of the Redis pays. */
async function plainSets (url: string): Promise<void> {
  const writer = new Redis(url)
  for (let i = 0; i < WRITES; i += BATCH) {
    const pipeline = writer.pipeline()
    for (let j = i; j < i + BATCH; j++) pipeline.set(`other:${j}`, 'x')
    await pipeline.exec()
  }
  writer.disconnect()
}

/** The plugin's hand-over: SET ... PX NX by a consuming instance, the event, GETDEL by the waiting one. */
async function handOvers (url: string, subscriber: Redis): Promise<void> {
  const writer = new Redis(url)
  const taker = new Redis(url)
  let taken = 0
  let toTake: string[] = []
  const all = new Promise<void>(resolve => {
    // As the plugin does: the events of one read from the subscriber, taken in one pipeline.
    const take = () => {
      const pipeline = taker.pipeline()
      for (const key of toTake) pipeline.getdel(key)
      const count = toTake.length
      toTake = []
      pipeline.exec().then(() => { taken += count; if (taken === WRITES) resolve() }, () => {})
    }
    subscriber.on('pmessage', (_pattern: string, channel: string, event: string) => {
      if (event !== 'set') return
      if (toTake.length === 0) queueMicrotask(take)
      toTake.push(channel.slice(CHANNEL.length))
    })
  })
  for (let i = 0; i < WRITES; i += BATCH) {
    const pipeline = writer.pipeline()
    for (let j = i; j < i + BATCH; j++) pipeline.set(`${PREFIX}:{instance-0}:${j}`, '{"ok":true}', 'PX', 30_000, 'NX')
    await pipeline.exec()
  }
  await all
  writer.disconnect()
  taker.disconnect()
}

interface Row { patterns: number, plainSet: number, handOver: number }

async function measure (patterns: number): Promise<Row> {
  const server = await RedisServer.start({ notifyKeyspaceEvents: patterns === 0 ? '' : 'K$' })
  const admin = new Redis(server.url)
  // One subscriber connection per instance, each with its instance's pattern, as the plugin has.
  const subscribers = await Promise.all(Array.from({ length: Math.max(patterns, 1) }, async (_, i) => {
    const subscriber = new Redis(server.url)
    if (patterns > 0) await subscriber.psubscribe(`${CHANNEL}${PREFIX}:{instance-${i}}:*`)
    return subscriber
  }))
  try {
    const plainSet = await perWrite(admin, () => plainSets(server.url))
    const handOver = patterns === 0 ? NaN : await perWrite(admin, () => handOvers(server.url, subscribers[0]))
    return { patterns, plainSet, handOver }
  } finally {
    for (const subscriber of subscribers) subscriber.disconnect()
    admin.disconnect()
    await server.kill()
  }
}

const rows: Row[] = []
for (const patterns of [0, ...PATTERNS]) {
  const runs: Row[] = []
  for (let i = 0; i < REPEAT; i++) runs.push(await measure(patterns))
  const row = { patterns, plainSet: Math.min(...runs.map(r => r.plainSet)), handOver: Math.min(...runs.map(r => r.handOver)) }
  rows.push(row)
  console.log(`${patterns} patterns: plain SET ${row.plainSet.toFixed(1)} µs, hand-over ${row.handOver.toFixed(1)} µs`)
}
const fmt = (n: number) => Number.isNaN(n) ? 'n/a' : n.toFixed(1)
const table = [
  '| PSUBSCRIBE patterns on the node | plain SET, µs of Redis CPU | hand-over (SET PX NX + event + GETDEL), µs |',
  '| --- | --- | --- |',
  ...rows.map(r => `| ${r.patterns === 0 ? '0 (notifications off)' : r.patterns} | ${fmt(r.plainSet)} | ${fmt(r.handOver)} |`)
].join('\n')
console.log(`\n${table}`)
const results = join(import.meta.dirname, '../../benchmarks/results')
writeFileSync(join(results, 'keyspace-cost.json'), JSON.stringify({ writes: WRITES, repeat: REPEAT, kept: 'lowest', redis: 'redis-server as installed', rows }, null, 2) + '\n')
writeFileSync(join(results, 'keyspace-cost.md'), `${table}\n`)
