import t from 'tap'
import { Writable } from 'node:stream'
import { build } from '../app/app.js'
import { loadConfig } from '../app/config.js'
import { ROUTE_HEADERS } from '../app/routes/quotes.js'
import { loadWorkerConfig } from '../worker/config.js'
import { createLogger } from '../worker/log.js'
import { startWorker } from '../worker/worker.js'
import { freshTopics } from './helpers/kafka-reply.js'
import { kafkaBrokers, redisUrl } from './helpers/stack.js'
import { waitFor } from './helpers/wait.js'

const TIMEOUT_MS = 800

// One API instance and one worker for the whole file: each start costs a group join.
const names = await freshTopics(1)
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
}, createLogger('silent'))
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

const quote = (body: unknown) => app.inject({ method: 'POST', url: '/quotes', payload: body as Record<string, unknown> })

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
  t.match(stats, { instanceId: app.kafkaReply.instanceId, sent: Number, resolvedLocal: Number, timeouts: 1, remoteErrors: 3 })

  app.kafkaReply.stopAccepting()
  const closing = await app.inject('/health/ready')
  t.equal(closing.statusCode, 503)
  t.equal(closing.json().ready, false)
  const refused = await quote({ sku: 'KB-101', quantity: 1, customerId: 'cust-42' })
  t.equal(refused.statusCode, 503)
  t.equal(refused.headers['retry-after'], '1')
})
