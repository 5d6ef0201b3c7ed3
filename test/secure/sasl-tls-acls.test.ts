// The plugin and the responder on a broker as managed Kafka runs: SASL (SCRAM) over TLS with the
// certificate verified, ACLs with nothing allowed by default, no automatic topic creation. Each runs
// as its own user with only the ACLs docs/security.md lists; a wrong setup fails clearly.
import t from 'tap'
import { startInstance, startWorker } from '../helpers/kafka-reply.js'
import { grant, grantMinimal, secureKafka, secureTopics, superAdmin } from '../helpers/secure.js'
import { captureLogs } from '../helpers/logs.js'
import { testCertificates } from '../helpers/tls.js'
import { uniqueName } from '../helpers/stack.js'
import { waitFor } from '../helpers/wait.js'

t.test('end to end as two users with the minimal ACLs, the worker limited to its reply topic: the call is answered', async t => {
  const admin = await superAdmin(t)
  const names = await secureTopics(admin)
  await grantMinimal(admin, names)
  const worker = await startWorker(t, { ...names }, payload => payload, {
    kafka: secureKafka('secure-worker', 'reply-worker', { mechanism: 'scram-sha-512' }),
    groupId: names.workerGroupId,
    replyTopics: [names.replyTopic]
  })
  const app = await startInstance(t, names, { kafka: secureKafka('secure-app', 'reply-app') })

  const res = await app.inject({ method: 'POST', url: '/call', payload: { n: 1 } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { n: 1 })
  // The worker counts a reply once the broker acknowledged it, which may come after the caller read it.
  await waitFor('the worker to count its reply', () => worker.stats().replied === 1)
  t.match(worker.stats(), { replied: 1, unsent: 0 })
})

t.test('a wrong password fails ready() with the SASL error, which does not show the password', async t => {
  const admin = await superAdmin(t)
  const names = await secureTopics(admin)
  await grantMinimal(admin, names)
  const password = `wrong-${uniqueName('pw')}`
  const lines: string[] = []
  const err = await t.rejects(startInstance(t, names, { kafka: secureKafka('secure-app', 'reply-app', { password }), readyTimeout: 20_000 }, captureLogs(lines)),
    { message: /SASL|[Aa]uthentication/ })
  t.notMatch(String((err as unknown as Error)?.message) + String((err as unknown as Error)?.stack), new RegExp(password), 'the password is not in the error')
  t.notMatch(lines.join(''), new RegExp(password), 'nor in anything logged')
})

t.test('a broker certificate the client\'s CA did not sign fails ready() with the TLS error', async t => {
  const admin = await superAdmin(t)
  const names = await secureTopics(admin)
  await grantMinimal(admin, names)
  const other = testCertificates(t, 'another')
  await t.rejects(startInstance(t, names, { kafka: secureKafka('secure-app', 'reply-app', { ca: other.ca }), readyTimeout: 20_000 }), { message: /certificate/i })
})

t.test('a request topic the user may not write: that call is a 503 naming the authorization error', async t => {
  const admin = await superAdmin(t)
  const names = await secureTopics(admin)
  await grantMinimal(admin, names)
  const forbidden = uniqueName('forbidden')
  await admin.createTopics({ topics: [{ topic: forbidden }], waitForLeaders: true })
  await grant(admin, 'reply-app', [['topic', forbidden, 'describe']])
  const lines: string[] = []
  const app = await startInstance(t, names, { kafka: secureKafka('secure-app', 'reply-app') }, captureLogs(lines))
  const sentinel = `sentinel-${uniqueName('payload')}`
  await t.rejects(app.kafkaReply.request(forbidden, { sentinel }, { timeout: 20_000 }), {
    code: 'FST_KAFKA_REPLY_TOPIC_UNAVAILABLE',
    statusCode: 503,
    message: `Kafka topic "${forbidden}" cannot be written: TOPIC_AUTHORIZATION_FAILED`
  })
  t.notMatch(lines.join(''), new RegExp(sentinel), 'the refused request\'s payload is not logged')
})

t.test('a reply topic the user may not read, or a group it may not join: ready() fails with FST_KAFKA_REPLY_NOT_AUTHORIZED naming it', async t => {
  const admin = await superAdmin(t)
  const names = await secureTopics(admin)
  // The group, not the reply topic.
  await grant(admin, 'outsider', [['group', names.groupId, 'read']])
  await t.rejects(startInstance(t, names, { kafka: secureKafka('secure-outsider', 'outsider'), readyTimeout: 20_000 }), { code: 'FST_KAFKA_REPLY_NOT_AUTHORIZED', message: new RegExp(`topic "${names.replyTopic}"`) })

  // The reply topic, not the group.
  const other = await secureTopics(admin)
  await grant(admin, 'outsider', [['topic', other.replyTopic, 'read']])
  await t.rejects(startInstance(t, other, { kafka: secureKafka('secure-outsider', 'outsider'), readyTimeout: 20_000 }), { code: 'FST_KAFKA_REPLY_NOT_AUTHORIZED', message: new RegExp(`group "${other.groupId}"`) })
})
