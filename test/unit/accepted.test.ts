import t from 'tap'
import { grants, newAcceptedCall, parsePrefer, parseReplyId, replyId, scopeDigest } from '../../plugin/accepted.js'
import { parseAcceptedRecord } from '../../plugin/redis/idempotency-records.js'
import { newCorrelation, parseCorrelationId } from '../../plugin/correlation.js'
import { resolveOptions } from '../../plugin/options.js'
import { errors } from '../../plugin/errors.js'

t.test('Prefer (RFC 7240): respond-async among other preferences, in any case, with parameters and quoted values', async t => {
  const yes = ['respond-async', 'Respond-Async', ' respond-async ', 'respond-async, wait=10', 'wait=10, respond-async',
    'return=minimal; foo="a,b", respond-async', 'respond-async; x=1', ['wait=5', 'respond-async'], 'handling=lenient,respond-async']
  for (const header of yes) t.ok(parsePrefer(header).respondAsync, JSON.stringify(header))
  const no = [undefined, '', 'wait=10', 'return=representation', 'foo="respond-async"', 'x="a, respond-async"', 'respond-asyncx', 'no-respond-async']
  for (const header of no) t.notOk(parsePrefer(header).respondAsync, JSON.stringify(header))
  t.same(parsePrefer('respond-async, wait=10'), { respondAsync: true, wait: 10 })
  t.same(parsePrefer('WAIT=3; x, wait=9, respond-async'), { respondAsync: true, wait: 3 }, 'only the first wait counts')
  t.same(parsePrefer('wait=soon, respond-async'), { respondAsync: true }, 'a wait that is not delta-seconds is ignored')
})

t.test('a reply id: 128 random bits and the record\'s reference, no instance id or deadline', async t => {
  const now = Date.now()
  const a = newAcceptedCall('customer-1', 3_600_000, now)
  const b = newAcceptedCall('customer-1', 3_600_000, now)
  t.match(a.token, /^[A-Za-z0-9_-]{22}$/)
  t.not(a.token, b.token)
  t.not(a.ref, b.ref, 'without a key, each call its own record')
  t.equal(a.until, now + 3_600_000)
  t.equal(a.keyed, false)
  const id = replyId(a.ref, a.token)
  t.match(id, /^[A-Za-z0-9_-]{44}$/)
  t.same(parseReplyId(id), { ref: a.ref, token: a.token })
  for (const bad of ['', id.slice(1), `${id}x`, `${id.slice(1)}*`, 42, undefined]) t.equal(parseReplyId(bad), undefined, JSON.stringify(bad))

  const correlation = newCorrelation('inst_1', now + 5000, a.ref)
  t.notOk(correlation.id.includes(a.token), 'the correlation id carries no token')
  t.equal(parseCorrelationId(correlation.id)?.ref, a.ref)

  const keyed = newAcceptedCall(undefined, 1000, now, 'k'.repeat(22))
  t.equal(keyed.ref, 'k'.repeat(22), 'with a key: the key\'s record')
  t.equal(keyed.keyed, true)
})

t.test('a poll is granted only with the token and the call\'s scope', async t => {
  const call = newAcceptedCall('alice', 1000, 0)
  const access = `${call.token}${call.scope}`
  t.ok(grants(access, call.token, 'alice'))
  t.notOk(grants(access, call.token, 'bob'))
  t.notOk(grants(access, call.token, undefined))
  t.notOk(grants(access, newAcceptedCall('alice', 1000, 0).token, 'alice'))
  const unscoped = newAcceptedCall(undefined, 1000, 0)
  t.ok(grants(`${unscoped.token}${unscoped.scope}`, unscoped.token, undefined))
  t.notOk(grants(`${unscoped.token}${unscoped.scope}`, unscoped.token, ''), 'no scope is not the empty scope')
  t.notMatch(scopeDigest('alice'), /alice/)
})

t.test('accepted records as a poll reads them', async t => {
  const access = 'x'.repeat(44)
  t.same(parseAcceptedRecord(`A1700000000000|${'f'.repeat(43)}|1700003600000|0|${access}|inst.abc.def`), { until: 1700003600000, access })
  t.same(parseAcceptedRecord(`C${'f'.repeat(43)}|1700003600000|1|${access}|Rinst|{"a":"|"}`), { until: 1700003600000, access, stored: 'Rinst|{"a":"|"}' })
  t.equal(parseAcceptedRecord(`F1|${'f'.repeat(43)}|id`), undefined, 'a keyed call\'s record without accepted is not pollable')
  t.equal(parseAcceptedRecord(`D${'f'.repeat(43)}|Rinst|1`), undefined)
  t.equal(parseAcceptedRecord('A1|2'), undefined)
  t.equal(parseAcceptedRecord(`C${'f'.repeat(43)}|soon|1|${access}|R|1`), undefined)
})

t.test('options: accepted, acceptedTtl, acceptedPrefix, acceptedScope; the poll route only when asked for', async t => {
  const base = { kafka: { brokers: ['127.0.0.1:9092'] }, redis: 'redis://127.0.0.1:6379', replyTopic: 'r', groupId: 'g' }
  const defaults = resolveOptions(base)
  t.same([defaults.accepted, defaults.acceptedTtl, defaults.acceptedPrefix], [false, 3_600_000, undefined])
  t.equal(resolveOptions({ ...base, accepted: true }).acceptedPrefix, '/kafka-reply')
  t.equal(resolveOptions({ ...base, acceptedPrefix: '/api/v1/async' }).acceptedPrefix, '/api/v1/async')
  t.equal(resolveOptions({ ...base, acceptedPrefix: '' }).acceptedPrefix, '', 'the empty prefix: /replies/:id')
  const scope = () => 'x'
  t.equal(resolveOptions({ ...base, acceptedScope: scope }).acceptedScope, scope)
  for (const [name, value] of [['acceptedTtl', 999], ['acceptedTtl', 1.5], ['acceptedTtl', '1h'], ['accepted', 'yes'], ['acceptedPrefix', 'no-slash'], ['acceptedPrefix', '/a/'], ['acceptedPrefix', '/a b'], ['acceptedScope', 'user']] as const) {
    t.throws(() => resolveOptions({ ...base, [name]: value }), { code: 'FST_KAFKA_REPLY_INVALID_OPTION', message: new RegExp(name) }, `${name}: ${JSON.stringify(value)}`)
  }
})

t.test('the codes of a 202 and of an unknown reply', async t => {
  t.match(new errors.ACCEPTED(), { statusCode: 202, code: 'FST_KAFKA_REPLY_ACCEPTED' })
  t.match(new errors.UNKNOWN_REPLY(), { statusCode: 404, code: 'FST_KAFKA_REPLY_UNKNOWN_REPLY' })
})
