import t from 'tap'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { build } from '../app/app.js'
import { loadConfig } from '../app/config.js'
import { ROUTE_HEADERS } from '../app/routes/quotes.js'
import { idempotencyKeyOf } from '../app/routes/idempotency-key.js'
import { loadWorkerConfig } from '../worker/config.js'
import type { Quote } from '../worker/contract.js'
import { Deduplicator } from '../worker/dedupe.js'
import { createLogger } from '../worker/log.js'
import { pricing } from '../worker/pricing.js'
import { startWorker } from '../worker/worker.js'
import type { RequestContext } from '../plugin/responder/index.js'
import { freshTopics } from './helpers/kafka-reply.js'
import { kafkaBrokers, redisUrl } from './helpers/stack.js'
import { gate, waitFor } from './helpers/wait.js'

const TIMEOUT_MS = 800

// One API instance and one worker for the whole file: each start costs a group join.
const names = await freshTopics(1)
// What the worker logs at debug, one JSON object per line: it names each quote priced for an idempotency key.
const workerLines: Array<Record<string, unknown>> = []
const worker = await startWorker({
  ...loadWorkerConfig({}),
  kafkaBrokers,
  requestTopic: names.requestTopic,
  groupId: `${names.groupId}-worker`,
  replyTopics: [names.replyTopic],
  workerId: 'pricing-test',
  workMs: 0,
  slowMs: TIMEOUT_MS * 2,
  heartbeatMs: 500
}, createLogger('debug', {}, line => { workerLines.push(JSON.parse(line) as Record<string, unknown>) }))
t.teardown(() => worker.close())
// What the app logs, one JSON object per line.
const logLines: Array<Record<string, unknown>> = []
const logStream = new Writable({
  write (chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line) as Record<string, unknown>)
    done()
  }
})
const app = build({
  ...loadConfig({}),
  kafkaBrokers,
  redisUrl,
  requestTopic: names.requestTopic,
  replyTopic: names.replyTopic,
  replyPartitions: 1,
  groupId: names.groupId,
  keyPrefix: names.keyPrefix,
  timeoutMs: TIMEOUT_MS,
  heartbeatMs: 500,
  logger: { level: 'warn', stream: logStream }
})
t.teardown(() => app.close())
await app.ready()

const quote = (body: unknown, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: '/quotes', payload: body as Record<string, unknown>, headers })
/** The worker's debug lines for the quote with this id: one per time it was priced. */
const pricings = (quoteId: unknown) => workerLines.filter(line => line.quoteId === quoteId && line.msg === 'quote priced for an idempotency key')

t.test('the configuration defaults to the local stack; a bad variable is named', async t => {
  t.match(loadConfig({}), { port: 3000, kafkaBrokers: ['127.0.0.1:9092'], redisUrl: 'redis://127.0.0.1:6379', timeoutMs: 5000 })
  t.same(loadConfig({ KAFKA_BROKERS: 'a:1, b:2', PORT: '8080' }).kafkaBrokers, ['a:1', 'b:2'])
  t.throws(() => loadConfig({ REPLY_TIMEOUT_MS: 'soon' }), /Invalid environment variable REPLY_TIMEOUT_MS="soon"/)
  t.throws(() => loadWorkerConfig({ WORK_MS: '-1' }), /Invalid environment variable WORK_MS/)
  t.same(loadWorkerConfig({ REPLY_TOPICS: 'quotes.replies, other.replies' }).replyTopics, ['quotes.replies', 'other.replies'])
  t.equal(loadWorkerConfig({}).replyTopics, undefined, 'unset: any reply topic')
})

t.test('POST /quotes answers with the worker\'s quote and tells how the reply came back', async t => {
  const res = await quote({ sku: 'KB-101', quantity: 12, customerId: 'cust-42' })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { sku: 'KB-101', quantity: 12, customerId: 'cust-42', unitPriceCents: 8900, discountPercent: 5, totalCents: 101_460, currency: 'EUR', pricedBy: 'pricing-test' })
  const { instanceId } = app.kafkaReply
  t.equal(res.headers[ROUTE_HEADERS.instance], instanceId)
  t.equal(res.headers[ROUTE_HEADERS.consumedBy], instanceId, 'the only replica consumed its own reply')
  t.equal(res.headers[ROUTE_HEADERS.path], 'memory')
})

