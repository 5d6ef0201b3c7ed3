// The wire protocol with records that imitate Spring Kafka's and NestJS's: what the plugin sends
// for each `affinity`, how it takes a reply that is not JSON, and how the responder answers callers
// that are not this plugin. test/interop-*.test.ts do the same against the real frameworks.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import { HEADERS } from '../plugin/index.js'
import { replyPartition } from '../plugin/responder/request-headers.js'
import { ReplyError, type RequestContext } from '../plugin/responder/index.js'
import { freshTopics, keysUnder, redisClient, startInstance, startInstances, startWorker } from './helpers/kafka-reply.js'
import { rawProducer, rawReplier, readTopic } from './helpers/raw-kafka.js'
import { waitFor } from './helpers/wait.js'

const int32 = (n: number) => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b }

t.test('the responder reads its hint first, then kafka_replyPartition as a 4-byte int or as decimal text', async t => {
  t.equal(replyPartition({}), undefined)
  t.equal(replyPartition({ [HEADERS.replyPartition]: int32(2) }), 2, 'Spring: 4-byte big-endian int')
  t.equal(replyPartition({ [HEADERS.replyPartition]: int32(300) }), 300)
  t.equal(replyPartition({ [HEADERS.replyPartition]: Buffer.from('2') }), 2, 'NestJS: decimal text')
  t.equal(replyPartition({ [HEADERS.replyPartition]: Buffer.from('1234') }), 1234, 'four ASCII digits are text, not an int')
  t.equal(replyPartition({ [HEADERS.replyPartition]: int32(1), [HEADERS.replyPartitionHint]: Buffer.from('0') }), 0, 'the hint wins')
  t.equal(replyPartition({ [HEADERS.replyPartition]: int32(-1) }), undefined, 'a negative int is absent')
  t.equal(replyPartition({ [HEADERS.replyPartition]: Buffer.from('1.5') }), undefined, 'anything else is absent')
  t.equal(replyPartition({ [HEADERS.replyPartition]: Buffer.from([0, 1]) }), undefined)
})

t.test('affinity: the hint always, kafka_replyPartition only in the encoding named, nothing with false', async t => {
  const settings = [true, 'spring', 'nestjs', false] as const
  const seen = await Promise.all(settings.map(async affinity => {
    const names = await freshTopics(1)
    // Replies as a replier that knows no partition header would: anywhere, so the call resolves.
    const requests = await rawReplier(t, names.requestTopic, () => ({ value: '{"ok":true}' }))
    const app = await startInstance(t, names, { affinity })
    const res = await app.inject({ method: 'POST', url: '/call', payload: {} })
    t.equal(res.statusCode, 200, `affinity ${affinity}: answered`)
    return requests[0].message.headers ?? {}
  }))
  const [on, spring, nestjs, off] = seen
  t.equal(on[HEADERS.replyPartitionHint]?.toString(), '0', 'true: the hint, a decimal string')
  t.equal(on[HEADERS.replyPartition], undefined, 'true: no kafka_replyPartition, which Spring and NestJS read differently')
  t.equal(spring[HEADERS.replyPartitionHint]?.toString(), '0')
  t.same(spring[HEADERS.replyPartition], int32(0), "'spring': a 4-byte big-endian int")
  t.equal(nestjs[HEADERS.replyPartitionHint]?.toString(), '0')
  t.equal(nestjs[HEADERS.replyPartition]?.toString(), '0', "'nestjs': a decimal string")
  t.equal(off[HEADERS.replyPartitionHint], undefined, 'false: neither')
  t.equal(off[HEADERS.replyPartition], undefined)
  for (const headers of seen) t.match(headers[HEADERS.deadline]?.toString(), /^\d+$/, 'a deadline, epoch ms')
})

t.test('an unknown affinity value is refused at registration', async t => {
  const names = await freshTopics(1)
  await t.rejects(startInstance(t, names, { affinity: 'smallrye' as 'spring' }), { code: 'FST_KAFKA_REPLY_INVALID_OPTION', message: /affinity/ })
})

