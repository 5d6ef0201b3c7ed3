// npm start: one pricing worker and one replica of the quotes API on the local stack, with the
// default configuration (overridable through the environment), for trying the API with curl.
// Ctrl-C (or SIGTERM) stops both gracefully.
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type * as Stack from '../../stack/stack.mjs'
import { loadConfig } from '../config.js'
import { startChild, type Child } from './children.js'
import { projectRoot, serverEntry, workerEntry } from './paths.js'

const stack = await import(pathToFileURL(join(projectRoot, 'stack/stack.mjs')).href) as typeof Stack
const { kafkaBrokers, redisUrl } = await stack.up()
const env = { KAFKA_BROKERS: kafkaBrokers.join(','), REDIS_URL: redisUrl }

const children: Child[] = []
let stopping = false
async function stop (code: number): Promise<void> {
  if (stopping) return
  stopping = true
  // The API first: it answers what still waits with 503 before the worker goes.
  for (const child of children.slice().reverse()) await child.stop()
  process.exit(code)
}
process.once('SIGINT', () => { stop(0).catch(() => process.exit(1)) })
process.once('SIGTERM', () => { stop(0).catch(() => process.exit(1)) })

try {
  // The worker creates the request topic, so it goes first.
  children.push(await startChild('worker', workerEntry, { env, echo: true }))
  children.push(await startChild('api', serverEntry, { env, echo: true }))
} catch (err) {
  console.error((err as Error).message)
  await stop(1)
}
for (const child of children) {
  child.process.once('exit', code => {
    if (stopping) return
    console.error(`${child.name} exited (${code}): stopping`)
    stop(1).catch(() => process.exit(1))
  })
}

const { host } = loadConfig()
const base = `http://${host}:${children[1].port}`
console.log(`
quotes API on ${base}, pricing worker running. Try:

  curl -s -X POST ${base}/quotes -H 'content-type: application/json' -d '{"sku":"KB-101","quantity":12,"customerId":"cust-42"}'
  curl -s ${base}/health/ready
  curl -s ${base}/stats

SKUs: KB-101, MS-202, MN-303, HD-404; XX-999 is unknown (422), CRASH fails (502), SLOW outlasts the deadline (504).
With -H 'Idempotency-Key: "order-1"' a retry of the same request gets the first one's quote (Idempotent-Replayed: true),
or a 409 with Retry-After while it is still priced: try it with SLOW (curl -i shows the headers).
Ctrl-C stops both.
`)
