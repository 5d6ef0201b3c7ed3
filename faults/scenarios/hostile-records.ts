import { randomUUID } from 'node:crypto'
import kafkajs, { Kafka, logLevel, type Consumer, type Message, type Producer } from 'kafkajs'
import type { Scenario } from '../lib/types.js'

// Not a named export Node's ESM loader can see in kafkajs's CommonJS.
const { ConfigResourceTypes } = kafkajs
const EVERY_MS = 1000
const TEN_MB = 10 * 1024 * 1024
/** One real reply in this many is sent to the reply topic a second time. */
const DUPLICATE_EVERY = 20

const id = (instance: string) => `${instance}.${(Date.now() + 5000).toString(36)}.${randomUUID()}`
const withId = (correlationId: string | Buffer, value: string | Buffer | null = '{}') => ({ headers: { kafka_correlationId: correlationId }, value })

/**
 * Records no plugin wrote, sent to the reply topic by another client while the load runs: the
 * plugin must count and skip each as malformed, crash on none, and answer every real call with its
 * own reply.
 */
function malformedRecords (): Message[] {
  return [
    { value: '{"no":"correlation header"}' },
    withId(Buffer.from([0xff, 0xfe, 0xfd, 0x00])),
    withId('x'.repeat(10 * 1024)),
    withId('a*b.c?d.[e]'),
    withId(`${id('abc')}\r\n*`),
    withId(id('not-an-instance-of-this-group'), '{"for":"nobody"}'),
    withId(id('ghost'), '{not json'),
    withId(id('ghost'), Buffer.alloc(TEN_MB, 0x20))
  ]
}

/**
 * Well-formed replies for calls nobody made, naming the replicas: only the named replica can tell
 * (it waits for no such call), so each is counted there as a duplicate (when it read the record
 * itself) or unclaimed (when another replica handed it over through Redis, which it deletes).
 */
function repliesForNoCall (instanceIds: string[]): Message[] {
  return instanceIds.map(instance => withId(id(instance), '{"forged":"a reply to no call"}'))
}

/**
 * Reads the replies the worker writes and sends every DUPLICATE_EVERY-th one again, to the same
 * partition, as a worker that retried a send would. Resolves once it reads (the group has joined).
 */
async function duplicator (kafka: Kafka, producer: Producer, replyTopic: string, groupId: string): Promise<{ consumer: Consumer, sent: () => number }> {
  const consumer = kafka.consumer({ groupId, heartbeatInterval: 500 })
  let seen = 0
  let sent = 0
  await consumer.connect()
  await consumer.subscribe({ topic: replyTopic, fromBeginning: false })
  const joined = new Promise<void>(resolve => consumer.on(consumer.events.GROUP_JOIN, () => resolve()))
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const real = batch.messages.filter(m => m.headers?.kafka_correlationId?.toString().startsWith('api-') === true && m.value?.includes('"forged"') !== true)
      const copies = real.filter(() => ++seen % DUPLICATE_EVERY === 0)
      if (copies.length === 0) return
      await producer.send({ topic: replyTopic, messages: copies.map(m => ({ key: m.key, value: m.value, headers: m.headers, partition: batch.partition })) })
      sent += copies.length
    }
  })
  await joined
  return { consumer, sent: () => sent }
}

export const hostileRecords: Scenario = {
  name: 'hostile-records',
  description: `Hostile records (no or malformed ids, glob characters, unknown instances, invalid JSON, 10 MB values), replies to calls nobody made, and one in ${DUPLICATE_EVERY} real replies duplicated, written to the reply topic under load: counted and skipped, no effect on real calls.`,
  async fault (ctx) {
    const replyTopic = ctx.replyTopic
    const kafka = new Kafka({ brokers: ctx.kafkaBrokers, clientId: 'hostile', logLevel: logLevel.NOTHING })
    const admin = kafka.admin()
    const producer = kafka.producer()
    await Promise.all([admin.connect(), producer.connect()])
    let duplicates: Awaited<ReturnType<typeof duplicator>> | undefined
    try {
      duplicates = await duplicator(kafka, producer, replyTopic, `${ctx.keyPrefix}.duplicator`)
      // The broker refuses a 10 MB record by default; this topic takes it, so the consumer sees one.
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: replyTopic, configEntries: [{ name: 'max.message.bytes', value: String(TEN_MB + 1024 * 1024) }] }] })
      let malformed = 0
      let forLiveReplicas = 0
      while (ctx.now() + 2 * EVERY_MS <= ctx.durationMs) {
        await ctx.sleep(EVERY_MS)
        const records = malformedRecords()
        const noCall = repliesForNoCall(ctx.cluster.up.map(replica => replica.name))
        await producer.send({ topic: replyTopic, messages: [...records, ...noCall] })
        malformed += records.length
        forLiveReplicas += noCall.length
      }
      await duplicates.consumer.stop()
      ctx.mark(`${malformed} malformed records, ${forLiveReplicas} replies to no call and ${duplicates.sent()} duplicate replies sent`)
      ctx.note('hostileRecords', malformed)
      ctx.note('repliesToNoCall', forLiveReplicas)
      ctx.note('duplicateReplies', duplicates.sent())
      await ctx.sleep(EVERY_MS)
      const stats = await Promise.all(ctx.cluster.up.map(replica => ctx.cluster.stats(replica)))
      const total = (counter: string) => stats.reduce((sum, s) => sum + Number(s?.[counter] ?? 0), 0)
      ctx.note('malformedCounted', total('malformed'))
      ctx.note('duplicatesCounted', total('duplicates') + total('late') + total('unclaimed'))
    } finally {
      await Promise.allSettled([admin.disconnect(), producer.disconnect(), duplicates?.consumer.disconnect()])
    }
  },
  checks: ({ tally: t, notes }) => [
    { claim: `every hostile record counted as malformed (${notes.malformedCounted} of ${notes.hostileRecords})`, ok: Number(notes.hostileRecords) > 0 && notes.malformedCounted === notes.hostileRecords },
    {
      claim: `every duplicate reply and reply to no call counted as a duplicate, late or unclaimed (${notes.duplicatesCounted} of ${notes.duplicateReplies} + ${notes.repliesToNoCall})`,
      ok: Number(notes.duplicateReplies) > 0 && Number(notes.repliesToNoCall) > 0 && Number(notes.duplicatesCounted) >= Number(notes.duplicateReplies) + Number(notes.repliesToNoCall)
    },
    { claim: `every request answered 200 with its own quote (${t.answered} of ${t.requests})`, ok: t.requests > 0 && t.answered === t.requests }
  ]
}