t.test('a reply that is not JSON settles its call at once with 502, in memory and through Redis', async t => {
  const names = await freshTopics(1)
  await rawReplier(t, names.requestTopic, () => ({ value: 'OK, done' }))
  // One reply partition: whichever instance owns it, the other's reply crosses Redis.
  const apps = await startInstances(t, names, 2)
  const responses = await Promise.all(apps.map(app => app.inject({ method: 'POST', url: '/call?timeout=30000', payload: {} })))
  for (const res of responses) {
    t.equal(res.statusCode, 502, 'not a 504 at the deadline')
    t.match(res.json(), { code: 'FST_KAFKA_REPLY_INVALID_REPLY', message: "The worker's reply is invalid: the reply is not JSON" })
    t.notMatch(res.body, /OK, done/, 'the reply text is not echoed to the HTTP caller')
  }
  const total = (key: 'invalidReplies' | 'resolvedLocal' | 'resolvedViaRedis' | 'malformed') => apps.reduce((sum, app) => sum + app.kafkaReply.stats()[key], 0)
  t.equal(total('invalidReplies'), 2)
  t.equal(total('resolvedLocal'), 1)
  t.equal(total('resolvedViaRedis'), 1)
  t.equal(total('malformed'), 0)
  t.same(await keysUnder(redisClient(t), names.keyPrefix), [])
})

/** A worker on requestTopic whose handler echoes the payload (or fails with a 422) and keeps the contexts it saw. */
async function echoWorker (t: Test, requestTopic: string, groupId: string, overrides = {}) {
  const contexts: RequestContext[] = []
  const worker = await startWorker(t, { requestTopic, groupId, replyTopic: '', keyPrefix: '' }, (payload, context) => {
    contexts.push(context)
    if ((payload as { fail?: boolean }).fail === true) throw new ReplyError(422, 'no such thing', 'NOT_FOUND')
    return payload
  }, overrides)
  return { worker, contexts }
}

t.test('the responder answers a Spring-like caller: binary correlation id echoed byte for byte, 4-byte reply partition', async t => {
  const names = await freshTopics(2)
  const replies = await readTopic(t, names.replyTopic)
  const { worker, contexts } = await echoWorker(t, names.requestTopic, names.groupId)
  // Spring's ReplyingKafkaTemplate: a UUID as 16 raw bytes (these are not valid UTF-8), no deadline.
  const id = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0xc3]), randomBytes(12)])
  const producer = await rawProducer(t)
  await producer.send({
    topic: names.requestTopic,
    messages: [{ value: '{"n":1}', headers: { [HEADERS.correlationId]: id, [HEADERS.replyTopic]: names.replyTopic, [HEADERS.replyPartition]: int32(1) } }]
  })
  await waitFor('the reply, counted by the responder', () => replies.length === 1 && worker.stats().replied === 1)
  const [{ partition, message }] = replies
  t.equal(partition, 1, 'on the partition the 4-byte header named')
  t.same(message.headers![HEADERS.correlationId], id, 'the id\'s bytes, unchanged')
  t.equal(message.value!.toString(), '{"n":1}')
  t.equal(message.headers![HEADERS.replyError], undefined)
  t.equal(contexts[0].correlationId, id.toString('hex'), 'the handler sees a binary id as hex')
  t.equal(worker.stats().replied, 1)
})

t.test('the responder answers a NestJS-like caller: decimal reply partition, replies marked disposed, errors in kafka_nest-err', async t => {
  const names = await freshTopics(2)
  const replies = await readTopic(t, names.replyTopic)
  const { contexts } = await echoWorker(t, names.requestTopic, names.groupId)
  const producer = await rawProducer(t)
  const headers = (id: string) => ({ [HEADERS.correlationId]: id, [HEADERS.replyTopic]: names.replyTopic, [HEADERS.replyPartition]: '1' })
  await producer.send({
    topic: names.requestTopic,
    messages: [{ value: '{"n":2}', headers: headers('nest-ok') }, { value: '{"fail":true}', headers: headers('nest-fail') }]
  })
  await waitFor('both replies', () => replies.length === 2)
  const byId = (id: string) => replies.find(r => r.message.headers![HEADERS.correlationId]!.toString() === id)!
  const ok = byId('nest-ok')
  t.equal(ok.partition, 1, 'on the partition the decimal header named')
  t.equal(ok.message.value!.toString(), '{"n":2}')
  t.ok(ok.message.headers![HEADERS.nestIsDisposed] !== undefined, 'marked disposed: a NestJS caller\'s observable completes')
  t.equal(contexts.find(c => c.correlationId === 'nest-ok')?.correlationId, 'nest-ok', 'a text id reaches the handler as text')

  const failed = byId('nest-fail')
  t.equal(failed.partition, 1)
  const error = { message: 'no such thing', code: 'NOT_FOUND', statusCode: 422 }
  t.same(JSON.parse(failed.message.headers![HEADERS.nestError]!.toString()), error, 'NestJS\'s error header')
  t.same(JSON.parse(failed.message.headers![HEADERS.replyError]!.toString()), error, 'and the project\'s own')
  t.equal(failed.message.value, null)
})

