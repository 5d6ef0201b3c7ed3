import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { newCorrelation } from '../../plugin/correlation.js'
import { PendingCalls } from '../../plugin/pending.js'

// The calls' timers do not keep a process alive (its sockets do): this does, for the tests.
const alive = setInterval(() => {}, 1000)
t.teardown(() => { clearInterval(alive) })

t.test('the last look comes first, then the deadline, never before the deadline itself', async t => {
  const events: string[] = []
  let lateBy = -1
  const pending: PendingCalls = new PendingCalls(
    () => events.push('lastLook'),
    call => {
      events.push('deadline')
      lateBy = Date.now() - call.correlation.deadline
      pending.fail(call.correlation.id, new Error('timeout'))
    }
  )
  const correlation = newCorrelation('inst', Date.now() + 200)
  await t.rejects(pending.add(correlation, 200), /timeout/)
  t.same(events, ['lastLook', 'deadline'])
  t.ok(lateBy >= 0, `the deadline callback ran at or after the deadline (${lateBy} ms)`)
  t.equal(pending.size, 0)
})

t.test('a reply found by the last look settles the call: no deadline follows; a failed call runs neither', async t => {
  const events: string[] = []
  const pending: PendingCalls = new PendingCalls(
    call => {
      events.push('lastLook')
      pending.settle(call.correlation.id, { outcome: { ok: true, value: 1 }, route: { path: 'redis', consumedBy: 'x' } })
    },
    () => events.push('deadline')
  )
  const short = newCorrelation('inst', Date.now() + 50)
  t.same((await pending.add(short, 50)).outcome, { ok: true, value: 1 })
  await sleep(100)
  t.same(events, ['lastLook'], 'no deadline after the call settled')

  const other = newCorrelation('inst', Date.now() + 50)
  const waiting = pending.add(other, 50)
  t.ok(pending.fail(other.id, new Error('cancelled')))
  await t.rejects(waiting, /cancelled/)
  await sleep(100)
  t.same(events, ['lastLook'], 'neither for a call that failed first')
})
