// Type tests of the public types (tstyche): run by `npm run test:types`, part of `npm test`.
import Fastify from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { expect, test } from 'tstyche'
import kafkaReply, { fastifyKafkaReply, errors, KafkaReply, type KafkaReplyOptions, type KafkaReplyStats } from '../../plugin/index.js'
import { createResponder, ReplyError, type Handler, type RequestContext, type Responder } from '../../plugin/responder/index.js'

const options: KafkaReplyOptions = {
  kafka: { brokers: ['127.0.0.1:9092'] },
  redis: 'redis://127.0.0.1:6379',
  replyTopic: 'quotes.replies',
  groupId: 'quotes-api'
}
const Quote = Type.Object({ sku: Type.String(), priceCents: Type.Integer(), tags: Type.Optional(Type.Array(Type.String())) })

test('the plugin registers with its options, and an unknown or missing option is a type error', () => {
  const app = Fastify()
  expect(app.register).type.toBeCallableWith(kafkaReply, options)
  expect(app.register).type.toBeCallableWith(fastifyKafkaReply, { ...options, timeout: 1000, consumer: { maxWaitTimeInMs: 100 } })
  expect(app.register).type.toBeCallableWith(kafkaReply.default, options)
  expect(app.register(kafkaReply, { ...options, replyTopics: 'quotes.replies' })).type.toRaiseError('replyTopics')
  expect(app.register(kafkaReply, { ...options, consumer: { maxWait: 100 } })).type.toRaiseError('maxWait')
  expect(app.register).type.toBeCallableWith(kafkaReply, { ...options, idempotencyTtl: 3_600_000 })
  expect(app.register(kafkaReply, { ...options, idempotencyTtl: '1h' })).type.toRaiseError("Type 'string' is not assignable to type 'number'")
  expect(app.register).type.toBeCallableWith(kafkaReply, { ...options, accepted: true, acceptedTtl: 600_000, acceptedPrefix: '/async', acceptedScope: (request: import('fastify').FastifyRequest) => request.headers['x-user'] as string | undefined })
  expect(app.register(kafkaReply, { ...options, acceptedScope: 'user' })).type.toRaiseError()
  expect(app.register(kafkaReply, { ...options, accepted: 'yes' })).type.toRaiseError()
  expect<KafkaReplyOptions>().type.not.toBeAssignableFrom({ kafka: { brokers: ['127.0.0.1:9092'] }, redis: 'redis://127.0.0.1:6379', replyTopic: 'r' })
  expect<KafkaReplyOptions['redis']>().type.not.toBeAssignableFrom(6379)
})

test('reply.awaitKafka with a schema resolves to Static<S>; without one to unknown or what is asked', () => {
  const app = Fastify()
  app.post('/quotes', async (_request, reply) => {
    expect(reply.awaitKafka('quotes.requests', {}, { schema: Quote })).type.toBe<Promise<Static<typeof Quote>>>()
    expect(reply.awaitKafka('quotes.requests', {}, { schema: Quote, timeout: 1000, key: 'c-1' })).type.toBe<Promise<{ sku: string, priceCents: number, tags?: string[] }>>()
    expect(reply.awaitKafka('quotes.requests', {})).type.toBe<Promise<unknown>>()
    expect(reply.awaitKafka<{ n: number }>('quotes.requests', {})).type.toBe<Promise<{ n: number }>>()
    expect(reply.awaitKafka('quotes.requests', {}, { timeout: '1000' })).type.toRaiseError()
    expect(reply.awaitKafka('quotes.requests', {}, { schema: { type: 'object' } })).type.toRaiseError()
    expect(reply.awaitKafka('quotes.requests', {}, { schema: Quote, idempotencyKey: 'k-1', idempotencyScope: 'customer-1' })).type.toBe<Promise<Static<typeof Quote>>>()
    expect(reply.awaitKafka('quotes.requests', {}, { idempotencyKey: 42 })).type.toRaiseError()
    expect(reply.awaitKafka('quotes.requests', {}, { schema: Quote, accepted: true })).type.toBe<Promise<Static<typeof Quote>>>()
    expect(reply.awaitKafka('quotes.requests', {}, { accepted: 1 })).type.toRaiseError()
  })
})

test('app.kafkaReply is the client: request() typed like awaitKafka, stats(), health()', () => {
  const app = Fastify()
  expect(app.kafkaReply).type.toBe<KafkaReply>()
  expect(app.kafkaReply.request('quotes.requests', {}, { schema: Quote })).type.toBe<Promise<Static<typeof Quote>>>()
  expect(app.kafkaReply.stats()).type.toBe<KafkaReplyStats>()
  expect(app.kafkaReply.stats().replayed).type.toBe<number>()
  expect(app.kafkaReply.request).type.toBeCallableWith('quotes.requests', {}, { idempotencyKey: 'k-1', onRoute: (route: { path: 'memory' | 'redis' | 'replayed', consumedBy: string }) => route.path })
  expect(new errors.IDEMPOTENCY_IN_PROGRESS().statusCode).type.toBeAssignableTo<number>()
  expect(app.kafkaReply.health()).type.toBe<{ ready: boolean, kafka: boolean, redis: boolean }>()
  expect(app.kafkaReply.poll('id', 'customer-1')).type.toBe<Promise<unknown>>()
  expect(app.kafkaReply.stats().accepted).type.toBe<number>()
  expect(new errors.ACCEPTED().statusCode).type.toBeAssignableTo<number>()
  expect(new errors.UNKNOWN_REPLY().code).type.toBeAssignableTo<string>()
  expect(new errors.TIMEOUT(1000).statusCode).type.toBeAssignableTo<number>()
})

test('createResponder handlers are typed: payload unknown, a context, any return', () => {
  expect(createResponder({ kafka: { brokers: ['127.0.0.1:9092'] }, groupId: 'pricing', handlers: {} })).type.toBe<Promise<Responder>>()
  const handler: Handler = (payload, context) => {
    expect(payload).type.toBe<unknown>()
    expect(context).type.toBe<RequestContext>()
    expect(context.deadline).type.toBe<number | undefined>()
    expect(context.idempotencyKey).type.toBe<string | undefined>()
    return { ok: true }
  }
  expect(createResponder).type.toBeCallableWith({ kafka: { brokers: ['127.0.0.1:9092'] }, groupId: 'pricing', handlers: { 'quotes.requests': handler } })
  expect(createResponder).type.toBeCallableWith({ kafka: { brokers: ['127.0.0.1:9092'] }, groupId: 'pricing', handlers: { 'quotes.requests': async () => { throw new ReplyError(422, 'unknown sku', 'UNKNOWN_SKU') } } })
  expect(createResponder).type.not.toBeCallableWith({ kafka: { brokers: ['127.0.0.1:9092'] }, groupId: 'pricing', handlers: { 'quotes.requests': 'not a function' } })
  expect(createResponder).type.not.toBeCallableWith({ kafka: { brokers: ['127.0.0.1:9092'] }, handlers: {} })
  expect(new ReplyError(422, 'unknown sku')).type.toBeAssignableTo<Error>()
})
