import t from 'tap'
import { errors } from '../plugin/index.js'
import { freshTopics, startInstance, startWorker } from './helpers/kafka-reply.js'
import { waitFor } from './helpers/wait.js'

/** A deadline no call here should reach, on a loaded machine: these tests are about which calls fail, not when. */
const LONG = { timeout: 30_000 }

/** Over the stack broker's message.max.bytes (1 MB by default). */
const TWO_MB = 'x'.repeat(2 * 1024 * 1024)

interface Job { n: number, blob?: string, big?: boolean }

/** Echoes the job's number; `big` asks for a reply of 2 MB. */
function echo (seen: number[]) {
  return (payload: unknown) => {
    const job = payload as Job
    seen.push(job.n)
    return job.big === true ? { n: job.n, blob: TWO_MB } : { n: job.n }
  }
}

t.test('a payload over maxRequestBytes: 413 at once, never published; the calls beside it are answered', async t => {
  const names = await freshTopics(1)
  const app = await startInstance(t, names)
  const seen: number[] = []
  await startWorker(t, names, echo(seen))

  const calls = Array.from({ length: 20 }, (_, n) => app.kafkaReply.request(names.requestTopic, { n }, LONG))
  const big = app.kafkaReply.request(names.requestTopic, { n: -1, blob: TWO_MB })
  await t.rejects(big, { code: 'FST_KAFKA_REPLY_PAYLOAD_TOO_LARGE', statusCode: 413, message: /2097\d+ bytes, maxRequestBytes is 1000000/ })
  t.ok(await big.catch(err => err instanceof errors.PAYLOAD_TOO_LARGE), 'exported as errors.PAYLOAD_TOO_LARGE')
  t.same(await Promise.all(calls), Array.from({ length: 20 }, (_, n) => ({ n })))
  t.notOk(seen.includes(-1), 'the oversized request never reached the worker')
  t.equal(app.kafkaReply.stats().sent, 20)

  // Through awaitKafka the error is the HTTP answer.
  const small = await startInstance(t, names, { maxRequestBytes: 1000 })
  const res = await small.inject({ method: 'POST', url: '/call', payload: { n: -2, blob: 'x'.repeat(1000) } })
  t.equal(res.statusCode, 413)
  t.match(res.json(), { code: 'FST_KAFKA_REPLY_PAYLOAD_TOO_LARGE', message: 'The request payload is too large to publish: 1018 bytes, maxRequestBytes is 1000' })
  t.notOk(seen.includes(-2))
})

t.test('one record the broker refuses in a coalesced send fails alone: 50 callers beside it get their replies', async t => {
  // maxRequestBytes above the broker's limit: the 2 MB record reaches the broker and is refused there.
  const names = await freshTopics(1, 3)
  const app = await startInstance(t, names, { maxRequestBytes: 4 * 1024 * 1024 })
  const seen: number[] = []
  await startWorker(t, names, echo(seen))
  // The topic's first record goes out on its own (see BatchingProducer); then calls coalesce.
  t.same(await app.kafkaReply.request(names.requestTopic, { n: 1000 }, LONG), { n: 1000 })

  const calls = Array.from({ length: 50 }, (_, n) => app.kafkaReply.request(names.requestTopic, { n }, LONG))
  const big = app.kafkaReply.request(names.requestTopic, { n: -1, blob: TWO_MB }, LONG)
  const [bigOutcome, ...outcomes] = await Promise.allSettled([big, ...calls])
  t.match(bigOutcome, { status: 'rejected', reason: { code: 'FST_KAFKA_REPLY_PAYLOAD_TOO_LARGE', statusCode: 413, message: /broker refused it \(MESSAGE_TOO_LARGE\)/ } })
  t.same(outcomes.filter(o => o.status === 'rejected'), [], 'no other call failed')
  t.same(outcomes.map(o => o.status === 'fulfilled' ? o.value : undefined), Array.from({ length: 50 }, (_, n) => ({ n })))
  t.notOk(seen.includes(-1), 'the refused request never reached the worker')
})

t.test('a reply too large to send: that caller gets a 502 at once, the replies produced with it arrive', async t => {
  for (const [label, maxReplyBytes] of [['over maxReplyBytes', undefined], ['refused by the broker', 4 * 1024 * 1024]] as const) {
    await t.test(label, async t => {
      const names = await freshTopics(1)
      const app = await startInstance(t, names)
      const worker = await startWorker(t, names, echo([]), { maxReplyBytes })
      t.same(await app.kafkaReply.request(names.requestTopic, { n: 1000 }, LONG), { n: 1000 })

      const calls = Array.from({ length: 30 }, (_, n) => app.kafkaReply.request(names.requestTopic, { n, big: n === 7 }, LONG))
      const outcomes = await Promise.allSettled(calls)
      t.match(outcomes[7], { status: 'rejected', reason: { code: 'FST_KAFKA_REPLY_REMOTE_ERROR', statusCode: 502, remoteCode: 'REPLY_TOO_LARGE', message: /the reply is too large to send/ } })
      const others = outcomes.filter((_, n) => n !== 7)
      t.same(others.filter(o => o.status === 'rejected'), [], 'no other call failed')
      t.same(others.map(o => o.status === 'fulfilled' ? o.value : undefined), Array.from({ length: 30 }, (_, n) => ({ n })).filter(({ n }) => n !== 7))
      // The responder counts the failure once the broker acknowledged the error reply, which the
      // caller may already have consumed.
      await waitFor('the worker to count the failed reply', () => worker.stats().failed === 1).catch(() => {})
      t.match(worker.stats(), { failed: 1 })
    })
  }
})
