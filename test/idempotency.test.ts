// Calls with an idempotency key: a retry gets the outcome of the first call, never the work done twice.
import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify, { type FastifyInstance } from 'fastify'
import kafkaReply, { type KafkaReplyOptions } from '../plugin/index.js'
import { ReplyError, type RequestContext } from '../plugin/responder/index.js'
import { recordsUnder } from '../app/demo/keys.js'
import { freshTopics, instanceOptions, keysUnder, redisClient, startWorker, type Names } from './helpers/kafka-reply.js'
import { waitFor } from './helpers/wait.js'

interface Job { n: number, delay?: number, fail?: boolean }

/** A worker that counts how often it did each job, and what idempotency key it saw. */
function countingWorker () {
  const runs = new Map<number, number>()
  const keys: Array<string | undefined> = []
  const handler = async (payload: unknown, context: RequestContext) => {
    const job = payload as Job
    runs.set(job.n, (runs.get(job.n) ?? 0) + 1)
    keys.push(context.idempotencyKey)
    if (job.delay !== undefined) await sleep(job.delay)
    if (job.fail === true) throw new ReplyError(409, `job ${job.n} conflicts`, 'JOB_CONFLICT')
    return { n: job.n, run: runs.get(job.n) }
  }
  return { handler, runs, keys }
}

/**
 * An instance whose routes POST /call and POST /other map the `idempotency-key` header onto the
 * option and `x-user` onto the scope; `?timeout=` sets the deadline.
 */
async function keyedInstance (t: Test, names: Names, overrides: Partial<KafkaReplyOptions> = {}): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(kafkaReply, instanceOptions(names, overrides))
  const route = async (request: { body: unknown, headers: Record<string, unknown>, query: unknown }, reply: import('fastify').FastifyReply) => {
    const { timeout } = request.query as { timeout?: string }
    return await reply.awaitKafka(names.requestTopic, request.body, {
      timeout: timeout === undefined ? undefined : Number(timeout),
      idempotencyKey: request.headers['idempotency-key'] as string | undefined,
      idempotencyScope: request.headers['x-user'] as string | undefined
    })
  }
  app.post('/call', route)
  app.post('/other', route)
  t.teardown(() => app.close())
  await app.ready()
  return app
}

function post (app: FastifyInstance, payload: Job, key: string | undefined, { url = '/call', timeout = 5000, user }: { url?: string, timeout?: number, user?: string } = {}) {
  const headers: Record<string, string> = {}
  if (key !== undefined) headers['idempotency-key'] = key
  if (user !== undefined) headers['x-user'] = user
  return app.inject({ method: 'POST', url: `${url}?timeout=${timeout}`, payload, headers })
}

const sum = (apps: FastifyInstance[], counter: 'outcomesStored' | 'replayed' | 'inProgress' | 'keyReused' | 'sent') =>
  apps.reduce((total, app) => total + app.kafkaReply.stats()[counter], 0)

t.test('a retry after a 504 gets the late reply, replayed; the worker ran once; a retry in flight gets 409', async t => {
  const names = await freshTopics(1)
  const app = await keyedInstance(t, names)
  const worker = countingWorker()
  await startWorker(t, names, worker.handler)

  const first = await post(app, { n: 1, delay: 1200 }, 'order-1', { timeout: 300 })
  t.equal(first.statusCode, 504)

  const during = await post(app, { n: 1, delay: 1200 }, 'order-1', { timeout: 300 })
  t.equal(during.statusCode, 409)
  t.equal(during.json().code, 'FST_KAFKA_REPLY_IDEMPOTENCY_IN_PROGRESS')
  t.match(during.headers['retry-after'], /^[12]$/, 'Retry-After: until the first call\'s deadline plus replyGrace')
  t.equal(during.headers['idempotent-replayed'], undefined)

  await waitFor('the late reply to be stored as the outcome', () => app.kafkaReply.stats().outcomesStored === 1)
  const retry = await post(app, { n: 1, delay: 1200 }, 'order-1', { timeout: 300 })
  t.equal(retry.statusCode, 200)
  t.same(retry.json(), { n: 1, run: 1 }, 'the first call\'s reply')
  t.equal(retry.headers['idempotent-replayed'], 'true')
  t.equal(worker.runs.get(1), 1, 'the worker did the work once')
  t.match(app.kafkaReply.stats(), { sent: 1, replayed: 1, inProgress: 1, timeouts: 1 }, 'one request published')
  t.same(await keysUnder(redisClient(t), names.keyPrefix), [], 'no reply key left')
  t.equal((await recordsUnder(redisClient(t), names.keyPrefix)).length, 1, 'one idempotency record, kept for idempotencyTtl')
  t.match(worker.keys, [/^[A-Za-z0-9_-]{22}$/], 'the worker saw the key as the plugin scopes it')
})