t.test('a body that violates the schema is a 400 and nothing reaches Kafka', async t => {
  const sent = app.kafkaReply.stats().sent
  // The worker counts a reply once the broker acknowledged it, which the caller may not wait for:
  // let it count the earlier tests' replies first.
  const counted = () => worker.stats().replied + worker.stats().failed
  await waitFor('the worker to count the earlier replies', () => counted() >= sent).catch(() => {})
  const handled = counted()
  const invalid = [
    { quantity: 1, customerId: 'cust-42' },
    { sku: 'kb-101', quantity: 1, customerId: 'cust-42' },
    { sku: 'KB-101', quantity: 0, customerId: 'cust-42' },
    { sku: 'KB-101', quantity: 'many', customerId: 'cust-42' },
    { sku: 'KB-101', quantity: 1, customerId: 'has space' },
    { sku: 'KB-101', quantity: 1, customerId: 'cust-42', unitPriceCents: 1 }
  ]
  for (const body of invalid) {
    const res = await quote(body)
    t.equal(res.statusCode, 400, JSON.stringify(body))
    t.equal(res.json().code, 'FST_ERR_VALIDATION')
  }
  const notJson = await app.inject({ method: 'POST', url: '/quotes', headers: { 'content-type': 'application/json' }, payload: '{"sku":' })
  t.equal(notJson.statusCode, 400)
  t.equal(notJson.json().code, 'FST_ERR_CTP_INVALID_JSON_BODY')
  const xml = await app.inject({ method: 'POST', url: '/quotes', headers: { 'content-type': 'application/xml' }, payload: '<quote/>' })
  t.equal(xml.statusCode, 415)
  t.equal(xml.json().code, 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
  const huge = await app.inject({ method: 'POST', url: '/quotes', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ sku: 'KB-101', quantity: 1, customerId: 'x'.repeat(2 * 1024 * 1024) }) })
  t.equal(huge.statusCode, 413, 'beyond the 1 MiB body limit')
  t.equal(huge.json().code, 'FST_ERR_CTP_BODY_TOO_LARGE')

  // A valid call afterwards: had any refused one been published, it would have gone out first.
  t.equal((await quote({ sku: 'MS-202', quantity: 1, customerId: 'cust-42' })).statusCode, 200)
  t.equal(app.kafkaReply.stats().sent, sent + 1, 'only the valid request was published')
  await waitFor('the worker to count its reply', () => counted() >= handled + 1).catch(() => {})
  t.equal(counted(), handled + 1, 'the worker received only the valid request')
})

t.test('the worker\'s refusals pass through with their status and code', async t => {
  const unknown = await quote({ sku: 'XX-999', quantity: 1, customerId: 'cust-42' })
  t.equal(unknown.statusCode, 422)
  t.match(unknown.json(), { statusCode: 422, code: 'FST_KAFKA_REPLY_REMOTE_ERROR', remoteCode: 'UNKNOWN_SKU', message: 'The worker failed: unknown sku XX-999' })
  const tooMany = await quote({ sku: 'MN-303', quantity: 41, customerId: 'cust-42' })
  t.equal(tooMany.statusCode, 422)
  t.match(tooMany.json(), { remoteCode: 'INSUFFICIENT_STOCK', message: /only 40 of MN-303 in stock/ })
})

t.test('a worker that fails is a 502 naming the correlation id, without its message or stack', async t => {
  const res = await quote({ sku: 'CRASH', quantity: 1, customerId: 'cust-42' })
  t.equal(res.statusCode, 502)
  t.match(res.json(), { code: 'FST_KAFKA_REPLY_REMOTE_ERROR', remoteCode: 'WORKER_ERROR', message: /^The worker failed: internal error \(correlation id [^)]+\)$/ })
  t.notMatch(res.body, /pricing engine crashed/, 'the worker\'s own error stays in its log')
  t.notMatch(res.body, /at .*:\d+:\d+/)
  t.equal(res.headers[ROUTE_HEADERS.path], 'memory', 'an error reply travels like any reply')
})

