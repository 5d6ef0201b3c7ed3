import { randomUUID } from 'node:crypto'
import kafkajs, { Kafka, logLevel, type Message } from 'kafkajs'
import type { Scenario } from '../lib/types.js'

// Not a named export Node's ESM loader can see in kafkajs's CommonJS.
const { ConfigResourceTypes } = kafkajs
const EVERY_MS = 1000
const TEN_MB = 10 * 1024 * 1024

/**
 * Records no plugin wrote, sent to the reply topic by another client while the load runs: the
 * plugin must count and skip each, crash on none, and answer every real call with its own reply.
 */
function forgedRecords (): Message[] {
  const id = (instance: string) => `${instance}.${(Date.now() + 5000).toString(36)}.${randomUUID()}`
  const withId = (correlationId: string | Buffer, value: string | Buffer | null = '{}') => ({ headers: { kafka_correlationId: correlationId }, value })
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

export const hostileRecords: Scenario = {
  name: 'hostile-records',
  description: 'Hostile records (no or malformed ids, glob characters, unknown instances, invalid JSON, 10 MB values) written to the reply topic under load: counted and skipped, no effect on real calls.',
  async fault (ctx) {
    const replyTopic = `${ctx.keyPrefix}.quotes.replies`
    const kafka = new Kafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: 'hostile', logLevel: logLevel.NOTHING })
    const admin = kafka.admin()
    const producer = kafka.producer()
    await Promise.all([admin.connect(), producer.connect()])
    try {
      // The broker refuses a 10 MB record by default; this topic takes it, so the consumer sees one.
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: replyTopic, configEntries: [{ name: 'max.message.bytes', value: String(TEN_MB + 1024 * 1024) }] }] })
      let sent = 0
      while (ctx.now() + 2 * EVERY_MS <= ctx.durationMs) {
        await ctx.sleep(EVERY_MS)
        const records = forgedRecords()
        await producer.send({ topic: replyTopic, messages: records })
        sent += records.length
      }
      ctx.mark(`${sent} hostile records sent`)
      ctx.note('hostileRecords', sent)
      await ctx.sleep(EVERY_MS)
      const stats = await Promise.all(ctx.cluster.up.map(replica => ctx.cluster.stats(replica)))
      ctx.note('malformedCounted', stats.reduce((sum, s) => sum + Number(s?.malformed ?? 0), 0))
    } finally {
      await Promise.allSettled([admin.disconnect(), producer.disconnect()])
    }
  },
  checks: ({ tally: t, notes }) => [
    { claim: `every hostile record counted as malformed (${notes.malformedCounted} of ${notes.hostileRecords})`, ok: Number(notes.hostileRecords) > 0 && notes.malformedCounted === notes.hostileRecords },
    { claim: `every request answered 200 with its own quote (${t.answered} of ${t.requests})`, ok: t.requests > 0 && t.answered === t.requests }
  ]
}
