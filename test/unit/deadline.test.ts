// One helper for "this promise, or a deadline": its timer never outlives it.
import t from 'tap'
import { withDeadline } from '../../plugin/deadline.js'

t.test('the promise wins: its value, and no timer left behind', async t => {
  const before = process.getActiveResourcesInfo().filter(name => name === 'Timeout').length
  t.equal(await withDeadline(Promise.resolve(7), 60_000, () => 0), 7)
  t.equal(process.getActiveResourcesInfo().filter(name => name === 'Timeout').length, before)
  await t.rejects(withDeadline(Promise.reject(new Error('own')), 60_000, () => 0), { message: 'own' })
})

t.test('the deadline wins: what onTimeout returns, or what it throws', async t => {
  const never = new Promise<number>(() => {})
  t.equal(await withDeadline(never, 5, () => -1), -1)
  await t.rejects(withDeadline(never, 5, () => { throw new Error('too slow') }), { message: 'too slow' })
  t.equal(await withDeadline(never, -10, () => 'at once'), 'at once', 'a deadline already past')
})