t.test('a worker slower than the deadline is a 504, logged as one warn line without a stack', async t => {
  const started = Date.now()
  const res = await quote({ sku: 'SLOW', quantity: 1, customerId: 'cust-42' })
  t.equal(res.statusCode, 504)
  t.same(res.json(), { statusCode: 504, code: 'FST_KAFKA_REPLY_TIMEOUT', error: 'Gateway Timeout', message: `No reply within ${TIMEOUT_MS} ms` })
  const logged = logLines.filter(line => line.code === 'FST_KAFKA_REPLY_TIMEOUT')
  t.equal(logged.length, 1)
  t.match(logged[0], { level: 40, msg: `No reply within ${TIMEOUT_MS} ms` })
  t.notOk('err' in logged[0], 'no error object, so no stack, in the log line')
  t.ok(Date.now() - started >= TIMEOUT_MS, 'not before the deadline')
  t.notOk(res.headers[ROUTE_HEADERS.path], 'no reply, no route')
  // A timer may fire a millisecond before the wall clock says the deadline came.
  t.match(res.headers['server-timing'], /^timer;dur=-?\d+, answer;dur=\d+$/, 'how late the deadline timer fired, and how long the answer took then')
})

t.test('Idempotency-Key: a retry after a 504 gets the late quote, replayed, and the worker priced it once', async t => {
  const body = { sku: 'SLOW', quantity: 1, customerId: 'cust-retry' }
  const key = { 'idempotency-key': 'retry-after-504' }
  const before = app.kafkaReply.stats()
  const first = await quote(body, key)
  t.equal(first.statusCode, 504)
  t.equal(first.json().code, 'FST_KAFKA_REPLY_TIMEOUT')

  // The worker is still pricing: the retry is told when to come back, and nothing is published.
  const during = await quote(body, key)
  t.equal(during.statusCode, 409)
  t.same(during.json(), { statusCode: 409, code: 'FST_KAFKA_REPLY_IDEMPOTENCY_IN_PROGRESS', error: 'Conflict', message: 'A request with this idempotency key is in progress' })
  t.match(during.headers['retry-after'], /^[12]$/, 'until the first call\'s deadline plus grace')

  await waitFor('the late quote to be stored', () => app.kafkaReply.stats().outcomesStored > before.outcomesStored, 5000)
  const retry = await quote(body, key)
  t.equal(retry.statusCode, 200)
  t.equal(retry.headers['idempotent-replayed'], 'true')
  t.equal(retry.headers[ROUTE_HEADERS.path], 'replayed')
  t.match(retry.json(), { sku: 'SLOW', customerId: 'cust-retry', pricedBy: 'pricing-test' })
  t.equal(pricings(retry.json().quoteId).length, 1, 'the quote the worker priced after the deadline, priced once')
  const again = await quote(body, key)
  t.equal(again.json().quoteId, retry.json().quoteId, 'every retry gets the same quote')
  const after = app.kafkaReply.stats()
  t.equal(after.sent, before.sent + 1, 'only the first call was published')
  t.match(after, { inProgress: before.inProgress + 1, replayed: before.replayed + 2 })
})

t.test('Idempotency-Key: a retry while the first call waits is a 409 with Retry-After, on its own', async t => {
  const body = { sku: 'SLOW', quantity: 2, customerId: 'cust-concurrent' }
  const key = { 'idempotency-key': 'concurrent-1' }
  const sent = app.kafkaReply.stats().sent
  const first = quote(body, key)
  await waitFor('the first call to be published', () => app.kafkaReply.stats().sent > sent)
  const retry = await quote(body, key)
  t.equal(retry.statusCode, 409)
  t.equal(retry.json().code, 'FST_KAFKA_REPLY_IDEMPOTENCY_IN_PROGRESS')
  // 2 when the retry came within 800 ms of the first call, 1 on a machine busy enough to delay it.
  t.match(retry.headers['retry-after'], /^[12]$/, `until the first call's ${TIMEOUT_MS} ms deadline plus 1000 ms grace, rounded up`)
  t.notOk(retry.headers['idempotent-replayed'])
  t.equal((await first).statusCode, 504, 'the first call still waits for its own deadline')
  t.equal(app.kafkaReply.stats().sent, sent + 1, 'the retry published nothing')
})

