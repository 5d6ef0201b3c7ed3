// The plugin on a TLS-only redis-server whose certificate a CA made for the test signed: the
// hand-over works through `{ url: 'rediss://…', options: { tls: { ca } } }`, and a client that
// does not trust the server's CA fails ready() saying so.
import t from 'tap'
import Fastify from 'fastify'
import kafkaReply from '../plugin/index.js'
import { RedisServer } from '../faults/lib/redis-server.js'
import { consumerAndCaller, freshTopics, instanceOptions, startWorker } from './helpers/kafka-reply.js'
import { testCertificates } from './helpers/tls.js'

t.test('TLS-only Redis with a private CA: replies cross it; a client without the CA fails ready() with the TLS error', async t => {
  const certificates = testCertificates(t)
  const server = await RedisServer.start({ tls: certificates })
  t.teardown(() => server.kill())
  t.match(server.url, /^rediss:\/\//)

  const names = await freshTopics(1)
  await startWorker(t, names, payload => payload)
  const redis = { url: server.url, options: { tls: { ca: certificates.ca } } }
  const { caller } = await consumerAndCaller(t, names, [{ redis, configureKeyspaceEvents: true }, { redis, configureKeyspaceEvents: true }])
  const res = await caller.inject({ method: 'POST', url: '/call', payload: { n: 1 } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { n: 1 })
  t.equal(caller.kafkaReply.stats().resolvedViaRedis, 1, 'the reply crossed the TLS Redis')

  const untrusting = Fastify()
  t.teardown(() => untrusting.close())
  const other = testCertificates(t, 'another')
  await t.rejects(async () => {
    await untrusting.register(kafkaReply, instanceOptions(names, { redis: { url: server.url, options: { tls: { ca: other.ca } } }, readyTimeout: 10_000 }))
    await untrusting.ready()
  }, { message: /Redis.*(certificate|self.signed)/i }, 'ready() names the certificate problem, not "Connection is closed."')
})
