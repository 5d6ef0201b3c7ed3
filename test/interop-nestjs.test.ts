// Interop with real NestJS 12 peers (test/fixtures/nestjs-peer.mjs, one child process for the
// whole file): a Kafka microservice whose @MessagePattern handlers answer the plugin, and ClientKafka
// callers (awaited with lastValueFrom) served by the responder.
import t from 'tap'
import { fileURLToPath } from 'node:url'
import { ReplyError } from '../plugin/responder/index.js'
import { callEcho, twoInstances } from './helpers/interop.js'
import { freshTopics, startWorker } from './helpers/kafka-reply.js'
import { startLinePeer } from './helpers/line-peer.js'
import { createTopic, kafkaBrokers, uniqueName, within } from './helpers/stack.js'
import { waitFor } from './helpers/wait.js'

// One peer for the whole file: a Nest process and its consumer groups start slowly when the two cores are busy.
t.setTimeout(240_000)

const topics = {
  echo: uniqueName('nest-echo'),
  rpcText: uniqueName('nest-rpc-text'),
  rpcObject: uniqueName('nest-rpc-object'),
  plain: uniqueName('nest-plain')
}
// The callers' request topic, answered by a responder; Nest's callers read `<topic>.reply`. Two
// callers in one group each own one of its two partitions and name it in kafka_replyPartition
// (decimal), so a reply on the wrong partition would be lost.
const callerNames = await freshTopics(1)
// One after the other: a broker under load has refused to describe topics created all at once.
for (const topic of Object.values(topics)) await createTopic(topic, 1)
await createTopic(`${callerNames.requestTopic}.reply`, 2)
const config = {
  brokers: kafkaBrokers,
  replier: { groupId: uniqueName('nest-replier'), topics },
  callers: { topic: callerNames.requestTopic, groupId: uniqueName('nest-callers'), count: 2 }
}
const nest = await startLinePeer(t, 'NestJS peer', process.execPath, [fileURLToPath(new URL('./fixtures/nestjs-peer.mjs', import.meta.url)), JSON.stringify(config)])

t.test('NestJS replier, default options: every call answered (replies cross Redis where they land)', async t => {
  await callEcho(t, await twoInstances(t, topics.echo), 'NestJS', 'true (default)')
})

t.test("NestJS replier, affinity 'nestjs': every reply resolves in memory", async t => {
  const apps = await twoInstances(t, topics.echo, { affinity: 'nestjs' })
  t.equal(await callEcho(t, apps, 'NestJS', "'nestjs'"), 20, 'NestJS replied to the partition the decimal header named')
})

t.test('NestJS handler errors: an RpcException passes its message (and a 4xx statusCode); a plain error is a 502 without its message', async t => {
  const [app] = await twoInstances(t, topics.rpcText)
  const text = await app.inject({ method: 'POST', url: '/call?timeout=10000', payload: {} })
  t.equal(text.statusCode, 502)
  t.match(text.json(), { code: 'FST_KAFKA_REPLY_REMOTE_ERROR', message: 'The worker failed: no such order' })

  const [objectApp] = await twoInstances(t, topics.rpcObject)
  const object = await objectApp.inject({ method: 'POST', url: '/call?timeout=10000', payload: {} })
  t.equal(object.statusCode, 403, 'the statusCode of an RpcException object passes when it is a 4xx')
  t.match(object.json(), { code: 'FST_KAFKA_REPLY_REMOTE_ERROR', message: 'The worker failed: order 7 is not yours' })

  const [plainApp] = await twoInstances(t, topics.plain)
  const plain = await plainApp.inject({ method: 'POST', url: '/call?timeout=10000', payload: {} })
  t.equal(plain.statusCode, 502)
  t.match(plain.json(), { code: 'FST_KAFKA_REPLY_REMOTE_ERROR', message: 'The worker failed: Internal server error' })
  t.notMatch(plain.body, /database/, 'NestJS keeps a plain error\'s message to itself')
})

t.test('NestJS ClientKafka callers served by the responder: lastValueFrom completes, errors arrive as errors', async t => {
  const worker = await startWorker(t, callerNames, payload => {
    const { n, fail } = payload as { n: number, fail?: boolean }
    if (fail === true) throw new ReplyError(409, `no ${n}`, 'CONFLICT')
    return { n, by: 'responder' }
  })
  t.comment(`NestJS callers own reply partitions ${nest.readyLine}`)
  const count = 20
  const answers = await within(20_000, 'every NestJS call to complete', Promise.all(Array.from({ length: count }, (_, n) => nest.call(`${n % 2} ${JSON.stringify({ n })}`))))
  const answered = answers.filter((answer, n) => answer.kind === 'reply' && JSON.parse(answer.rest).n === n).length
  t.equal(answered, count, 'every call\'s observable emitted its own reply and completed')
  t.comment(`NestJS caller (ClientKafka, lastValueFrom): ${answered} of ${count} answered`)

  const failed = await within(10_000, 'the failed call to error', nest.call(`0 ${JSON.stringify({ n: 7, fail: true })}`))
  t.equal(failed.kind, 'error')
  t.same(JSON.parse(failed.rest), { message: 'no 7', code: 'CONFLICT', statusCode: 409 }, 'the observable errors with the responder\'s error')
  // The responder counts a reply once the broker acknowledged it, which the caller may not wait for.
  await waitFor('the responder to count every reply', () => worker.stats().replied + worker.stats().failed >= count + 1).catch(() => {})
  t.same(worker.stats(), { replied: count, failed: 1, expired: 0, malformed: 0, refused: 0, unsent: 0 })
})