t.test('Prefer: respond-async: a slow quote is accepted (202, Location), polled by its customer while pending, fetched when done', async t => {
  const body = { sku: 'SLOW', quantity: 4, customerId: 'cust-async' }
  const customer = { 'x-customer-id': 'cust-async' }
  const poll = (url: string, headers: Record<string, string> = customer) => app.inject({ method: 'GET', url, headers })

  const accepted = await quote(body, { prefer: 'respond-async, wait=0' })
  t.equal(accepted.statusCode, 202)
  t.equal(accepted.headers['preference-applied'], 'respond-async')
  t.match(accepted.headers.location, /^\/quotes\/replies\/[A-Za-z0-9_-]{44}$/)
  const location = accepted.headers.location as string
  t.equal((await poll(location)).statusCode, 202, 'pending')
  t.equal((await poll(location, { 'x-customer-id': 'cust-other' })).statusCode, 404, 'another customer')
  t.equal((await poll(location, {})).statusCode, 404, 'no customer')
  await waitFor('the quote', async () => (await poll(location)).statusCode === 200, 5000)
  t.match((await poll(location)).json(), { sku: 'SLOW', quantity: 4, customerId: 'cust-async', pricedBy: 'pricing-test' })

  const waited = await quote({ ...body, quantity: 5 }, { prefer: 'respond-async; wait=60' })
  t.equal(waited.statusCode, 202, `with wait longer than the deadline: the 202 at the ${TIMEOUT_MS} ms deadline, not a 504`)
  const plain = await quote({ ...body, quantity: 6 })
  t.equal(plain.statusCode, 504, 'without the preference: a 504 as before')
})

t.test('Idempotency-Key: the quoted form ("abc", IETF draft) and the bare one (abc, Stripe) are the same key; a malformed key is a 400', async t => {
  const body = { sku: 'KB-101', quantity: 3, customerId: 'cust-forms' }
  const quoted = await quote(body, { 'idempotency-key': '"order-7"' })
  t.equal(quoted.statusCode, 200)
  t.notOk(quoted.headers['idempotent-replayed'], 'a first call is not a replay')
  const bare = await quote(body, { 'idempotency-key': 'order-7' })
  t.equal(bare.statusCode, 200)
  t.equal(bare.headers['idempotent-replayed'], 'true')
  t.equal(bare.json().quoteId, quoted.json().quoteId)

  const reused = await quote({ ...body, quantity: 4 }, { 'idempotency-key': 'order-7' })
  t.equal(reused.statusCode, 422, 'the same key for another quote of the same customer')
  t.same(reused.json(), { statusCode: 422, code: 'FST_KAFKA_REPLY_IDEMPOTENCY_KEY_REUSED', error: 'Unprocessable Entity', message: 'This idempotency key was used for another request' })

  const sent = app.kafkaReply.stats().sent
  for (const bad of ['', '""', '"unclosed', 'two words', '"a\\"b"', '"k";p=1', 'k'.repeat(256)]) {
    const res = await quote(body, { 'idempotency-key': bad })
    t.equal(res.statusCode, 400, JSON.stringify(bad))
    t.equal(res.json().code, 'FST_KAFKA_REPLY_INVALID_IDEMPOTENCY_KEY')
  }
  t.equal(app.kafkaReply.stats().sent, sent, 'no malformed key was published')
  t.equal(idempotencyKeyOf(undefined), undefined, 'no header, no key')
  t.equal(idempotencyKeyOf(['a', 'b']), 'a, b', 'a header sent twice is one value the plugin refuses')
})

t.test('Idempotency-Key: another customer with the same key is another call', async t => {
  const key = { 'idempotency-key': 'shared-key-1' }
  const ada = await quote({ sku: 'MS-202', quantity: 5, customerId: 'cust-ada' }, key)
  const bob = await quote({ sku: 'MS-202', quantity: 5, customerId: 'cust-bob' }, key)
  t.equal(ada.statusCode, 200)
  t.equal(bob.statusCode, 200, 'not 422: the key means something only for its customer')
  t.notOk(bob.headers['idempotent-replayed'])
  t.not(bob.json().quoteId, ada.json().quoteId)
  t.equal(bob.json().customerId, 'cust-bob')
  const adaAgain = await quote({ sku: 'MS-202', quantity: 5, customerId: 'cust-ada' }, key)
  t.equal(adaAgain.headers['idempotent-replayed'], 'true')
  t.equal(adaAgain.json().quoteId, ada.json().quoteId)
})

t.test('Idempotency-Key: a worker\'s refusal is replayed as it came', async t => {
  const body = { sku: 'XX-999', quantity: 1, customerId: 'cust-refused' }
  const key = { 'idempotency-key': 'refused-1' }
  const first = await quote(body, key)
  const retry = await quote(body, key)
  for (const res of [first, retry]) {
    t.equal(res.statusCode, 422)
    t.match(res.json(), { code: 'FST_KAFKA_REPLY_REMOTE_ERROR', remoteCode: 'UNKNOWN_SKU' })
  }
  t.notOk(first.headers['idempotent-replayed'])
  t.equal(retry.headers['idempotent-replayed'], 'true')
})

