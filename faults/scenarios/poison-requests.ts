import { request } from 'node:http'
import { leakIn } from '../lib/leaks.js'
import type { Scenario } from '../lib/types.js'

/** One poison request every this often, the kinds in turn. */
const EVERY_MS = 200
/** Over the broker's message.max.bytes (1 MB by default), and not much more: parsing it costs the replicas CPU. */
const OVERSIZED_BYTES = 1200 * 1024

/** A poison request: where it goes, what it sends, and the answer it must get. */
interface Poison {
  kind: 'oversized' | 'missing topic'
  topic: string
  body: string
  status: number
  code: string
}

function poisons (requestTopic: string, missingTopic: string): Poison[] {
  return [
    // The payload reaches the broker (the replicas' maxRequestBytes is above it), which refuses it.
    { kind: 'oversized', topic: requestTopic, body: JSON.stringify({ sku: 'KB-101', quantity: 1, customerId: 'poison', note: 'x'.repeat(OVERSIZED_BYTES) }), status: 413, code: 'FST_KAFKA_REPLY_PAYLOAD_TOO_LARGE' },
    { kind: 'missing topic', topic: missingTopic, body: JSON.stringify({ sku: 'KB-101', quantity: 1, customerId: 'poison' }), status: 503, code: 'FST_KAFKA_REPLY_TOPIC_UNAVAILABLE' }
  ]
}

/** What came back for one poison request: `status code`, and what was wrong with it, if anything. */
interface Outcome {
  kind: Poison['kind']
  answer: string
  wrong?: string
}

async function send (port: number, poison: Poison, secrets: readonly string[]): Promise<Outcome> {
  let status: number
  let text: string
  try {
    ({ status, text } = await post(port, poison))
  } catch (err) {
    return { kind: poison.kind, answer: 'no answer', wrong: (err as Error).message }
  }
  let code = '-'
  try {
    code = String((JSON.parse(text) as { code?: unknown }).code)
  } catch {}
  const answer = `${status} ${code}`
  if (status !== poison.status || code !== poison.code) return { kind: poison.kind, answer, wrong: `${answer} rather than ${poison.status} ${poison.code}: ${text.slice(0, 200)}` }
  if (poison.kind === 'missing topic' && !text.includes(poison.topic)) return { kind: poison.kind, answer, wrong: `the error does not name the topic: ${text.slice(0, 200)}` }
  const leak = leakIn(text, secrets)
  return leak === undefined ? { kind: poison.kind, answer } : { kind: poison.kind, answer, wrong: `shows ${leak}` }
}

/** POSTs the poison to the replica's relay route on a connection of its own. */
async function post (port: number, poison: Poison): Promise<{ status: number, text: string }> {
  return await new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: `/relay/${encodeURIComponent(poison.topic)}`,
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(poison.body) },
      timeout: 15_000
    }, res => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('no answer within 15 s')))
    req.on('error', reject)
    req.end(poison.body)
  })
}

function countBy (outcomes: Outcome[], kind: Poison['kind']): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const o of outcomes) if (o.kind === kind) counts[o.answer] = (counts[o.answer] ?? 0) + 1
  return counts
}

/**
 * Poison mixed into the load, through the same replicas (their relay route), so that it shares
 * produce requests with the quotes: payloads the broker refuses as too large, and calls to a topic
 * that does not exist on a broker that does not create topics. Each poison request must fail alone,
 * with its own error; every quote must still be answered 200.
 */
export const poisonRequests: Scenario = {
  name: 'poison-requests',
  description: 'Oversized payloads (1.2 MB, refused by the broker) and calls to a topic that does not exist (auto-create off) mixed into the load on the same replicas: each fails alone, with 413 or a 503 naming the topic; every quote answered 200.',
  kafka: 'no-auto-create',
  appEnv: { RELAY_ROUTE: 'true', MAX_REQUEST_BYTES: String(4 * 1024 * 1024) },
  async fault (ctx) {
    const kinds = poisons(ctx.requestTopic, `${ctx.requestTopic}.missing`)
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
    ctx.mark(`${outcomes.length} poison requests sent`)
    ctx.note('poisonRequests', outcomes.length)
    ctx.note('oversized', countBy(outcomes, 'oversized'))
    ctx.note('missingTopic', countBy(outcomes, 'missing topic'))
    ctx.note('wrongAnswers', wrong.length)
    ctx.note('wrongSample', wrong.slice(0, 5).map(o => `${o.kind}: ${o.wrong}`))
  },
  checks: ({ tally: t, notes }) => [
    {
      claim: `every poison request failed alone with its own error: ${Number(notes.poisonRequests) - Number(notes.wrongAnswers)} of ${notes.poisonRequests} ` +
        `(oversized: ${JSON.stringify(notes.oversized)}; missing topic: ${JSON.stringify(notes.missingTopic)})${Number(notes.wrongAnswers) > 0 ? ` (${(notes.wrongSample as string[]).join('; ')})` : ''}`,
      ok: Number(notes.poisonRequests) > 0 && notes.wrongAnswers === 0
    },
    { claim: `every quote of the load answered 200 with its own quote (${t.answered} of ${t.requests})`, ok: t.requests > 0 && t.answered === t.requests }
  ]
}
