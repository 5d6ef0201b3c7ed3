// Accepted calls: past the deadline, 202 Accepted and a Location to fetch the late reply from, on any replica.
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type FastifyReply, type LightMyRequestResponse } from 'fastify'
import kafkaReply, { type KafkaReplyOptions } from '../plugin/index.js'
import { ReplyError } from '../plugin/responder/index.js'
import { recordsUnder } from '../app/demo/keys.js'
import { freshTopics, instanceOptions, keysUnder, redisClient, startWorker, type Names } from './helpers/kafka-reply.js'
import { gate, waitFor } from './helpers/wait.js'

interface Job { n: number, fail?: boolean }

/**
 * A worker that holds every job until the test lets it go (`release`), counting runs; a job with
 * `fail` is refused with the worker's own 409.
 */
function heldWorker () {
  const runs = new Map<number, number>()
  let held = gate()
  const handler = async (payload: unknown) => {
    const job = payload as Job
    runs.set(job.n, (runs.get(job.n) ?? 0) + 1)
    await held.promise
    if (job.fail === true) throw new ReplyError(409, `job ${job.n} conflicts`, 'JOB_CONFLICT')
    return { n: job.n, run: runs.get(job.n) }
  }
  return {
    handler,
    runs,
    release: () => {
      held.open()
      held = gate()
    }
  }
}

/**
 * An instance with the poll route under /async, scoped by the `x-user` header; its route POST
 * /call is accepted unless `?accepted=0`, takes `idempotency-key`, and `?timeout=` sets the deadline.
 */
async function acceptingInstance (t: Test, names: Names, overrides: Partial<KafkaReplyOptions> = {}): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(kafkaReply, instanceOptions(names, {
    accepted: true,
    acceptedPrefix: '/async',
    acceptedScope: request => request.headers['x-user'] as string | undefined,
    ...overrides
  }))
  app.post('/call', async (request, reply: FastifyReply) => {
    const { timeout, accepted } = request.query as { timeout?: string, accepted?: string }
    return await reply.awaitKafka(names.requestTopic, request.body, {
      timeout: timeout === undefined ? undefined : Number(timeout),
      accepted: accepted === undefined ? undefined : accepted === '1',
      idempotencyKey: request.headers['idempotency-key'] as string | undefined,
      idempotencyScope: request.headers['x-user'] as string | undefined
    })
  })
  t.teardown(() => app.close())
  await app.ready()
  return app
}

function post (app: FastifyInstance, job: Job, { timeout = 200, accepted, headers = {} }: { timeout?: number, accepted?: boolean, headers?: Record<string, string> } = {}) {
  const query = `timeout=${timeout}${accepted === undefined ? '' : `&accepted=${accepted ? 1 : 0}`}`
  return app.inject({ method: 'POST', url: `/call?${query}`, payload: job, headers })
}

function poll (app: FastifyInstance, location: string, user?: string) {
  return app.inject({ method: 'GET', url: location, headers: user === undefined ? {} : { 'x-user': user } })
}

function location (res: LightMyRequestResponse): string {
  return res.headers.location as string
}

