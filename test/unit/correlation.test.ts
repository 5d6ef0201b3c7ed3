import t from 'tap'
import { newCorrelation, parseCorrelationId } from '../../plugin/correlation.js'
import { InstanceKeys, replyKey } from '../../plugin/redis/keys.js'

t.test('a new id names its instance and deadline and parses back', async t => {
  const deadline = Date.now() + 5000
  const correlation = newCorrelation('inst_1', deadline)
  t.same(parseCorrelationId(correlation.id), correlation)
  t.equal(replyKey('kr', correlation), `kr:{inst_1}:${correlation.requestId}`)
})

t.test('ids are unguessable: 1000 ids, no repeats, random part is a UUID v4', async t => {
  const ids = new Set(Array.from({ length: 1000 }, () => newCorrelation('a', 1).id))
  t.equal(ids.size, 1000)
  t.match([...ids][0], /\.[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
})

t.test('hostile ids are refused', async t => {
  const good = newCorrelation('inst', Date.now()).id
  const hostile = [
    '',
    'x'.repeat(10_000),
    good.replace('inst', 'in*st'),
    good.replace('inst', 'in?st'),
    good.replace('inst', 'in[s]t'),
    good.replace('inst', 'in\nst'),
    good + '\n',
    good + '*',
    good.replace('inst', '{inst}'),
    'inst.zzzzzzzzzzzz.00000000-0000-4000-8000-000000000000',
    // 11 base-36 digits fit the shape, but not a safe integer: no deadline can be read from it.
    'inst.zzzzzzzzzzz.00000000-0000-4000-8000-000000000000'
  ]
  for (const id of hostile) t.equal(parseCorrelationId(id), undefined, JSON.stringify(id.slice(0, 40)))
})

t.test('the keyspace pattern matches one instance and escapes glob characters of the prefix', async t => {
  t.equal(new InstanceKeys('kr', 'abc').pattern(0), '__keyspace@0__:kr:{abc}:*')
  t.equal(new InstanceKeys('a*b', 'abc').pattern(2), '__keyspace@2__:a\\*b:{abc}:*')
})
