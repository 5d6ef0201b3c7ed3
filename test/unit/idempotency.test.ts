import t from 'tap'
import { checkIdempotencyKey, idempotentCall, secondsUntil, type IdempotencyScope } from '../../plugin/idempotency.js'
import { newCorrelation, parseCorrelationId } from '../../plugin/correlation.js'
import { storesOutcome, type RoutingView } from '../../plugin/routing.js'
import { errors } from '../../plugin/errors.js'

const scope: IdempotencyScope = { route: 'POST /quotes', topic: 'quotes', scope: 'customer-1' }

t.test('keys a client may send, and keys refused with 400', async t => {
  for (const key of ['a', '8e03978e-40d5-43e8-bc93-6894a57f9324', '01ARZ3NDEKTSV4RRFFQ69G5FAV', 'b64+/=', '{slot}', 'x'.repeat(255)]) {
    t.doesNotThrow(() => checkIdempotencyKey(key), key.slice(0, 40))
  }
  for (const key of ['', 'x'.repeat(256), 'with space', 'quote"', 'back\\slash', 'tab\t', 'new\nline', 'é', 42, undefined]) {
    t.throws(() => checkIdempotencyKey(key), errors.INVALID_IDEMPOTENCY_KEY, JSON.stringify(key))
  }
  const error = new errors.INVALID_IDEMPOTENCY_KEY()
  t.equal(error.statusCode, 400)
  t.equal(error.code, 'FST_KAFKA_REPLY_INVALID_IDEMPOTENCY_KEY')
})

t.test('a key means something only in its scope: route, topic and idempotencyScope each make another reference', async t => {
  const ref = (key: string, s = scope) => idempotentCall(key, s, '{}', undefined).ref
  const base = ref('k1')
  t.match(base, /^[A-Za-z0-9_-]{22}$/, 'a reference is 22 base64url characters')
  t.equal(ref('k1'), base, 'the same key in the same scope: the same reference')
  t.not(ref('k2'), base)
  t.not(ref('k1', { ...scope, route: 'PUT /quotes' }), base)
  t.not(ref('k1', { ...scope, topic: 'orders' }), base)
  t.not(ref('k1', { ...scope, scope: 'customer-2' }), base)
  t.not(ref('k1', { ...scope, scope: undefined }), base)
  t.not(ref('k1', { ...scope, route: undefined }), base, 'KafkaReply.request outside a route is its own scope')
  // Parts cannot run into each other: ("a", "b:c") is not ("a:b", "c").
  t.not(ref('c', { route: 'a', topic: 'b', scope: undefined }), ref('b:c', { route: 'a', topic: '', scope: undefined }))
  t.notMatch(base, /k1|customer|quotes/, 'nothing of the key or scope shows')
})

t.test('the fingerprint tells another payload or record key apart', async t => {
  const fingerprint = (json: string, key?: string) => idempotentCall('k', scope, json, key).fingerprint
  t.match(fingerprint('{"a":1}'), /^[A-Za-z0-9_-]{43}$/)
  t.equal(fingerprint('{"a":1}'), fingerprint('{"a":1}'))
  t.not(fingerprint('{"a":1}'), fingerprint('{"a":2}'))
  t.not(fingerprint('{"a":1}', 'c1'), fingerprint('{"a":1}', 'c2'))
  t.not(fingerprint('{"a":1}', 'c1'), fingerprint('{"a":1}'))
})

t.test('a keyed call carries its reference in its correlation id, and parses back', async t => {
  const { ref } = idempotentCall('k', scope, '{}', undefined)
  const correlation = newCorrelation('inst_1', Date.now() + 5000, ref)
  t.ok(correlation.id.endsWith(`.${ref}`))
  t.same(parseCorrelationId(correlation.id), correlation)
  t.equal(parseCorrelationId(newCorrelation('inst_1', 1).id)?.ref, undefined, 'a call without a key has none')
  const longest = newCorrelation('i'.repeat(64), 8.64e15, ref).id
  t.same(parseCorrelationId(longest)?.ref, ref, 'the longest id still parses')
  t.equal(parseCorrelationId(`${correlation.id}x`), undefined, 'a reference of another length is refused')
  t.equal(parseCorrelationId(correlation.id.replace(ref, `${ref.slice(0, 21)}*`)), undefined)
})

t.test('outcomes stored: a keyed reply on time or late, not a forged far-future one, nor an unkeyed one', async t => {
  const now = Date.now()
  const view: RoutingView = { instanceId: 'me', now, latestDeadline: now + 65_000, replyGrace: 1000, isPending: () => false, isMember: () => false }
  const reply = (deadline: number, ref?: string) => ({ correlation: newCorrelation('other', deadline, ref), outcome: { ok: true as const, value: 1 }, json: '1', headers: {} })
  const ref = 'a'.repeat(22)
  t.ok(storesOutcome(reply(now + 1000, ref), view), 'on time')
  t.ok(storesOutcome(reply(now - 60_000, ref), view), 'a minute late')
  t.notOk(storesOutcome(reply(now + 3_600_000, ref), view), 'forged')
  t.notOk(storesOutcome(reply(now + 1000), view), 'no key')
  t.notOk(storesOutcome(undefined, view), 'malformed')
})

t.test('Retry-After of a 409: whole seconds until the call in flight ends, at least one', async t => {
  t.equal(secondsUntil(10_000, 8_500), 2)
  t.equal(secondsUntil(10_000, 10_000), 1)
  t.equal(secondsUntil(10_000, 12_000), 1)
})