t.test('the worker: a retry that reaches it while the first request runs gets that request\'s quote, not a second pricing', async t => {
  // A call with a 100 ms deadline: its record is in flight for 1100 ms (deadline plus grace), the
  // worker takes 1600 ms. A retry between the two is published again and reaches the worker while
  // it still prices the first.
  const body = { sku: 'SLOW', quantity: 3, customerId: 'cust-worker' }
  const options = { idempotencyKey: 'worker-dedupe-1', idempotencyScope: body.customerId }
  const deduplicated = worker.stats().deduplicated
  const started = Date.now()
  await t.rejects(app.kafkaReply.request(names.requestTopic, body, { ...options, timeout: 100 }), { code: 'FST_KAFKA_REPLY_TIMEOUT' })
  await sleep(started + 1100 - Date.now())
  let retry: Quote | undefined
  while (retry === undefined) {
    retry = await app.kafkaReply.request<Quote>(names.requestTopic, body, { ...options, timeout: TIMEOUT_MS }).catch((err: { code?: string }) => {
      if (err.code !== 'FST_KAFKA_REPLY_IDEMPOTENCY_IN_PROGRESS') throw err
      return undefined
    })
    if (retry === undefined) await sleep(50)
  }
  t.equal(worker.stats().deduplicated, deduplicated + 1, 'the worker counted the retry as deduplicated')
  t.equal(pricings(retry.quoteId).length, 1, 'priced once')
  t.ok(workerLines.some(line => line.msg?.toString().startsWith('quote request with an idempotency key already seen') && typeof line.idempotencyKey === 'string'), 'and logged it with the key')
})

t.test('the worker\'s deduplication: same key, same quote; a failure is forgotten; keys expire and are capped', async t => {
  let now = 0
  const dedupe = new Deduplicator<Quote>({ ttlMs: 1000, maxKeys: 2, now: () => now })
  const price = pricing({ workerId: 'w', workMs: 0, slowMs: 0, dedupe, log: createLogger('silent') })
  const context = (idempotencyKey: string | undefined): RequestContext => ({ topic: 't', partition: 0, offset: '0', correlationId: 'c', deadline: undefined, idempotencyKey, headers: {} })
  const body = { sku: 'KB-101', quantity: 1, customerId: 'cust-1' }

  const [a, b] = await Promise.all([price(body, context('k1')), price(body, context('k1'))])
  t.equal(a.quoteId, b.quoteId, 'a request arriving while the first is priced waits for its quote')
  t.equal((await price(body, context('k1'))).quoteId, a.quoteId, 'and one arriving after it is done gets it too')
  t.equal(dedupe.deduplicated, 2)
  t.not((await price(body, context(undefined))).quoteId, (await price(body, context(undefined))).quoteId, 'without a key, every request is priced')

  const crash = { ...body, sku: 'CRASH' }
  await t.rejects(price(crash, context('k2')), /pricing engine crashed/)
  await t.rejects(price(crash, context('k2')), /pricing engine crashed/)
  t.equal(dedupe.deduplicated, 2, 'a failed pricing is not remembered: the retry prices again')

  const held = gate()
  const pending = dedupe.run('k3', async () => { await held.promise; return a })
  t.equal(dedupe.run('k3', async () => b).seen, true, 'seen while in flight')
  held.open()
  t.equal(await pending.result, a)
  dedupe.run('k4', async () => b)
  t.equal(dedupe.size, 2, 'capped at maxKeys')
  t.equal(dedupe.run('k1', async () => b).seen, false, 'the oldest key was forgotten first')
  now += 1000
  t.equal(dedupe.run('k4', async () => a).seen, false, 'a key is forgotten after ttlMs')
  t.equal(dedupe.size, 1, 'expired keys are dropped')
})

t.test('GET /metrics: the Prometheus text, with the call duration histogram by outcome', async t => {
  t.equal((await quote({ sku: 'KB-101', quantity: 1, customerId: 'cust-metrics' })).statusCode, 200)
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain/)
  t.match(res.body, /kafka_reply_call_duration_bucket\{[^}]*kafka_reply_outcome="ok"[^}]*\} \d+/)
  t.match(res.body, /kafka_reply_sent_total\{[^}]*kafka_reply_instance_id="[^"]+"[^}]*\} [1-9]/, 'the stats() counters')
  t.match(res.body, /kafka_reply_pending\{[^}]*kafka_reply_instance_id="[^"]+"[^}]*\} 0/, 'the pending gauge')
})

