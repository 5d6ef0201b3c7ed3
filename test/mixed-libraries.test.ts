// kafkajs and @platformatic/kafka side by side, as in a rolling migration from one to the other:
// replicas of both libraries in one reply group, and a plugin on one library answered by a
// responder on the other, both ways. Needs a Node.js that @platformatic/kafka runs on.
import t from 'tap'
import { platformaticNodeProblem } from '../plugin/kafka/index.js'
import { consumerAndCaller, freshTopics, startInstance, startWorker } from './helpers/kafka-reply.js'
import { kafkaBrokers } from './helpers/stack.js'

const skip = platformaticNodeProblem(process.versions.node) ?? false
const kafkajs = (clientId: string) => ({ brokers: kafkaBrokers, clientId })
const platformatic = (clientId: string) => ({ library: '@platformatic/kafka' as const, brokers: kafkaBrokers, clientId })

for (const [plugin, responder] of [['kafkajs', '@platformatic/kafka'], ['@platformatic/kafka', 'kafkajs']] as const) {
  t.test(`a plugin on ${plugin} and a responder on ${responder} answer each other`, { skip }, async t => {
    const names = await freshTopics(2)
    const app = await startInstance(t, names, { kafka: (plugin === 'kafkajs' ? kafkajs : platformatic)('mixed-app') })
    await startWorker(t, names, payload => payload, { kafka: (responder === 'kafkajs' ? kafkajs : platformatic)('mixed-worker') })
    const responses = await Promise.all(Array.from({ length: 20 }, (_, n) => app.inject({ method: 'POST', url: '/call', payload: { n } })))
    t.same(responses.map(res => res.statusCode), responses.map(() => 200))
    t.same(responses.map(res => res.json().n), responses.map((_, n) => n), 'each call got its own reply')
    t.equal(app.kafkaReply.stats().resolvedLocal, 20, 'with affinity, every reply came back to a partition of the caller\'s')
  })
}

t.test('one reply group of a kafkajs replica and a @platformatic/kafka replica: the partitions split, replies cross both ways', { skip }, async t => {
  const names = await freshTopics(1)
  // Whichever joins first, the group forms: both members speak the same assignment protocol.
  const { consumer, caller } = await consumerAndCaller(t, names, [{ affinity: false }, { affinity: false }], [kafkajs, platformatic])
  await startWorker(t, names, payload => payload)
  const responses = await Promise.all([caller, consumer, caller].map((app, n) => app.inject({ method: 'POST', url: '/call', payload: { n } })))
  t.same(responses.map(res => res.statusCode), [200, 200, 200])
  t.same(responses.map(res => res.json().n), [0, 1, 2])
  t.equal(caller.kafkaReply.stats().resolvedByNotification, 2, 'the caller\'s replies were consumed by the other library\'s member and handed over')
  t.equal(consumer.kafkaReply.stats().handedOver, 2)
  t.equal(consumer.kafkaReply.stats().malformed + caller.kafkaReply.stats().malformed, 0, 'each member knows the other from its group metadata')
})

t.test('on a Node.js @platformatic/kafka does not run on, choosing it fails ready() saying which Node it needs', { skip: skip === false ? 'this Node.js runs @platformatic/kafka' : false }, async t => {
  const names = await freshTopics(1)
  await t.rejects(startInstance(t, names, { kafka: platformatic('too-old') }), {
    code: 'FST_KAFKA_REPLY_INVALID_OPTION',
    message: /kafka\.library: @platformatic\/kafka needs Node\.js >= 22\.22 or >= 24\.6/
  })
})
