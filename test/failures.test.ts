import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { Kafka, logLevel } from 'kafkajs'
import { ReplyError } from '../plugin/responder/index.js'
import { newCorrelation, parseCorrelationId } from '../plugin/correlation.js'
import { replyKey } from '../plugin/redis/keys.js'
import { subscriberName } from '../plugin/redis/redis-store.js'
import { HEADERS } from '../plugin/protocol.js'
import { consumerAndCaller, freshTopics, keysUnder, redisClient, startInstance, startInstances, startWorker } from './helpers/kafka-reply.js'
import { rawReplier, readTopic } from './helpers/raw-kafka.js'
import { kafkaBrokers } from './helpers/stack.js'
import { gate, waitFor } from './helpers/wait.js'

interface Job { n: number, delay?: number, fail?: 'crash' | 'invalid' }

async function work (payload: unknown) {
  const job = payload as Job
  if (job.delay !== undefined) await sleep(job.delay)
  if (job.fail === 'crash') throw new Error('database exploded')
  if (job.fail === 'invalid') throw new ReplyError(422, `sku ${job.n} is unknown`, 'INVALID_SKU')
  return { n: job.n }
}

t.test('no reply by the deadline: 504; the late reply leaves no key behind', async t => {
  const names = await freshTopics(1)
  const apps = await startInstances(t, names, 2)
  const worker = await startWorker(t, names, work)

  const responses = await Promise.all(apps.map(app =>
    app.inject({ method: 'POST', url: '/call?timeout=300', payload: { n: 1, delay: 800 } })))
  for (const res of responses) {
    t.equal(res.statusCode, 504)
    t.match(res.json(), { code: 'FST_KAFKA_REPLY_TIMEOUT', message: 'No reply within 300 ms' })
    t.notMatch(res.body, new RegExp(`${names.keyPrefix}|127\\.0\\.0\\.1|\\n\\s+at `), 'no Redis key, address or stack trace')
  }
  // Each request is either answered late (the reply is consumed and dropped) or, when the worker
  // reaches it after its deadline, skipped by the worker.
  const late = () => apps.reduce((sum, app) => sum + app.kafkaReply.stats().late, 0)
  await waitFor('both requests to end late or expired', () => late() + worker.stats().expired === 2)
  t.ok(late() > 0, 'a reply arrived after its deadline')
  t.equal(apps.reduce((sum, app) => sum + app.kafkaReply.stats().timeouts, 0), 2)
  t.same(await keysUnder(redisClient(t), names.keyPrefix), [], 'a late reply is not written to Redis')
})

t.test('a worker error is a 502 naming the correlation id, not its message; a 4xx set by the worker passes through', async t => {
  const names = await freshTopics(1)
  const [app] = await startInstances(t, names, 1)
  await startWorker(t, names, work)

  const crash = await app.inject({ method: 'POST', url: '/call', payload: { n: 1, fail: 'crash' } })
  t.equal(crash.statusCode, 502)
  t.match(crash.json(), { code: 'FST_KAFKA_REPLY_REMOTE_ERROR', message: /^The worker failed: internal error \(correlation id [^)]+\)$/ })
  t.notMatch(crash.body, /database exploded/, 'the worker\'s own message stays on the worker')
  t.notMatch(crash.body, /at .*\.ts:\d+/, 'no stack trace')
  t.notMatch(crash.body, /127\.0\.0\.1|9092|6379/, 'no broker or Redis address')
  t.notMatch(crash.body, new RegExp(names.keyPrefix), 'no Redis key')

  const invalid = await app.inject({ method: 'POST', url: '/call', payload: { n: 7, fail: 'invalid' } })
  t.equal(invalid.statusCode, 422)
  t.match(invalid.json(), { statusCode: 422, message: 'The worker failed: sku 7 is unknown' })
  t.equal(app.kafkaReply.stats().remoteErrors, 2)
})

t.test('a reply handed over for a call cancelled meanwhile is deleted at once, not left to its TTL', async t => {
  const names = await freshTopics(1)
  // One reply partition: the consumer consumes every reply, and the caller's cross Redis.
  const { consumer, caller } = await consumerAndCaller(t, names)
  await startWorker(t, names, work)
  const abort = new AbortController()
  const call = caller.kafkaReply.request(names.requestTopic, { n: 1, delay: 300 }, { signal: abort.signal, timeout: 10_000 })
  setTimeout(() => abort.abort(), 50)
  await t.rejects(call, { code: 'FST_KAFKA_REPLY_CANCELLED' })
  await waitFor('the reply to be handed over and found unclaimed', () => caller.kafkaReply.stats().unclaimed === 1)
  t.equal(consumer.kafkaReply.stats().handedOver, 1)
  const redis = redisClient(t)
  await waitFor('the key to be deleted, though its TTL has 10 s to run', async () => (await keysUnder(redis, names.keyPrefix)).length === 0, 3000)
})