t.test('past the deadline: 202 with Location and Retry-After; polled on the other replica, pending then the reply', async t => {
  for (const affinity of [true, false]) {
    await t.test(`affinity ${String(affinity)}`, async t => {
      const names = await freshTopics(2)
      const apps = [await acceptingInstance(t, names, { affinity }), await acceptingInstance(t, names, { affinity })]
      const worker = heldWorker()
      await startWorker(t, names, worker.handler)

      const first = await post(apps[0], { n: 1 })
      t.equal(first.statusCode, 202)
      t.match(location(first), /^\/async\/replies\/[A-Za-z0-9_-]{44}$/)
      t.equal(first.headers['retry-after'], '1')
      t.same(first.json(), { statusCode: 202, code: 'FST_KAFKA_REPLY_ACCEPTED', message: 'The reply is not ready yet: poll its location', location: location(first) })
      t.notOk(location(first).includes(apps[0].kafkaReply.instanceId), 'no instance id in the Location')

      const pending = await poll(apps[1], location(first))
      t.equal(pending.statusCode, 202, 'still pending, on the other replica')
      t.equal(pending.headers['retry-after'], '1')
      t.equal(pending.headers.location, undefined)

      worker.release()
      await waitFor('the late reply to be stored', () => apps[0].kafkaReply.stats().outcomesStored + apps[1].kafkaReply.stats().outcomesStored === 1)
      for (const app of apps) {
        const done = await poll(app, location(first))
        t.same([done.statusCode, done.json()], [200, { n: 1, run: 1 }], 'the worker\'s reply, on either replica')
        t.match(done.headers['content-type'], /^application\/json/)
      }
      t.equal(worker.runs.get(1), 1)
      t.match(apps[0].kafkaReply.stats(), { accepted: 1, timeouts: 0 })
      t.match(apps[1].kafkaReply.stats(), { polledPending: 1 })
      t.equal(apps[0].kafkaReply.stats().polledDone + apps[1].kafkaReply.stats().polledDone, 2)
      t.same(await keysUnder(redisClient(t), names.keyPrefix), [], 'no hand-over key left')
    })
  }
})

t.test('Prefer: respond-async: 202 at once with Preference-Applied; the reply fetched when done', async t => {
  const names = await freshTopics(1)
  const app = await acceptingInstance(t, names)
  const worker = heldWorker()
  await startWorker(t, names, worker.handler)

  const res = await post(app, { n: 2 }, { timeout: 30_000, headers: { prefer: 'return=minimal, respond-async' } })
  t.equal(res.statusCode, 202, 'without waiting for the 30 s deadline')
  t.equal(res.headers['preference-applied'], 'respond-async')
  await waitFor('the worker to take the job', () => worker.runs.get(2) === 1)
  t.equal((await poll(app, location(res))).statusCode, 202)
  worker.release()
  await waitFor('the reply to be fetched', async () => (await poll(app, location(res))).statusCode === 200)
  t.same((await poll(app, location(res))).json(), { n: 2, run: 1 })

  const answer = post(app, { n: 3 }, { accepted: false, timeout: 10_000, headers: { prefer: 'respond-async' } })
  await waitFor('the worker to take the job', () => worker.runs.get(3) === 1)
  worker.release()
  const plain = await answer

  const waited = await post(app, { n: 12 }, { timeout: 30_000, headers: { prefer: 'respond-async; foo=bar, wait=1' } })
  t.same([waited.statusCode, waited.headers['preference-applied']], [202, 'respond-async'], 'with wait=1: the 202 after a second, not the 30 s deadline')
  t.ok(app.kafkaReply.stats().accepted >= 2)
  worker.release()
  t.equal(plain.statusCode, 200, 'a route that does not allow accepted ignores the preference')
  t.equal(plain.headers['preference-applied'], undefined)
})

t.test('a worker error is fetched as its mapped status; a foreign scope and an unknown id get 404', async t => {
  const names = await freshTopics(1)
  const app = await acceptingInstance(t, names)
  const worker = heldWorker()
  await startWorker(t, names, worker.handler)

  const res = await post(app, { n: 4, fail: true }, { headers: { 'x-user': 'alice' } })
  t.equal(res.statusCode, 202)
  t.equal((await poll(app, location(res), 'bob')).statusCode, 404, 'another scope, while pending')
  worker.release()
  await waitFor('the error to be stored', () => app.kafkaReply.stats().outcomesStored === 1)
  const failed = await poll(app, location(res), 'alice')
  t.equal(failed.statusCode, 409, 'the worker\'s 4xx')
  t.match(failed.json(), { code: 'FST_KAFKA_REPLY_REMOTE_ERROR', message: 'The worker failed: job 4 conflicts' })
  for (const [url, user] of [[location(res), 'bob'], [location(res), undefined], [`${location(res).slice(0, -1)}${location(res).endsWith('A') ? 'B' : 'A'}`, 'alice'], ['/async/replies/nope', 'alice']] as const) {
    const unknown = await poll(app, url, user)
    t.equal(unknown.statusCode, 404, `${url.slice(-6)} as ${String(user)}`)
    t.equal(unknown.json().code, 'FST_KAFKA_REPLY_UNKNOWN_REPLY')
  }
  t.match(app.kafkaReply.stats(), { polledUnknown: 5, polledDone: 1 })
})

