// The worker-side responder: what it answers to requests that a careless producer or an odd
// handler make (the options it refuses: unit/responder-options.test.ts).
import t from 'tap'
import { Kafka, logLevel } from 'kafkajs'
import { HEADERS } from '../plugin/protocol.js'
import { freshTopics, startWorker } from './helpers/kafka-reply.js'
import { rawProducer, readTopic } from './helpers/raw-kafka.js'
import { kafkaBrokers, kafkaConfig, kafkaLibrary } from './helpers/stack.js'
import { waitFor } from './helpers/wait.js'

t.test('odd requests and odd handlers: each gets the reply a caller can act on, malformed ones none', async t => {
  const names = await freshTopics(1)
  const replies = await readTopic(t, names.replyTopic)
  const seen: unknown[] = []
  // On kafkajs, a Kafka instance the worker's owner made: the responder uses it as it is.
  const client = new Kafka({ brokers: kafkaBrokers, clientId: 'own-client', logLevel: logLevel.NOTHING })
  const worker = await startWorker(t, names, (payload, context) => {
    seen.push(payload)
    switch (context.correlationId) {
      case 'returns-nothing': return undefined
      case 'throws-text': throw 'the database is down' // eslint-disable-line no-throw-literal
      case 'throws-null': throw null // eslint-disable-line no-throw-literal
      default: return payload
    }
  }, { kafka: kafkaLibrary === 'kafkajs' ? { client } : kafkaConfig('own-client') })

  const producer = await rawProducer(t)
  const headers = (id: string) => ({ [HEADERS.correlationId]: id, [HEADERS.replyTopic]: names.replyTopic })
  await producer.send({
    topic: names.requestTopic,
    messages: [
      { value: '{}', headers: { [HEADERS.correlationId]: '', [HEADERS.replyTopic]: names.replyTopic } },
      { value: '{}', headers: { [HEADERS.correlationId]: 'no-reply-topic', [HEADERS.replyTopic]: '' } },
      { value: null, headers: headers('no-value') },
      { value: 'OK, done', headers: headers('not-json') },
      { value: '{"n":1}', headers: headers('returns-nothing') },
      { value: '{"n":2}', headers: headers('throws-text') },
      { value: '{"n":3}', headers: headers('throws-null') }
    ]
  })
  await waitFor('five replies, two requests skipped', () => replies.length === 5 && worker.stats().malformed === 2)

  const byId = new Map(replies.map(({ message }) => [message.headers![HEADERS.correlationId]!.toString(), message]))
  const error = (id: string) => JSON.parse(byId.get(id)!.headers![HEADERS.replyError]!.toString())
  t.equal(byId.get('no-value')?.value?.toString(), 'null', 'a request without a value is the payload null')
  t.same(error('not-json'), { message: 'the request payload is not valid JSON', code: 'INVALID_JSON', statusCode: 400 }, 'a payload that is not JSON: the caller\'s 400, the handler is not called')
  t.equal(byId.get('returns-nothing')?.value?.toString(), 'null', 'a handler that returns nothing replies null')
  t.same(error('throws-text'), { message: 'the database is down' }, 'thrown text is the message')
  t.same(error('throws-null'), { message: 'null' }, 'even null thrown is an error reply, not a lost one')
  t.same(seen, [null, { n: 1 }, { n: 2 }, { n: 3 }])
  t.same(worker.stats(), { replied: 2, failed: 3, expired: 0, malformed: 2, unsent: 0 })
})