t.test('readiness and stats report this replica; a closing replica is not ready', async t => {
  const ready = await app.inject('/health/ready')
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { ready: true, kafka: true, redis: true, instanceId: app.kafkaReply.instanceId })
  t.equal((await app.inject('/health/live')).statusCode, 200)

  const stats = (await app.inject('/stats')).json()
  t.match(stats, { instanceId: app.kafkaReply.instanceId, sent: Number, resolvedLocal: Number, timeouts: 5, remoteErrors: 5, accepted: 2 })

  app.kafkaReply.stopAccepting()
  const closing = await app.inject('/health/ready')
  t.equal(closing.statusCode, 503)
  t.equal(closing.json().ready, false)
  const refused = await quote({ sku: 'KB-101', quantity: 1, customerId: 'cust-42' })
  t.equal(refused.statusCode, 503)
  t.equal(refused.headers['retry-after'], '1')
})

t.test('under pressure: a new quote gets 503 with Retry-After at once, a waiting one keeps its deadline, the health routes answer', async t => {
  // A replica of its own with a low threshold, sampled often: a reply group of its own on the
  // worker's reply topic (the worker replies to no other).
  const THRESHOLD_MS = 50
  const pressed = build({
    ...loadConfig({}),
    kafkaBrokers,
    redisUrl,
    requestTopic: names.requestTopic,
    replyTopic: names.replyTopic,
    replyPartitions: 1,
    groupId: `${names.groupId}-pressure`,
    keyPrefix: `${names.keyPrefix}-pressure`,
    timeoutMs: TIMEOUT_MS,
    heartbeatMs: 500,
    maxEventLoopDelayMs: THRESHOLD_MS,
    maxEventLoopUtilization: 0,
    eventLoopSampleMs: 100
  })
  t.teardown(() => pressed.close())
  await pressed.ready()
  const call = (customerId: string, sku = 'KB-101') => pressed.inject({ method: 'POST', url: '/quotes', payload: { sku, quantity: 1, customerId } })

  // Taken before the pressure: the worker is slower than its deadline.
  const published = pressed.kafkaReply.stats().sent
  const waiting = call('cust-waiting', 'SLOW')
  await waitFor('the slow quote to be published', () => pressed.kafkaReply.stats().sent > published)

  // The event loop kept behind: 150 ms of work at a time, every turn.
  const busy = setInterval(() => {
    const until = performance.now() + 150
    while (performance.now() < until);
  }, 10)
  t.teardown(() => clearInterval(busy))
  let refused: Awaited<ReturnType<typeof call>> | undefined
  await waitFor('a new quote to be refused', async () => {
    refused = await call('cust-pressed')
    return refused.statusCode === 503
  }, 10_000)
  refused = refused!
  t.equal(refused.headers['retry-after'], '1', 'retry once the next sample may let it in')
  t.same(refused.json(), { statusCode: 503, code: 'FST_UNDER_PRESSURE', error: 'Service Unavailable', message: 'This replica is under pressure: retry later' })
  t.equal(refused.headers[ROUTE_HEADERS.instance], pressed.kafkaReply.instanceId, 'the refusal names the replica')

  const ready = await pressed.inject('/health/ready')
  t.equal(ready.statusCode, 200, 'readiness is about Kafka and Redis, not pressure')
  t.equal(ready.json().ready, true)
  t.equal((await pressed.inject('/health/live')).statusCode, 200)
  const metrics = await pressed.inject('/metrics')
  t.equal(metrics.statusCode, 200)
  t.match(metrics.body, /^quotes_api_event_loop_delay\{[^}]*kafka_reply_instance_id="[^"]+"[^}]*\} \S+$/m, 'the readings the thresholds are held to')
  t.match(metrics.body, /^quotes_api_event_loop_utilization\{[^}]*\} \S+$/m)

  const sent = pressed.kafkaReply.stats().sent
  const again = await call('cust-pressed')
  t.equal(again.statusCode, 503, 'still under pressure after the health routes answered')
  t.equal(pressed.kafkaReply.stats().sent, sent, 'a refused quote is not published')

  const slow = await waiting
  t.equal(slow.statusCode, 504, 'the quote taken before the pressure ended at its deadline, not with a 503')
  t.equal(slow.json().code, 'FST_KAFKA_REPLY_TIMEOUT')

  clearInterval(busy)
  await waitFor('the replica to take quotes again', async () => (await call('cust-calm')).statusCode === 200)
})
