import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import { Kafka, logLevel } from 'kafkajs'
import { Redis } from 'ioredis'
import kafkaReply from '../plugin/index.js'
import { HEADERS, headerString } from '../plugin/protocol.js'
import { freshTopics, instanceOptions, keysUnder, redisClient, startInstance } from './helpers/kafka-reply.js'
import { privateRedis } from './helpers/private-redis.js'
import { kafkaBrokers, within } from './helpers/stack.js'
import { waitFor } from './helpers/wait.js'

t.test('close while calls wait: they fail at once with 503 and the process exits by itself', async t => {
  const names = await freshTopics(1)
  const fixture = fileURLToPath(new URL('./fixtures/close-while-waiting.ts', import.meta.url))
  const child = spawn(process.execPath, [...process.execArgv, fixture, JSON.stringify(names)], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { child.kill('SIGKILL') })
  let output = ''
  child.stdout.on('data', chunk => { output += chunk })
  const [code] = await within(30_000, 'the process to exit after close()', once(child, 'exit'))
  t.equal(code, 0, 'exited cleanly, with no handle left open')
  const result = JSON.parse(output)
  t.same(result.statuses, [503, 503, 503])
  t.same(result.codes, ['FST_KAFKA_REPLY_CLOSING', 'FST_KAFKA_REPLY_CLOSING', 'FST_KAFKA_REPLY_CLOSING'])
  t.same(result.connection, ['close', 'close', 'close'], 'clients are told to drop the connection, so the server can close')
  t.ok(result.closeMs < 30_000, 'the waiting calls did not hold close() to their 60 s deadline')
})

t.test('a caller that disconnects cancels its wait', async t => {
  const names = await freshTopics(1)
  const app = await startInstance(t, names)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const request = (await import('node:http')).request({ port, method: 'POST', path: '/call', headers: { 'content-type': 'application/json' } })
  request.on('error', () => {})
  request.end('{"n":1}')
  await waitFor('the call to be pending', () => app.kafkaReply.stats().pending === 1)
  request.destroy()
  await waitFor('the wait to be cancelled', () => app.kafkaReply.stats().cancelled === 1)
  t.equal(app.kafkaReply.stats().pending, 0)
})

t.test('a replier that only echoes kafka_correlationId (as Spring\'s and NestJS\'s do) is enough', async t => {
  const names = await freshTopics(1)
  const app = await startInstance(t, names)
  const kafka = new Kafka({ brokers: kafkaBrokers, clientId: 'echo-replier', logLevel: logLevel.NOTHING })
  const producer = kafka.producer()
  const consumer = kafka.consumer({ groupId: `${names.groupId}-echo`, maxWaitTimeInMs: 100 })
  t.teardown(async () => { await consumer.disconnect(); await producer.disconnect() })
  await producer.connect()
  await consumer.connect()
  await consumer.subscribe({ topics: [names.requestTopic], fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ message }) => {
      const correlationId = headerString(message.headers, HEADERS.correlationId)!
      const replyTopic = headerString(message.headers, HEADERS.replyTopic)!
      const { n } = JSON.parse(message.value!.toString())
      const headers = { [HEADERS.correlationId]: correlationId, ...(n < 0 ? { [HEADERS.nestError]: 'negative numbers are not allowed' } : {}) }
      await producer.send({ topic: replyTopic, messages: [{ headers, value: JSON.stringify({ doubled: n * 2 }) }] })
    }
  })
  const ok = await app.inject({ method: 'POST', url: '/call', payload: { n: 21 } })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { doubled: 42 })
  const failed = await app.inject({ method: 'POST', url: '/call', payload: { n: -1 } })
  t.equal(failed.statusCode, 502)
  t.match(failed.json().message, /negative numbers are not allowed/)
})

t.test('notifications off: ready() fails naming notify-keyspace-events; configureKeyspaceEvents turns them on', async t => {
  const names = await freshTopics(1)
  const { url: redis } = await privateRedis(t)

  const refused = Fastify()
  t.teardown(() => refused.close())
  refused.register(kafkaReply, instanceOptions(names, { redis }))
  await t.rejects(async () => { await refused.ready() }, {
    code: 'FST_KAFKA_REPLY_NOTIFICATIONS_DISABLED',
    message: /notify-keyspace-events.*K\$/
  })

  const configured = Fastify()
  t.teardown(() => configured.close())
  configured.register(kafkaReply, instanceOptions(names, { redis, configureKeyspaceEvents: true }))
  await configured.ready()
  const check = new Redis(redis)
  t.teardown(() => { check.disconnect() })
  const [, flags] = await check.config('GET', 'notify-keyspace-events') as [string, string]
  t.match(flags, /K/)
  t.match(flags, /\$/)
  t.same(await keysUnder(check, names.keyPrefix), [], 'the probe key is gone')
})

t.test('a borrowed Redis client is left open on close', async t => {
  const names = await freshTopics(1)
  const redis = redisClient(t)
  const app = Fastify()
  await app.register(kafkaReply, instanceOptions(names, { redis }))
  await app.close()
  t.equal(redis.status, 'ready')
  t.equal(await redis.ping(), 'PONG')
})

t.test('Redis unreachable at startup: ready() fails at once with the connection error, and nothing is left retrying', async t => {
  const names = await freshTopics(1)
  const app = Fastify()
  t.teardown(() => app.close())
  // Nothing listens on port 1: the plugin's own client, which it must close again.
  const readyTimeout = 20_000
  app.register(kafkaReply, instanceOptions(names, { redis: 'redis://127.0.0.1:1', readyTimeout }))
  const started = Date.now()
  await t.rejects(within(10_000, 'ready() to fail', (async () => { await app.ready() })()), { message: /Connection is closed|ECONNREFUSED/ })
  t.ok(Date.now() - started < readyTimeout / 2, 'not at readyTimeout')
})
