// Where each consumed reply goes, decided without Kafka or Redis: settled here, handed over to
// its instance through the store, or dropped with a reason the stats count.
import t from 'tap'
import { newCorrelation } from '../../plugin/correlation.js'
import { HEADERS } from '../../plugin/protocol.js'
import { decodeReply } from '../../plugin/reply-record.js'
import { instancesToConfirm, routeReply, type RoutingView } from '../../plugin/routing.js'

const NOW = 1_800_000_000_000

function view (overrides: Partial<RoutingView> = {}): RoutingView {
  return {
    instanceId: 'me',
    now: NOW,
    latestDeadline: NOW + 65_000,
    replyGrace: 1000,
    isPending: () => true,
    isMember: id => id === 'other',
    ...overrides
  }
}

/** A reply record for a call of `instanceId` whose deadline is `inMs` from NOW. */
function reply (instanceId: string, inMs: number, value = '{"ok":true}') {
  const correlation = newCorrelation(instanceId, NOW + inMs)
  return decodeReply({ value: Buffer.from(value), headers: { [HEADERS.correlationId]: correlation.id } }, 1000)
}

t.test('a reply for a call waiting here is settled here, whatever the group says', async t => {
  const route = routeReply(reply('me', 500), view({ isMember: () => false }))
  t.match(route, { to: 'here', reply: { outcome: { ok: true, value: { ok: true } } } })
})

t.test('a reply for this instance that no call waits for: late after its deadline, a duplicate before', async t => {
  const notPending = view({ isPending: () => false })
  t.same(routeReply(reply('me', -1), notPending), { to: 'nowhere', reason: 'late' })
  t.same(routeReply(reply('me', 0), notPending), { to: 'nowhere', reason: 'late' }, 'a deadline of now has passed')
  t.same(routeReply(reply('me', 500), notPending), { to: 'nowhere', reason: 'duplicate' })
})

t.test('a reply for another member goes to the store, to live until its deadline plus the grace', async t => {
  const route = routeReply(reply('other', 3000), view())
  t.equal(route.to, 'store')
  t.equal(route.to === 'store' && route.ttl, 3000 + 1000)
  t.equal(route.to === 'store' && route.reply.json, '{"ok":true}', 'the JSON text as the worker wrote it')
})

t.test('replies for others that nobody could read are dropped, each with its reason', async t => {
  t.same(routeReply(reply('other', -5), view()), { to: 'nowhere', reason: 'late' })
  t.same(routeReply(reply('other', 70_000), view()), { to: 'nowhere', reason: 'forged' }, 'a deadline beyond any call\'s')
  t.same(routeReply(reply('stranger', 3000), view()), { to: 'nowhere', reason: 'unknownInstance' })
  t.same(routeReply(undefined, view()), { to: 'nowhere', reason: 'malformed' }, 'a record that did not decode')
  t.equal(routeReply(reply('other', 65_000), view()).to, 'store', 'the latest deadline itself is accepted')
})

t.test('a forged deadline is dropped before the group is asked about its instance', async t => {
  const replies = [reply('stranger', 3000), reply('stranger', 3000), reply('ghost', 70_000), reply('ghost2', -1), reply('me', 100), reply('other', 100), undefined]
  t.same([...instancesToConfirm(replies, view())], ['stranger'], 'one lookup per unknown instance, none for forged, late, own or known ones')
})
