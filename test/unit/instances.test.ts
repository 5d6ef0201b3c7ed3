import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { InstanceDirectory } from '../../plugin/instances.js'
import { silentLog } from '../../plugin/log.js'

/** A directory over a member list the test sets; counts the lookups. */
function directory (forgetAfter: number) {
  const group = { stable: true, instanceIds: ['a', 'b'] }
  let lookups = 0
  const instances = new InstanceDirectory(async () => {
    lookups++
    return { ...group, instanceIds: [...group.instanceIds] }
  }, silentLog, { minInterval: 0, forgetAfter })
  return { instances, group, lookups: () => lookups }
}

t.test('a member missing from a stable group is known until forgetAfter has passed, then forgotten', async t => {
  const { instances, group } = directory(200)
  await instances.refresh()
  t.ok(instances.isMember('b'))

  group.instanceIds = ['a']
  await instances.refresh()
  t.ok(instances.isMember('b'), 'just left (a session that expired, a rejoin under way): its replies are still handed over')

  await sleep(250)
  t.notOk(instances.isMember('b'), 'gone for longer than a call waits')
  t.notOk(await instances.confirmMember('b'), 'and a lookup does not bring it back')
  t.ok(instances.isMember('a'))
})

t.test('a member that rejoins is a member again; a partial list while the group rebalances forgets nobody', async t => {
  const { instances, group } = directory(200)
  await instances.refresh()
  group.instanceIds = ['a']
  await instances.refresh()
  group.instanceIds = ['a', 'b']
  await instances.refresh()
  await sleep(250)
  t.ok(instances.isMember('b'), 'listed again: no longer leaving')

  group.stable = false
  group.instanceIds = []
  await instances.refresh()
  await sleep(250)
  t.ok(instances.isMember('a') && instances.isMember('b'), 'a rebalancing group\'s list removes no one')
})

t.test('an id never seen in the group is unknown, and costs a lookup at most once per miss', async t => {
  const { instances, lookups } = directory(60_000)
  t.notOk(await instances.confirmMember('forged'))
  t.equal(lookups(), 1)
  t.ok(await instances.confirmMember('a'), 'found by that lookup')
  t.equal(lookups(), 1)
})