t.test('a reply is kept acceptedTtl from the call: then 404, whether a reply came or not', async t => {
  const names = await freshTopics(1)
  // Long enough that the poll of n 6 comes before it on a busy machine, short enough to wait out.
  const app = await acceptingInstance(t, names, { acceptedTtl: 4000 })
  const worker = heldWorker()
  await startWorker(t, names, worker.handler)
  const redis = redisClient(t)

  const never = await post(app, { n: 5 })
  const answered = await post(app, { n: 6 })
  t.same([never.statusCode, answered.statusCode], [202, 202])
  await waitFor('the worker to take both', () => worker.runs.size === 2)
  worker.release() // both answer: n 5 is not polled, n 6 is
  await waitFor('both replies stored', () => app.kafkaReply.stats().outcomesStored === 2)
  t.equal((await poll(app, location(answered))).statusCode, 200)
  await waitFor('the records to expire', async () => (await recordsUnder(redis, names.keyPrefix)).length === 0, 15_000)
  for (const res of [never, answered]) t.equal((await poll(app, location(res))).statusCode, 404)
})

t.test('a call without accepted still gets its 504; an accepted call answered in time leaves no record', async t => {
  const names = await freshTopics(1)
  const app = await acceptingInstance(t, names)
  const worker = heldWorker()
  await startWorker(t, names, worker.handler)

  const timedOut = await post(app, { n: 7 }, { accepted: false })
  t.equal(timedOut.statusCode, 504)
  t.equal(timedOut.headers.location, undefined)
  worker.release()

  const quick = post(app, { n: 8 }, { timeout: 10_000 })
  await waitFor('the worker to take the job', () => worker.runs.get(8) === 1)
  worker.release()
  t.same([(await quick).statusCode, (await quick).json()], [200, { n: 8, run: 1 }])
  await waitFor('the record to be deleted', async () => (await recordsUnder(redisClient(t), names.keyPrefix)).length === 0)
  t.match(app.kafkaReply.stats(), { timeouts: 1, accepted: 0 })
})

t.test('with an Idempotency-Key: a retry while pending gets the same Location, once done the stored reply', async t => {
  const names = await freshTopics(2)
  const apps = [await acceptingInstance(t, names), await acceptingInstance(t, names)]
  const worker = heldWorker()
  await startWorker(t, names, worker.handler)
  const headers = { 'idempotency-key': 'order-9', 'x-user': 'alice' }

  const first = await post(apps[0], { n: 9 }, { headers })
  t.equal(first.statusCode, 202)
  const retry = await post(apps[1], { n: 9 }, { headers })
  t.same([retry.statusCode, location(retry)], [202, location(first)], 'the same 202, the same Location, on the other replica')
  const notAccepted = await post(apps[1], { n: 9 }, { headers, accepted: false })
  t.equal(notAccepted.statusCode, 409, 'a retry on a route without accepted: 409 as before')
  t.equal((await poll(apps[1], location(first), 'alice')).statusCode, 202)

  worker.release()
  await waitFor('the reply to be stored', () => apps[0].kafkaReply.stats().outcomesStored + apps[1].kafkaReply.stats().outcomesStored === 1)
  const replayed = await post(apps[0], { n: 9 }, { headers })
  t.same([replayed.statusCode, replayed.json(), replayed.headers['idempotent-replayed']], [200, { n: 9, run: 1 }, 'true'])
  t.same((await poll(apps[1], location(first), 'alice')).json(), { n: 9, run: 1 })
  t.equal(worker.runs.get(9), 1, 'published once')
  t.equal(apps[0].kafkaReply.stats().sent + apps[1].kafkaReply.stats().sent, 1)
})