t.test('beyond maxPending waiting calls: 503 with Retry-After', async t => {
  const names = await freshTopics(1)
  const app = await startInstance(t, names, { maxPending: 2, retryAfter: 3 })
  const release = gate()
  await startWorker(t, names, async payload => { await release.promise; return payload })
  t.teardown(release.open)

  const waiting = [1, 2].map(n => app.inject({ method: 'POST', url: '/call', payload: { n } }))
  await waitFor('two pending calls', () => app.kafkaReply.stats().pending === 2)
  const refused = await app.inject({ method: 'POST', url: '/call', payload: { n: 3 } })
  t.equal(refused.statusCode, 503)
  t.equal(refused.headers['retry-after'], '3')
  t.match(refused.json(), { code: 'FST_KAFKA_REPLY_OVERLOADED' })
  release.open()
  t.same((await Promise.all(waiting)).map(res => res.statusCode), [200, 200], 'the waiting calls are answered')
  t.equal(app.kafkaReply.stats().overloaded, 1)
})

t.test('subscriber connections killed while calls wait: the calls still resolve', async t => {
  const names = await freshTopics(1)
  const apps = await startInstances(t, names, 2)
  const release = gate()
  let received = 0
  await startWorker(t, names, async payload => { received++; await release.promise; return payload }, { concurrency: 20 })
  t.teardown(release.open)

  const calls = Array.from({ length: 20 }, (_, n) => apps[n % 2].inject({ method: 'POST', url: '/call', payload: { n } }))
  await waitFor('the worker to hold requests', () => received > 0)
  const redis = redisClient(t)
  for (const app of apps) {
    const list = await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub') as string
    const id = list.split('\n').find(line => line.includes(`name=${subscriberName(names.keyPrefix, app.kafkaReply.instanceId)} `))?.match(/id=(\d+)/)?.[1]
    t.ok(id, 'found the instance\'s subscriber connection')
    await redis.client('KILL', 'ID', id!)
  }
  release.open()
  const responses = await Promise.all(calls)
  t.ok(responses.every((res, n) => res.statusCode === 200 && res.json().n === n), 'every call got its own reply')
  t.equal(apps.reduce((sum, app) => sum + app.kafkaReply.stats().resolvedViaRedis, 0), 10, 'half crossed Redis')
})

