import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { Kafka, logLevel } from 'kafkajs'
import { leakIn } from '../lib/leaks.js'
import type { Scenario } from '../lib/types.js'

/** One kind of bad request every this often, the kinds in turn. */
const EVERY_MS = 20
/** Longest the scan of the request topic may take. */
const SCAN_MS = 60_000

/** A bad request: what it sends, and the status the app must answer with. */
interface BadRequest {
  kind: string
  contentType?: string
  body: string
  status: number
  /**
   * Fastify answers a body it will not read (beyond the limit) at once, with `Connection: close`,
   * and closes: a client still uploading may see the connection reset before it reads the answer.
   */
  mayCutUpload?: boolean
}

/** Every bad request carries `marker`, so that any record published for one would be found. */
function badRequests (marker: string): BadRequest[] {
  const valid = JSON.stringify({ sku: 'KB-101', quantity: 1, customerId: marker })
  return [
    { kind: 'unsupported content type', contentType: 'application/xml', body: `<quote customer="${marker}"/>`, status: 415 },
    { kind: 'JSON sent as text/plain', contentType: 'text/plain', body: valid, status: 400 },
    { kind: 'invalid JSON', contentType: 'application/json', body: valid.slice(0, -3), status: 400 },
    { kind: 'empty JSON body', contentType: 'application/json', body: '', status: 400 },
    { kind: 'schema violation', contentType: 'application/json', body: JSON.stringify({ sku: 'KB-101', quantity: 0, customerId: marker }), status: 400 },
    { kind: 'unknown property', contentType: 'application/json', body: JSON.stringify({ sku: 'KB-101', quantity: 1, customerId: marker, price: 0 }), status: 400 },
    // Beyond Fastify's 1 MiB body limit.
    { kind: 'oversized body', contentType: 'application/json', body: JSON.stringify({ sku: 'KB-101', quantity: 1, customerId: marker, note: 'x'.repeat(2 * 1024 * 1024) }), status: 413, mayCutUpload: true }
  ]
}

/** What came back for one bad request, and what was wrong with it, if anything. */
interface Outcome {
  kind: string
  wrong?: string
  /** The server closed the connection while the body was still being sent (see mayCutUpload). */
  cutUpload?: boolean
}

async function send (port: number, bad: BadRequest, secrets: readonly string[]): Promise<Outcome> {
  let answer: { status: number, text: string }
  try {
    answer = await post(port, bad)
  } catch (err) {
    const code = (err as { code?: string }).code
    if (bad.mayCutUpload === true && (code === 'EPIPE' || code === 'ECONNRESET')) return { kind: bad.kind, cutUpload: true }
    return { kind: bad.kind, wrong: `no answer: ${(err as Error).message}` }
  }
  const { status, text } = answer
  if (status !== bad.status) return { kind: bad.kind, wrong: `${status} rather than ${bad.status}: ${text.slice(0, 200)}` }
  let error: Record<string, unknown>
  try {
    error = JSON.parse(text) as Record<string, unknown>
  } catch {
    return { kind: bad.kind, wrong: `not JSON: ${text.slice(0, 200)}` }
  }
  if (error.statusCode !== bad.status || typeof error.code !== 'string' || typeof error.message !== 'string' || error.message === '') {
    return { kind: bad.kind, wrong: `not a JSON error with statusCode, code and message: ${text.slice(0, 200)}` }
  }
  const leak = leakIn(text, secrets)
  return leak === undefined ? { kind: bad.kind } : { kind: bad.kind, wrong: `shows ${leak}` }
}

/**
 * POSTs the bad request on a connection of its own. The app may answer before it has read the
 * whole body (413 for a body beyond the limit) and close the connection: the answer counts,
 * whatever happens to the rest of the upload.
 */
async function post (port: number, bad: BadRequest): Promise<{ status: number, text: string }> {
  return await new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/quotes',
      agent: false,
      headers: { 'content-length': Buffer.byteLength(bad.body), ...(bad.contentType === undefined ? {} : { 'content-type': bad.contentType }) },
      timeout: 5000
    }, res => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')))
    req.on('error', reject) // after a response has come, resolve() has already settled the promise
    req.end(bad.body)
  })
}

