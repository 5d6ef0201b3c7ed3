// The reply group's assignment: the same on every member whatever order the members come in.
import t from 'tap'
import { instanceOfUserData, instanceUserData, roundRobin } from '../../plugin/kafka/assignment.js'

t.test('partitions go round-robin over the members sorted by id, topic after topic', async t => {
  const assignment = roundRobin(['m-b', 'm-a'], [{ topic: 'r', partitions: [0, 1, 2] }, { topic: 's', partitions: [0] }])
  t.same(Object.fromEntries(assignment), { 'm-a': { r: [0, 2] }, 'm-b': { r: [1], s: [0] } }, 'the turn carries on into the next topic')
  t.same(roundRobin(['m-a', 'm-b'], [{ topic: 'r', partitions: [0, 1, 2] }, { topic: 's', partitions: [0] }]), assignment, 'member order does not matter')
})

t.test('members beyond the partitions get none; no members, no assignment', async t => {
  t.same(Object.fromEntries(roundRobin(['c', 'a', 'b'], [{ topic: 'r', partitions: [0] }])), { a: { r: [0] }, b: {}, c: {} })
  t.equal(roundRobin([], [{ topic: 'r', partitions: [0] }]).size, 0)
})

t.test('the instance id travels in the member\'s user data', async t => {
  t.equal(instanceOfUserData(instanceUserData('api-1')), 'api-1')
  t.equal(instanceOfUserData(Buffer.alloc(0)), undefined)
  t.equal(instanceOfUserData(undefined), undefined)
})
