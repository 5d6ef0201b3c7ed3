// Accepted calls on the Redis Cluster: records spread over the masters; a 202's Location is polled
// on the other replica, pending and then done.
import t from 'tap'
import { consumerAndCaller, freshTopics, startWorker } from '../helpers/kafka-reply.js'
import { redisClusterUrls } from '../helpers/cluster.js'
import { clusterClient } from '../helpers/redis-cluster.js'
import { gate, waitFor } from '../helpers/wait.js'

const CALLS = 12

t.test('accepted calls across the cluster: 202 at the deadline, polled on the other replica while pending and when done', async t => {
  const names = await freshTopics(1)
  const options = { redis: { cluster: redisClusterUrls }, affinity: false, accepted: true }
  const { consumer, caller } = await consumerAndCaller(t, names, [options, options])
  const held = gate()
  await startWorker(t, names, async (payload: unknown) => {
    await held.promise
    return payload
  }, { concurrency: CALLS })

  const ids = await Promise.all(Array.from({ length: CALLS }, async (_, n) => {
    const err = await caller.kafkaReply.request(names.requestTopic, { n }, { timeout: 500, idempotencyScope: `user-${n}` })
      .then(() => undefined, (err: { code?: string, replyId?: string }) => err)
    t.equal(err?.code, 'FST_KAFKA_REPLY_ACCEPTED', `call ${n}: 202`)
    return err?.replyId as string
  }))
  const cluster = clusterClient(t)
  if (cluster.status !== 'ready') await new Promise(resolve => cluster.once('ready', resolve))
  const records = await Promise.all(cluster.nodes('master').map(async node => await node.keys(`${names.keyPrefix}:idempotency:*`)))
  t.equal(records.flat().length, CALLS, 'one record per accepted call')
  t.ok(records.filter(found => found.length > 0).length > 1, 'records spread over more than one master')

  for (const [n, id] of ids.entries()) {
    await t.rejects(consumer.kafkaReply.poll(id, `user-${n}`), { code: 'FST_KAFKA_REPLY_ACCEPTED' }, `call ${n}: pending on the other replica`)
  }
  held.open()
  await waitFor('every reply to be stored', () => caller.kafkaReply.stats().outcomesStored + consumer.kafkaReply.stats().outcomesStored === CALLS, 30_000)
  t.same(await Promise.all(ids.map(async (id, n) => await consumer.kafkaReply.poll(id, `user-${n}`))), Array.from({ length: CALLS }, (_, n) => ({ n })))
  await t.rejects(consumer.kafkaReply.poll(ids[0], 'user-1'), { code: 'FST_KAFKA_REPLY_UNKNOWN_REPLY' }, 'another scope: 404')
})