t.test('a replica that closes answers its accepted calls 202; the reply is stored by the other one and polled there', async t => {
  const names = await freshTopics(2)
  const apps = [await acceptingInstance(t, names), await acceptingInstance(t, names)]
  const worker = heldWorker()
  await startWorker(t, names, worker.handler)

  const answer = post(apps[0], { n: 13 }, { timeout: 30_000 })
  await waitFor('the worker to take the job', () => worker.runs.get(13) === 1)
  const closed = apps[0].close()
  const res = await answer
  t.same([res.statusCode, res.headers.connection], [202, 'close'], 'not a 503: the reply will be stored')
  await closed
  worker.release()
  await waitFor('the reply, on the replica left', async () => (await poll(apps[1], location(res))).statusCode === 200, 30_000)
  t.same((await poll(apps[1], location(res))).json(), { n: 13, run: 1 })
})

t.test('an accepted call without a key whose caller went away leaves no record', async t => {
  const names = await freshTopics(1)
  const app = await acceptingInstance(t, names)
  const worker = heldWorker()
  await startWorker(t, names, worker.handler)
  const redis = redisClient(t)

  const controller = new AbortController()
  const call = app.kafkaReply.request(names.requestTopic, { n: 14 }, { accepted: true, timeout: 30_000, signal: controller.signal })
  await waitFor('the worker to take the job', () => worker.runs.get(14) === 1)
  t.equal((await recordsUnder(redis, names.keyPrefix)).length, 1)
  controller.abort()
  await t.rejects(call, { code: 'FST_KAFKA_REPLY_CANCELLED' })
  await waitFor('the record to be deleted', async () => (await recordsUnder(redis, names.keyPrefix)).length === 0)
  worker.release()
})

t.test('KafkaReply.request takes accepted too: it rejects with FST_KAFKA_REPLY_ACCEPTED and poll() fetches the reply', async t => {
  const names = await freshTopics(1)
  const app = await acceptingInstance(t, names)
  const worker = heldWorker()
  await startWorker(t, names, worker.handler)

  const err = await app.kafkaReply.request(names.requestTopic, { n: 10 }, { accepted: true, timeout: 200, idempotencyScope: 'tenant' }).catch((err: Error) => err) as Error & { statusCode: number, replyId: string }
  t.match(err, { code: 'FST_KAFKA_REPLY_ACCEPTED', statusCode: 202, replyId: /^[A-Za-z0-9_-]{44}$/, retryAfter: 1 })
  await t.rejects(app.kafkaReply.poll(err.replyId, 'tenant'), { code: 'FST_KAFKA_REPLY_ACCEPTED' })
  worker.release()
  await waitFor('the reply', async () => (await app.kafkaReply.poll(err.replyId, 'tenant').catch(() => undefined)) !== undefined)
  t.same(await app.kafkaReply.poll(err.replyId, 'tenant'), { n: 10, run: 1 })
  await t.rejects(app.kafkaReply.poll(err.replyId), { code: 'FST_KAFKA_REPLY_UNKNOWN_REPLY', statusCode: 404 })
})

t.test('an accepted call on an instance without the poll route is refused; the route is not there', async t => {
  const names = await freshTopics(1)
  const app = await acceptingInstance(t, names, { accepted: false, acceptedPrefix: undefined })
  const res = await post(app, { n: 11 }, { accepted: true })
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'FST_KAFKA_REPLY_INVALID_CALL')
  t.equal((await poll(app, '/kafka-reply/replies/x')).statusCode, 404)
  t.equal((await post(app, { n: 11 })).statusCode, 504, 'the default is off')
})

t.test('an accepted call that would wait longer than its reply is kept is refused', async t => {
  const names = await freshTopics(1)
  const app = await acceptingInstance(t, names, { acceptedTtl: 2000 })
  const res = await post(app, { n: 15 }, { timeout: 1500 })
  t.equal(res.statusCode, 500)
  t.match(res.json(), { code: 'FST_KAFKA_REPLY_INVALID_CALL', message: /acceptedTtl \(2000 ms\)/ })
  t.equal(app.kafkaReply.stats().sent, 0)
})
