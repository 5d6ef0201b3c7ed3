// An instance of service A for the benchmarks: POST /call awaits the worker through the plugin.
// MODE=notify (the plugin as shipped) or MODE=poll (the busy-polling baseline, POLL_MS apart).
// IDEMPOTENCY_KEYS=unique: every call with an idempotency key of its own. ACCEPTED=true: every call
// accepted (the plugin option: 202 past the deadline, GET /kafka-reply/replies/:id). TIMEOUT_MS: the calls'
// deadline (the plugin's default when unset). GET /event-loop: this process's event loop since the
// last GET (see EventLoopMonitor); GET /deadlines: how late it ended its 504s (see watchDeadlines).
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import kafkaReply from '../../plugin/index.js'
import { watchDeadlines } from '../lib/deadline-watch.js'
import { EventLoopMonitor } from '../lib/event-loop.js'
import { pollingBaseline } from '../lib/polling-store.js'
import { kafka, need, onStop, ready } from './env.js'

const requestTopic = need('REQUEST_TOPIC')
const eventLoop = new EventLoopMonitor()
const app = Fastify()
await app.register(kafkaReply, {
  kafka: kafka(need('CLIENT_ID')),
  // REDIS_CLUSTER_URLS (comma-separated): a Redis Cluster instead of REDIS_URL.
  redis: process.env.REDIS_CLUSTER_URLS === undefined ? need('REDIS_URL') : { cluster: process.env.REDIS_CLUSTER_URLS.split(',') },
  replyTopic: need('REPLY_TOPIC'),
  groupId: need('GROUP_ID'),
  keyPrefix: need('KEY_PREFIX'),
  affinity: process.env.AFFINITY === 'true',
  maxPending: 100_000,
  accepted: process.env.ACCEPTED === 'true',
  consumer: { heartbeatInterval: 500, maxWaitTimeInMs: 100 },
  ...(process.env.TIMEOUT_MS === undefined ? {} : { timeout: Number(process.env.TIMEOUT_MS) }),
  ...(process.env.MODE === 'poll' ? pollingBaseline(Number(need('POLL_MS'))) : {})
})
const deadlines = watchDeadlines(app)
// The key is made here rather than sent by the load generator: autocannon builds every request
// anew when a header changes per request, which would cost the keyed scenarios CPU on the same
// cores that the plugin's own work does not.
const keyed = process.env.IDEMPOTENCY_KEYS === 'unique'
app.post('/call', async (request, reply) => keyed
  ? reply.awaitKafka(requestTopic, request.body, { idempotencyKey: randomUUID() })
  : reply.awaitKafka(requestTopic, request.body))
app.get('/stats', async () => app.kafkaReply.stats())
app.get('/event-loop', async () => eventLoop.read())
app.get('/deadlines', async () => deadlines())
app.addHook('onClose', async () => eventLoop.close())
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })
onStop(() => app.close())
ready(need('CLIENT_ID'), (app.server.address() as { port: number }).port)