t.test('the responder: the hint before kafka_replyPartition; a partition the reply topic lacks counts as absent', async t => {
  const names = await freshTopics(2)
  const replies = await readTopic(t, names.replyTopic)
  const { worker } = await echoWorker(t, names.requestTopic, names.groupId)
  const producer = await rawProducer(t)
  const headers = (id: string, extra: Record<string, string | Buffer>) => ({ [HEADERS.correlationId]: id, [HEADERS.replyTopic]: names.replyTopic, ...extra })
  await producer.send({
    topic: names.requestTopic,
    messages: [
      { value: '{}', headers: headers('hinted', { [HEADERS.replyPartitionHint]: '0', [HEADERS.replyPartition]: int32(1) }) },
      { value: '{}', headers: headers('hint-too-high', { [HEADERS.replyPartitionHint]: '7' }) },
      { value: '{}', headers: headers('int-too-high', { [HEADERS.replyPartition]: int32(40) }) }
    ]
  })
  await waitFor('three replies, counted by the responder', () => replies.length === 3 && worker.stats().replied === 3)
  const partitionOf = (id: string) => replies.find(r => r.message.headers![HEADERS.correlationId]!.toString() === id)?.partition
  t.equal(partitionOf('hinted'), 0, 'the hint wins over kafka_replyPartition')
  t.ok([0, 1].includes(partitionOf('hint-too-high')!), 'a missing partition: replied elsewhere, not dropped')
  t.ok([0, 1].includes(partitionOf('int-too-high')!))
  t.equal(worker.stats().replied, 3)
})

t.test('the responder skips a request without a deadline older than maxRequestAge, by its record timestamp', async t => {
  const names = await freshTopics(1)
  const replies = await readTopic(t, names.replyTopic)
  const producer = await rawProducer(t)
  const old = String(Date.now() - 120_000)
  const headers = (id: string, extra: Record<string, string> = {}) => ({ [HEADERS.correlationId]: id, [HEADERS.replyTopic]: names.replyTopic, ...extra })
  // Written before the worker's group exists, as requests a new group finds at the start of the topic.
  await producer.send({
    topic: names.requestTopic,
    messages: [
      { value: '{}', timestamp: old, headers: headers('old') },
      { value: '{}', timestamp: old, headers: headers('old-with-deadline', { [HEADERS.deadline]: String(Date.now() + 60_000) }) },
      { value: '{}', headers: headers('fresh') }
    ]
  })
  const { worker } = await echoWorker(t, names.requestTopic, names.groupId, { maxRequestAge: 60_000 })
  await waitFor('two replies and one skipped request', () => replies.length === 2 && worker.stats().replied === 2 && worker.stats().expired === 1)
  t.same(replies.map(r => r.message.headers![HEADERS.correlationId]!.toString()).sort(), ['fresh', 'old-with-deadline'],
    'an old request is answered when its deadline says the caller still waits')
  t.same(worker.stats(), { replied: 2, failed: 0, expired: 1, malformed: 0, refused: 0, unsent: 0 })
})

t.test('createResponder refuses a maxRequestAge that is not a positive integer', async t => {
  await t.rejects(startWorker(t, { requestTopic: 'x', groupId: 'x', replyTopic: '', keyPrefix: '' }, () => null, { maxRequestAge: 0 }), /maxRequestAge/)
})