t.test('on time: the caller gets the reply, a concurrent retry 409, a later retry the same reply; an error reply replays as the same error', async t => {
  const names = await freshTopics(1)
  const app = await keyedInstance(t, names)
  const worker = countingWorker()
  await startWorker(t, names, worker.handler)

  const first = post(app, { n: 2, delay: 400 }, 'k-2')
  await waitFor('the worker to start the job', () => worker.runs.get(2) === 1)
  const concurrent = await post(app, { n: 2, delay: 400 }, 'k-2')
  t.equal(concurrent.statusCode, 409)
  t.equal((await first).statusCode, 200)
  t.same((await first).json(), { n: 2, run: 1 })
  t.equal((await first).headers['idempotent-replayed'], undefined, 'the first answer is not a replay')
  const again = await post(app, { n: 2, delay: 400 }, 'k-2')
  t.same([again.statusCode, again.json(), again.headers['idempotent-replayed']], [200, { n: 2, run: 1 }, 'true'])

  const failed = await post(app, { n: 3, fail: true }, 'k-3')
  const replayed = await post(app, { n: 3, fail: true }, 'k-3')
  for (const res of [failed, replayed]) {
    t.equal(res.statusCode, 409)
    t.match(res.json(), { code: 'FST_KAFKA_REPLY_REMOTE_ERROR', message: 'The worker failed: job 3 conflicts' })
  }
  t.equal(replayed.headers['idempotent-replayed'], 'true', 'the worker\'s error, replayed')
  t.same([worker.runs.get(2), worker.runs.get(3)], [1, 1])
})

t.test('the same key with another payload: 422, nothing published; a bad key: 400', async t => {
  const names = await freshTopics(1)
  const app = await keyedInstance(t, names)
  const worker = countingWorker()
  await startWorker(t, names, worker.handler)

  t.equal((await post(app, { n: 4 }, 'k-4')).statusCode, 200)
  const reused = await post(app, { n: 5 }, 'k-4')
  t.equal(reused.statusCode, 422)
  t.equal(reused.json().code, 'FST_KAFKA_REPLY_IDEMPOTENCY_KEY_REUSED')
  for (const key of ['', 'x'.repeat(256), 'a b', 'ünïcode']) {
    const bad = await post(app, { n: 6 }, key)
    t.equal(bad.statusCode, 400, JSON.stringify(key.slice(0, 20)))
    t.equal(bad.json().code, 'FST_KAFKA_REPLY_INVALID_IDEMPOTENCY_KEY')
  }
  t.equal(worker.runs.get(5), undefined)
  t.equal(worker.runs.get(6), undefined)
  t.match(app.kafkaReply.stats(), { sent: 1, keyReused: 1 })
})

t.test('another route, another scope, or no key at all: another call', async t => {
  const names = await freshTopics(1)
  const app = await keyedInstance(t, names)
  const worker = countingWorker()
  await startWorker(t, names, worker.handler)

  const answers = [
    await post(app, { n: 7 }, 'shared', { user: 'alice' }),
    await post(app, { n: 7 }, 'shared', { user: 'bob' }),
    await post(app, { n: 7 }, 'shared', { user: 'alice', url: '/other' }),
    await post(app, { n: 7 }, undefined),
    await post(app, { n: 7 }, 'shared', { user: 'alice' })
  ]
  t.same(answers.map(res => res.json().run), [1, 2, 3, 4, 1], 'four calls, and the last replays the first')
  t.same(answers.map(res => res.headers['idempotent-replayed']), [undefined, undefined, undefined, undefined, 'true'])
  t.equal(new Set(worker.keys.slice(0, 3)).size, 3, 'each scope its own key at the worker')
  t.equal(worker.keys[3], undefined, 'a call without a key carries none')
})

t.test('the retry lands on another replica, with affinity on or off: replayed there', async t => {
  for (const affinity of [true, false]) {
    await t.test(`affinity ${String(affinity)}`, async t => {
      const names = await freshTopics(2)
      const apps = [await keyedInstance(t, names, { affinity }), await keyedInstance(t, names, { affinity })]
      const worker = countingWorker()
      await startWorker(t, names, worker.handler)

      for (let n = 0; n < 6; n++) {
        const [a, b] = n % 2 === 0 ? apps : [apps[1], apps[0]]
        t.equal((await post(a, { n, delay: 300 }, `r-${n}`, { timeout: 100 })).statusCode, 504)
        await waitFor('the outcome to be stored', () => sum(apps, 'outcomesStored') === n + 1)
        const retry = await post(b, { n, delay: 300 }, `r-${n}`, { timeout: 100 })
        t.same([retry.statusCode, retry.json(), retry.headers['idempotent-replayed']], [200, { n, run: 1 }, 'true'])
      }
      t.equal(sum(apps, 'sent'), 6, 'no retry published')
    })
  }
})

