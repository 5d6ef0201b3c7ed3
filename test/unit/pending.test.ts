import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { newCorrelation } from '../../plugin/correlation.js'
import { LAST_LOOK_LEAD_MS, PendingCalls, type PendingCall } from '../../plugin/pending.js'

// The calls' timers do not keep a process alive (its sockets do): this does, for the tests.
const alive = setInterval(() => {}, 1000)
t.teardown(() => { clearInterval(alive) })

t.test('the last look comes before the deadline, the deadline after it, with nothing to wait for in between', async t => {
  const events: Array<[string, number]> = []
  const pending: PendingCalls = new PendingCalls(
    call => events.push(['lastLook', call.correlation.deadline - Date.now()]),
    call => { events.push(['deadline', Date.now() - call.correlation.deadline]); pending.fail(call.correlation.id, new Error('timeout')) }
  )
  const correlation = newCorrelation('inst', Date.now() + 1000)
  await t.rejects(pending.add(correlation, 1000), /timeout/)
  t.same(events.map(([name]) => name), ['lastLook', 'deadline'])
  t.ok(events[0][1] > 0 && events[0][1] <= LAST_LOOK_LEAD_MS, `last look ${events[0][1]} ms before the deadline`)
  t.ok(events[1][1] >= 0, 'the deadline timer fires at or after the deadline')
  t.equal(pending.size, 0)
})

t.test('a short timeout looks a tenth of it ahead; a call settled before its deadline runs neither', async t => {
  const seen: PendingCall[] = []
  const pending = new PendingCalls(call => seen.push(call), call => seen.push(call))
  const short = newCorrelation('inst', Date.now() + 50)
  const settled = pending.add(short, 50)
  await sleep(47)
  t.equal(seen.length, 1, 'the last look 5 ms before a 50 ms deadline')
  t.ok(pending.settle(short.id, { outcome: { ok: true, value: 1 }, route: { path: 'redis', consumedBy: 'x' } }))
  t.same((await settled).outcome, { ok: true, value: 1 })
  await sleep(20)
  t.equal(seen.length, 1, 'no deadline after the call settled')
  const other = newCorrelation('inst', Date.now() + 1000)
  const waiting = pending.add(other, 1000)
  t.ok(pending.fail(other.id, new Error('cancelled')))
  await t.rejects(waiting, /cancelled/)
})