/** Reads `topic` from its start to its end now; resolves with how many records there were and how many contain `marker`. */
async function scan (kafka: Kafka, topic: string, marker: string, groupId: string): Promise<{ scanned: number, found: number }> {
  const admin = kafka.admin()
  await admin.connect()
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect())
  const remaining = new Map(ends.map(p => [p.partition, Number(p.high)] as const).filter(([, high]) => high > 0))
  const consumer = kafka.consumer({ groupId, heartbeatInterval: 500 })
  let scanned = 0
  let found = 0
  try {
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${topic} not read to its end within ${SCAN_MS / 1000} s (${scanned} records)`)), SCAN_MS)
      const check = () => {
        if (remaining.size > 0) return
        clearTimeout(timer)
        resolve()
      }
      check()
      consumer.run({
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            if (Number(message.offset) >= (remaining.get(batch.partition) ?? 0)) continue
            scanned++
            if (message.value?.includes(marker) === true) found++
          }
          if (Number(batch.lastOffset()) + 1 >= (remaining.get(batch.partition) ?? 0)) remaining.delete(batch.partition)
          check()
        }
      }).catch(reject)
    })
  } finally {
    await consumer.disconnect()
  }
  return { scanned, found }
}

/**
 * Bad requests to the replicas alongside the load: each must get its 4xx with a JSON error
 * (statusCode, code, message) that shows nothing it must not, and none may reach Kafka: the
 * request topic is read to its end and no record may carry the bad requests' marker.
 */
export const badInput: Scenario = {
  name: 'bad-input',
  description: 'Bad requests (unsupported or wrong content type, invalid or empty JSON, schema violations, a 2 MB body) sent alongside the load: each a 4xx with a clear JSON error, none published, no effect on the load.',
  async fault (ctx) {
    const marker = `bad${randomBytes(6).toString('hex')}`
    const kinds = badRequests(marker)
    const sending: Array<Promise<Outcome>> = []
    let n = 0
    while (ctx.now() + 2000 <= ctx.durationMs) {
      const replicas = ctx.cluster.up
      if (replicas.length > 0) sending.push(send(replicas[n % replicas.length].port, kinds[n % kinds.length], ctx.secrets))
      n++
      await ctx.sleep(EVERY_MS)
    }
    const outcomes = await Promise.all(sending)
    const wrong = outcomes.filter(o => o.wrong !== undefined)
    ctx.mark(`${outcomes.length} bad requests sent`)
    ctx.note('badRequests', outcomes.length)
    ctx.note('cutUploads', outcomes.filter(o => o.cutUpload === true).length)
    ctx.note('wrongAnswers', wrong.length)
    ctx.note('wrongSample', wrong.slice(0, 5).map(o => `${o.kind}: ${o.wrong}`))
    // Anything published for a bad request would have been produced by now.
    await ctx.sleep(1000)
    const kafka = new Kafka({ brokers: ctx.kafkaBrokers, clientId: 'bad-input-scan', logLevel: logLevel.NOTHING })
    const { scanned, found } = await scan(kafka, ctx.requestTopic, marker, `${ctx.keyPrefix}.scan`)
    ctx.mark(`${scanned} request records read, ${found} from a bad request`)
    ctx.note('requestRecords', scanned)
    ctx.note('publishedForBadRequests', found)
  },
  checks: ({ tally: t, notes }) => [
    {
      claim: `every bad request got its 4xx with a JSON error and nothing it must not show: ${Number(notes.badRequests) - Number(notes.wrongAnswers) - Number(notes.cutUploads)} of ${notes.badRequests}, ` +
        `and ${notes.cutUploads} oversized uploads were cut off by the app closing the connection after its 413${Number(notes.wrongAnswers) > 0 ? ` (${(notes.wrongSample as string[]).join('; ')})` : ''}`,
      ok: Number(notes.badRequests) > 0 && notes.wrongAnswers === 0
    },
    { claim: `no bad request reached Kafka: ${notes.publishedForBadRequests} of ${notes.requestRecords} request records carry their marker`, ok: Number(notes.requestRecords) > 0 && notes.publishedForBadRequests === 0 },
    { claim: `every request of the load answered 200 with its own quote (${t.answered} of ${t.requests})`, ok: t.requests > 0 && t.answered === t.requests }
  ]
}
