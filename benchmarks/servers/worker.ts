// Service B for the benchmarks: answers every request with its payload, doing no work.
import { createResponder } from '../../plugin/responder/index.js'
import { kafka, need, onStop, ready } from './env.js'

const responder = await createResponder({
  kafka: kafka('bench-worker'),
  groupId: need('GROUP_ID'),
  handlers: { [need('REQUEST_TOPIC')]: payload => payload },
  concurrency: 64,
  consumer: { heartbeatInterval: 500, maxWaitTimeInMs: 100 }
})
onStop(() => responder.close())
ready('worker')
