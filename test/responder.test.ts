// The worker-side responder: what it answers to requests that a careless producer or an odd
// handler make (the options it refuses: unit/responder-options.test.ts).
import t from 'tap'
import { Kafka, logLevel } from 'kafkajs'
import { HEADERS } from '../plugin/protocol.js'
import { freshTopics, startWorker } from './helpers/kafka-reply.js'
import { rawProducer, readTopic } from './helpers/raw-kafka.js'
import { kafkaBrokers, kafkaConfig, kafkaLibrary } from './helpers/stack.js'
import { waitFor } from './helpers/wait.js'
import { createLogger } from '../worker/log.js'

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
      case 'throws-404': throw Object.assign(new Error('order 7 is not yours'), { statusCode: 404, code: 'NOT_YOURS' })
      case 'throws-hidden-404': throw Object.assign(new Error('row 7 of orders_rw'), { statusCode: 404, expose: false })
      case 'throws-500': throw Object.assign(new Error('pool exhausted at 10.20.0.7'), { statusCode: 500 })
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
      { value: '{"n":3}', headers: headers('throws-null') },
      { value: '{"n":4}', headers: headers('throws-404') },
      { value: '{"n":5}', headers: headers('throws-hidden-404') },
      { value: '{"n":6}', headers: headers('throws-500') }
    ]
  })
  await waitFor('eight replies, two requests skipped', () => replies.length === 8 && worker.stats().malformed === 2)

  const byId = new Map(replies.map(({ message }) => [message.headers![HEADERS.correlationId]!.toString(), message]))
  const error = (id: string) => JSON.parse(byId.get(id)!.headers![HEADERS.replyError]!.toString())
  t.equal(byId.get('no-value')?.value?.toString(), 'null', 'a request without a value is the payload null')
  t.same(error('not-json'), { message: 'the request payload is not valid JSON', code: 'INVALID_JSON', statusCode: 400 }, 'a payload that is not JSON: the caller\'s 400, the handler is not called')
  t.equal(byId.get('returns-nothing')?.value?.toString(), 'null', 'a handler that returns nothing replies null')
  const masked = (id: string) => ({ message: `internal error (correlation id ${id})`, code: 'WORKER_ERROR' })
  t.same(error('throws-text'), masked('throws-text'), 'thrown text is the worker\'s own: masked, naming the correlation id')
  t.same(error('throws-null'), masked('throws-null'), 'even null thrown is an error reply, not a lost one')
  t.same(error('throws-404'), { message: 'order 7 is not yours', code: 'NOT_YOURS', statusCode: 404 }, 'an error with a 4xx statusCode passes (http-errors\' expose convention)')
  t.same(error('throws-hidden-404'), masked('throws-hidden-404'), 'unless it says expose: false')
  t.same(error('throws-500'), masked('throws-500'), 'a 5xx statusCode is the worker\'s own')
  t.same(seen, [null, { n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, { n: 5 }, { n: 6 }])
  t.same(worker.stats(), { replied: 2, failed: 6, expired: 0, malformed: 2, refused: 0, unsent: 0 })
})

t.test('a handler\'s own error: the caller sees a fixed message with the correlation id, the worker\'s log the error under that id; exposeErrors shows it', async t => {
  const names = await freshTopics(1)
  const replies = await readTopic(t, names.replyTopic)
  const lines: string[] = []
  const fail = () => { throw new Error('password authentication failed for user "orders_rw" (host 10.20.0.7)') }
  await startWorker(t, names, fail, { logger: createLogger('info', {}, line => { lines.push(line) }) })
  const producer = await rawProducer(t)
  await producer.send({ topic: names.requestTopic, messages: [{ value: '{"secret":"s3-payload"}', headers: { [HEADERS.correlationId]: 'call-1', [HEADERS.replyTopic]: names.replyTopic } }] })
  await waitFor('the error reply', () => replies.length === 1)
  const reply = replies[0].message.headers![HEADERS.replyError]!.toString()
  t.same(JSON.parse(reply), { message: 'internal error (correlation id call-1)', code: 'WORKER_ERROR' })
  t.notMatch(reply, /orders_rw|10\.20/, 'nothing of the error reaches the caller')
  const logged = lines.map(line => JSON.parse(line) as { level: number, correlationId?: string, err?: { message: string, stack: string } })
  const line = logged.find(entry => entry.correlationId === 'call-1')
  t.match(line, { level: 50, err: { message: /password authentication failed/, stack: /at / } }, 'the worker logs the error and its stack under the correlation id')
  t.notMatch(lines.join(''), /s3-payload/, 'the request\'s payload is not logged')

  const exposed = await freshTopics(1)
  const exposedReplies = await readTopic(t, exposed.replyTopic)
  await startWorker(t, exposed, fail, { exposeErrors: true })
  await producer.send({ topic: exposed.requestTopic, messages: [{ value: '{}', headers: { [HEADERS.correlationId]: 'call-2', [HEADERS.replyTopic]: exposed.replyTopic } }] })
  await waitFor('the error reply', () => exposedReplies.length === 1)
  t.same(JSON.parse(exposedReplies[0].message.headers![HEADERS.replyError]!.toString()), { message: 'password authentication failed for user "orders_rw" (host 10.20.0.7)' }, 'exposeErrors: true passes the message, for development')
})

t.test('replyTopics: a request naming a topic not listed gets no reply, is counted refused and logged without its payload', async t => {
  const names = await freshTopics(1)
  const other = await freshTopics(1)
  const allowed = await readTopic(t, names.replyTopic)
  const forbidden = await readTopic(t, other.replyTopic)
  const lines: string[] = []
  const worker = await startWorker(t, names, payload => payload, {
    replyTopics: [new RegExp(`${names.replyTopic.slice(0, -3)}...`), 'some-other-topic'],
    logger: createLogger('warn', {}, line => { lines.push(line) })
  })
  const producer = await rawProducer(t)
  const request = (id: string, replyTopic: string) => ({ value: '{"secret":"s3-payload"}', headers: { [HEADERS.correlationId]: id, [HEADERS.replyTopic]: replyTopic } })
  await producer.send({
    topic: names.requestTopic,
    messages: [request('to-other-app', other.replyTopic), request('to-a-prefix', `${names.replyTopic}-x`), request('allowed', names.replyTopic)]
  })
  await waitFor('the allowed reply, two refused', () => allowed.length === 1 && worker.stats().refused === 2)
  t.equal(allowed[0].message.headers![HEADERS.correlationId]!.toString(), 'allowed', 'a topic the RegExp matches whole is answered')
  t.equal(forbidden.length, 0, 'another app\'s reply topic got nothing')
  t.match(worker.stats(), { replied: 1, refused: 2 })
  t.match(lines.join(''), /to-other-app/, 'a refusal is logged with the correlation id')
  t.notMatch(lines.join(''), /s3-payload/, 'and without the payload')
})
