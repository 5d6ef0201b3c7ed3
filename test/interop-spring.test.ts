// Interop with a real Spring Kafka 3.3 peer (test/interop/spring/, one JVM for the whole file):
// its @KafkaListener + @SendTo repliers answering the plugin, and its ReplyingKafkaTemplate callers
// served by the responder.
import t from 'tap'
import { ReplyError } from '../plugin/responder/index.js'
import { callEcho, twoInstances } from './helpers/interop.js'
import { freshTopics, startWorker } from './helpers/kafka-reply.js'
import { startSpringPeer, type SpringResult } from './helpers/spring-peer.js'
import { createTopic, uniqueName } from './helpers/stack.js'
import { waitFor } from './helpers/wait.js'

// One peer for the whole file: the JVM starts in a few seconds on an idle machine, far slower when the two cores are busy.
t.setTimeout(300_000)

const topics = {
  group: uniqueName('spring'),
  echoTopic: uniqueName('spring-echo'),
  failTopic: uniqueName('spring-fail'),
  handledTopic: uniqueName('spring-handled'),
  textTopic: uniqueName('spring-text'),
  callerReplyTopic: uniqueName('spring-replies'),
  pinnedReplyTopic: uniqueName('spring-pinned-replies')
}
// One after the other: a broker under load has refused to describe topics created all at once.
for (const topic of [topics.echoTopic, topics.failTopic, topics.handledTopic, topics.textTopic]) await createTopic(topic, 1)
await createTopic(topics.callerReplyTopic, 2)
await createTopic(topics.pinnedReplyTopic, 2)
const spring = await startSpringPeer(t, topics)

t.test('Spring replier, default options: every call answered (replies cross Redis where they land)', async t => {
  const apps = await twoInstances(t, topics.echoTopic)
  await callEcho(t, apps, 'Spring', 'true (default)')
})

t.test("Spring replier, affinity 'spring': every reply resolves in memory", async t => {
  const apps = await twoInstances(t, topics.echoTopic, { affinity: 'spring' })
  t.equal(await callEcho(t, apps, 'Spring', "'spring'"), 20, 'Spring replied to the partition the 4-byte header named')
})

t.test("Spring replier, affinity 'nestjs' (the wrong encoding for Spring): no reply, 504", async t => {
  const apps = await twoInstances(t, topics.echoTopic, { affinity: 'nestjs' })
  const res = await apps[0].inject({ method: 'POST', url: '/call?timeout=1500', payload: { n: 1 } })
  t.equal(res.statusCode, 504, 'Spring cannot read a decimal kafka_replyPartition and sends nothing')
})

t.test('Spring listener that throws: 504 with Spring\'s defaults; 422 with a KafkaListenerErrorHandler that sends kafka_replyError', async t => {
  const [unhandled] = await twoInstances(t, topics.failTopic)
  const res = await unhandled.inject({ method: 'POST', url: '/call?timeout=1500', payload: { n: 1 } })
  t.equal(res.statusCode, 504, 'Spring sends no reply when the listener throws')

  const [handled] = await twoInstances(t, topics.handledTopic)
  const failed = await handled.inject({ method: 'POST', url: '/call?timeout=10000', payload: { n: 1 } })
  t.equal(failed.statusCode, 422)
  t.match(failed.json(), { code: 'FST_KAFKA_REPLY_REMOTE_ERROR', message: 'The worker failed: the Spring listener failed' })
})

t.test('Spring replier that answers text, not JSON: 502 at once', async t => {
  const apps = await twoInstances(t, topics.textTopic)
  const res = await apps[0].inject({ method: 'POST', url: '/call?timeout=10000', payload: { n: 1 } })
  t.equal(res.statusCode, 502)
  t.match(res.json(), { code: 'FST_KAFKA_REPLY_INVALID_REPLY' })
})

t.test('Spring ReplyingKafkaTemplate callers served by the responder: binary ids echoed, the 4-byte reply partition honoured, errors raised', async t => {
  const names = await freshTopics(1)
  const worker = await startWorker(t, names, payload => {
    const { n, fail } = payload as { n: number, fail?: boolean }
    if (fail === true) throw new ReplyError(409, `no ${n}`, 'CONFLICT')
    return { n, by: 'responder' }
  })
  const count = 20
  const results = await Promise.all(Array.from({ length: count }, (_, n) => spring.call(n % 2 === 0 ? 'group' : 'pinned', names.requestTopic, { n })))
  const answered = results.filter((result, n) => 'reply' in result && JSON.parse(result.reply).n === n).length
  t.equal(answered, count, 'every Spring call got its own reply')
  t.ok(results.every((result, n) => n % 2 === 0 || (result as { partition: number }).partition === 1), 'the pinned caller\'s replies came on its partition')
  t.comment(`Spring caller (ReplyingKafkaTemplate, binary correlation ids): ${answered} of ${count} answered`)

  const failed: SpringResult = await spring.call('group', names.requestTopic, { n: 7, fail: true })
  t.ok('error' in failed, 'a failed handler completes the Spring call exceptionally (with a reply error checker)')
  t.match('error' in failed ? failed.error : '', /"message":"no 7".*"statusCode":409/)
  // The responder counts a reply once the broker acknowledged it, which the caller may not wait for.
  await waitFor('the responder to count every reply', () => worker.stats().replied + worker.stats().failed >= count + 1).catch(() => {})
  t.same(worker.stats(), { replied: count, failed: 1, expired: 0, malformed: 0, refused: 0, unsent: 0 })
})