t.test('an abandoned call (no reply by its deadline plus grace): a retry publishes again', async t => {
  const names = await freshTopics(1)
  // A grace long enough that the retry right after the 504 is within it, however busy the machine.
  const app = await keyedInstance(t, names, { replyGrace: 1000 })

  t.equal((await post(app, { n: 8 }, 'k-8', { timeout: 200 })).statusCode, 504, 'no worker yet')
  t.equal((await post(app, { n: 8 }, 'k-8', { timeout: 200 })).statusCode, 409, 'within the deadline plus grace')
  await sleep(1100)
  const worker = countingWorker()
  // The first request is past its deadline: the worker skips it, and answers the retry.
  await startWorker(t, names, worker.handler)
  const retry = await post(app, { n: 8 }, 'k-8', { timeout: 5000 })
  t.same([retry.statusCode, retry.json(), retry.headers['idempotent-replayed']], [200, { n: 8, run: 1 }, undefined])
  t.equal(app.kafkaReply.stats().sent, 2)
})

t.test('outcomes expire after idempotencyTtl: a retry then publishes again', async t => {
  const names = await freshTopics(1)
  const app = await keyedInstance(t, names, { idempotencyTtl: 1000 })
  const worker = countingWorker()
  await startWorker(t, names, worker.handler)

  t.equal((await post(app, { n: 9 }, 'k-9')).json().run, 1)
  t.equal((await post(app, { n: 9 }, 'k-9')).headers['idempotent-replayed'], 'true')
  await waitFor('the record to expire', async () => (await recordsUnder(redisClient(t), names.keyPrefix)).length === 0, 5000)
  const after = await post(app, { n: 9 }, 'k-9')
  t.same([after.json().run, after.headers['idempotent-replayed']], [2, undefined])
})

t.test('KafkaReply.request takes the key too: scoped by topic and idempotencyScope', async t => {
  const names = await freshTopics(1)
  const app = await keyedInstance(t, names)
  const worker = countingWorker()
  await startWorker(t, names, worker.handler)
  const routes: string[] = []
  const call = () => app.kafkaReply.request(names.requestTopic, { n: 10 }, { idempotencyKey: 'k-10', idempotencyScope: 'tenant-1', onRoute: route => routes.push(route.path) })

  t.same(await call(), { n: 10, run: 1 })
  t.same(await call(), { n: 10, run: 1 })
  t.same(routes, ['memory', 'replayed'])
  // The route's scope differs from the plain call's: the HTTP call is another key.
  t.equal((await post(app, { n: 10 }, 'k-10', { user: 'tenant-1' })).json().run, 2)
  t.equal(worker.runs.get(10), 2)
})

t.test('a call that certainly published nothing releases its key at once: a retry proceeds', async t => {
  const names = await freshTopics(1)
  const app = await keyedInstance(t, names)
  const worker = countingWorker()
  await startWorker(t, names, worker.handler)
  const redis = redisClient(t)

  // Cancelled while its key was being recorded: never published.
  const controller = new AbortController()
  const cancelled = app.kafkaReply.request(names.requestTopic, { n: 11 }, { idempotencyKey: 'k-11', signal: controller.signal })
  controller.abort()
  await t.rejects(cancelled, { code: 'FST_KAFKA_REPLY_CANCELLED' })
  await waitFor('the record to be released', async () => (await recordsUnder(redis, names.keyPrefix)).length === 0)
  t.same(await app.kafkaReply.request(names.requestTopic, { n: 11 }, { idempotencyKey: 'k-11' }), { n: 11, run: 1 }, 'the retry is published and answered')

  // A topic that does not exist (the plugin does not create topics): the broker refused the record.
  const missing = `${names.requestTopic}-missing`
  const call = () => app.kafkaReply.request(missing, { n: 12 }, { idempotencyKey: 'k-12', timeout: 30_000 })
  await t.rejects(call(), { code: 'FST_KAFKA_REPLY_TOPIC_UNAVAILABLE' })
  await waitFor('the record to be released', async () => (await recordsUnder(redis, names.keyPrefix)).length === 1)
  await t.rejects(call(), { code: 'FST_KAFKA_REPLY_TOPIC_UNAVAILABLE' }, 'the retry is tried again, not refused with 409')

  // Refused before its key was recorded: too large, or a bad key.
  const large = { n: 13, pad: 'x'.repeat(1_000_001) }
  await t.rejects(app.kafkaReply.request(names.requestTopic, large, { idempotencyKey: 'k-13' }), { code: 'FST_KAFKA_REPLY_PAYLOAD_TOO_LARGE' })
  t.equal((await recordsUnder(redis, names.keyPrefix)).length, 1, 'only k-11\'s outcome is recorded')
  t.equal(app.kafkaReply.stats().inProgress, 0)
})