t.test('malformed reply records are counted and skipped; other calls are unaffected', async t => {
  const names = await freshTopics(1)
  const app = await startInstance(t, names, { maxReplyBytes: 1000 })
  await startWorker(t, names, work)

  const ghost = newCorrelation('ghost', Date.now() + 5000).id
  const own = newCorrelation(app.kafkaReply.instanceId, Date.now() + 5000).id
  const hostile: Array<{ headers?: Record<string, string | Buffer>, value: string | Buffer | null }> = [
    { value: '{"no":"header"}' },
    { headers: { [HEADERS.correlationId]: Buffer.from([0xff, 0xfe, 0xfd]) }, value: '{}' },
    { headers: { [HEADERS.correlationId]: 'x'.repeat(10_240) }, value: '{}' },
    { headers: { [HEADERS.correlationId]: own.replace(/\.[0-9a-z]+\./, '.*.') }, value: '{}' },
    { headers: { [HEADERS.correlationId]: own + '?' }, value: '{}' },
    { headers: { [HEADERS.correlationId]: own.replace(app.kafkaReply.instanceId, '[a-z]') }, value: '{}' },
    { headers: { [HEADERS.correlationId]: own + '\n' }, value: '{}' },
    { headers: { [HEADERS.correlationId]: ghost }, value: '{"for":"an instance that is not in the group"}' },
    { headers: { [HEADERS.correlationId]: ghost }, value: '{not json' },
    { headers: { [HEADERS.correlationId]: own }, value: `"${'x'.repeat(1000)}"` }
  ]
  const producer = new Kafka({ brokers: kafkaBrokers, clientId: 'hostile', logLevel: logLevel.NOTHING }).producer()
  await producer.connect()
  t.teardown(() => producer.disconnect())
  await producer.send({ topic: names.replyTopic, messages: hostile })

  const res = await app.inject({ method: 'POST', url: '/call', payload: { n: 5 } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { n: 5 })
  t.equal(app.kafkaReply.stats().malformed, hostile.length, 'each hostile record counted')
  t.same(await keysUnder(redisClient(t), names.keyPrefix), [], 'no Redis key written for any of them')
})

t.test('a call the plugin cannot make is refused at once, before anything is published', async t => {
  const names = await freshTopics(1)
  const app = await startInstance(t, names)
  const requests = await readTopic(t, names.requestTopic)
  const request = app.kafkaReply.request.bind(app.kafkaReply)
  await t.rejects(request('', {}), { code: 'FST_KAFKA_REPLY_INVALID_CALL', message: /topic must be a non-empty string/ })
  await t.rejects(request(42 as unknown as string, {}), { code: 'FST_KAFKA_REPLY_INVALID_CALL', message: /topic must be a non-empty string/ })
  await t.rejects(request(names.requestTopic, undefined), { code: 'FST_KAFKA_REPLY_INVALID_CALL', message: /payload must be JSON-serialisable/ })
  await t.rejects(request(names.requestTopic, () => 1), { code: 'FST_KAFKA_REPLY_INVALID_CALL', message: /payload must be JSON-serialisable/ })
  await t.rejects(request(names.requestTopic, {}, { signal: AbortSignal.abort() }), { code: 'FST_KAFKA_REPLY_CANCELLED', statusCode: 499 }, 'a signal aborted already')
  t.same(app.kafkaReply.stats().pending, 0)
  // A last call that is published, so that the empty topic says the refused ones were not.
  await t.rejects(request(names.requestTopic, { n: 1 }, { timeout: 100 }), { code: 'FST_KAFKA_REPLY_TIMEOUT' })
  await waitFor('the one request published', () => requests.length === 1)
  t.equal(requests[0].message.value?.toString(), '{"n":1}')
})

t.test('a value under a call\'s Redis key that is not a stored reply is counted and does not settle the call', async t => {
  const names = await freshTopics(1)
  const app = await startInstance(t, names)
  const redis = redisClient(t)
  // A replier that never replies; instead something else writes to the key of the call.
  await rawReplier(t, names.requestTopic, message => {
    const correlation = parseCorrelationId(message.headers![HEADERS.correlationId]!.toString())!
    redis.set(replyKey(names.keyPrefix, correlation), 'not a stored reply', 'PX', 5000).catch(() => {})
    return undefined
  })
  await t.rejects(app.kafkaReply.request(names.requestTopic, {}, { timeout: 1500 }), { code: 'FST_KAFKA_REPLY_TIMEOUT' })
  t.equal(app.kafkaReply.stats().malformed, 1)
  t.same(await keysUnder(redis, names.keyPrefix), [], 'the value was taken off all the same')
})

t.test('a worker that sends every reply twice: each call answered once, every second copy counted', async t => {
  const names = await freshTopics(1)
  // One reply partition: one instance consumes every reply, the other's cross Redis.
  const apps = await startInstances(t, names, 2)
  const kafka = new Kafka({ brokers: kafkaBrokers, clientId: 'twice', logLevel: logLevel.NOTHING })
  const producer = kafka.producer()
  const consumer = kafka.consumer({ groupId: `${names.groupId}-twice`, heartbeatInterval: 500, maxWaitTimeInMs: 100 })
  await Promise.all([producer.connect(), consumer.connect()])
  t.teardown(async () => { await Promise.all([consumer.disconnect(), producer.disconnect()]) })
  await consumer.subscribe({ topic: names.requestTopic, fromBeginning: true })
  // Both copies in one send, as a producer's retry would write them: they arrive in one batch.
  await consumer.run({
    eachMessage: async ({ message }) => {
      const reply = { headers: { [HEADERS.correlationId]: message.headers![HEADERS.correlationId]! as Buffer }, value: message.value }
      await producer.send({ topic: names.replyTopic, messages: [reply, reply] })
    }
  })

  const responses = await Promise.all(Array.from({ length: 10 }, (_, n) => apps[n % 2].inject({ method: 'POST', url: '/call', payload: { n } })))
  t.ok(responses.every((res, n) => res.statusCode === 200 && res.json().n === n), 'every call got its own reply, once')
  const total = (counter: 'duplicates' | 'resolvedLocal' | 'resolvedViaRedis') => apps.reduce((sum, app) => sum + app.kafkaReply.stats()[counter], 0)
  await waitFor('every second copy to be counted', () => total('duplicates') === 10)
  t.equal(total('resolvedLocal'), 5)
  t.equal(total('resolvedViaRedis'), 5)
  t.same(await keysUnder(redisClient(t), names.keyPrefix), [], 'no copy left a key behind')
})

t.test('a slow request does not hold up the requests fetched after it', async t => {
  const names = await freshTopics(1)
  const app = await startInstance(t, names)
  const release = gate()
  await startWorker(t, names, async payload => {
    if ((payload as { slow?: boolean }).slow === true) await release.promise
    return payload
  })
  t.teardown(release.open)

  const slow = app.inject({ method: 'POST', url: '/call', payload: { n: 0, slow: true } })
  await waitFor('the slow request to be sent', () => app.kafkaReply.stats().sent === 1)
  const fast = await Promise.all([1, 2, 3, 4, 5].map(n => app.inject({ method: 'POST', url: '/call', payload: { n } })))
  t.same(fast.map(res => res.json().n), [1, 2, 3, 4, 5], 'answered while the slow one is still held')
  release.open()
  t.equal((await slow).statusCode, 200)
})
