// One request's trace, gathered from the trace files of the demo's processes and drawn as a
// waterfall: which process spent which milliseconds.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import type { SpanLine } from '../trace-file.js'
import { exchange, type Exchange } from './client.js'
import type { DemoContext } from './steps.js'

const KINDS = ['internal', 'server', 'client', 'producer', 'consumer']
const BAR = 40
const QUOTE = { sku: 'KB-101', quantity: 2, customerId: 'cust-ada' }

/** The spans of `traceId` in `files`, once `complete` says all have arrived (or after `ms`). */
export async function gatherTrace (files: string[], traceId: string, complete: (spans: SpanLine[]) => boolean, ms = 5000): Promise<SpanLine[]> {
  const giveUp = Date.now() + ms
  for (;;) {
    const spans = files.flatMap(read).filter(span => span.traceId === traceId)
    if (complete(spans) || Date.now() > giveUp) return spans
    await sleep(50)
  }
}

function read (file: string): SpanLine[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line) as SpanLine)
  } catch {
    return [] // not written yet
  }
}

/** The spans as a tree (children under their parent, in start order), with a time bar each. */
export function waterfall (spans: SpanLine[]): string {
  const ids = new Set(spans.map(s => s.spanId))
  const children = new Map<string | undefined, SpanLine[]>()
  for (const span of spans) {
    const parent = span.parentSpanId !== undefined && ids.has(span.parentSpanId) ? span.parentSpanId : undefined
    children.set(parent, [...(children.get(parent) ?? []), span])
  }
  for (const list of children.values()) list.sort((a, b) => a.start - b.start)
  const rows: Array<{ span: SpanLine, depth: number }> = []
  const walk = (parent: string | undefined, depth: number) => {
    for (const span of children.get(parent) ?? []) {
      rows.push({ span, depth })
      walk(span.spanId, depth + 1)
    }
  }
  walk(undefined, 0)
  if (rows.length === 0) return '  (no spans)'
  const t0 = Math.min(...spans.map(s => s.start))
  const total = Math.max(...spans.map(s => s.start + s.durationMs)) - t0
  const names = rows.map(({ span, depth }) => `${'  '.repeat(depth)}${span.name} (${KINDS[span.kind] ?? span.kind})`)
  const services = rows.map(({ span }) => span.service)
  const nameWidth = Math.max(4, ...names.map(n => n.length))
  const serviceWidth = Math.max(7, ...services.map(s => s.length))
  const header = `  ${'process'.padEnd(serviceWidth)}  ${'span'.padEnd(nameWidth)}  ${'start ms'.padStart(8)}  ${'ms'.padStart(7)}  ${'0'.padEnd(BAR / 2)}${`${total.toFixed(1)} ms`.padStart(BAR / 2)}`
  const lines = rows.map(({ span }, i) => {
    const from = span.start - t0
    const left = Math.min(BAR - 1, Math.floor(from / total * BAR))
    const width = Math.max(1, Math.round(span.durationMs / total * BAR))
    const bar = ' '.repeat(left) + '█'.repeat(Math.min(width, BAR - left))
    const error = span.status === 2 ? ' error' : ''
    return `  ${services[i].padEnd(serviceWidth)}  ${names[i].padEnd(nameWidth)}  ${from.toFixed(2).padStart(8)}  ${span.durationMs.toFixed(2).padStart(7)}  |${bar.padEnd(BAR)}|${error}`
  })
  return [header, ...lines].join('\n')
}

/**
 * Sends quotes, each with a traceparent of the demo's own, until one is handed over through
 * Redis; then draws that request's trace from the processes' trace files.
 */
export async function traceOneRequest (ctx: DemoContext, files: string[]): Promise<void> {
  const { replicas, checks } = ctx
  let traced: { exchange: Exchange, traceId: string } | undefined
  const seen: string[] = []
  for (let n = 0; n < 16 && traced === undefined; n++) {
    const traceId = randomBytes(16).toString('hex')
    const traceparent = `00-${traceId}-${randomBytes(8).toString('hex')}-01`
    // Always the same replica: alternating replicas can keep step with the worker's round-robin
    // choice of reply partition, so that every reply lands on its own caller's partition.
    const answer = await exchange(replicas[0].port!, 'POST', '/quotes', QUOTE, { traceparent })
    if (answer.status === 200 && answer.path === 'redis') traced = { exchange: answer, traceId }
    seen.push(`${answer.status} ${answer.path}`)
  }
  checks.check(traced !== undefined, `a quote was handed over through Redis, to be traced (${seen.join(', ')})`)
  if (traced === undefined) return
  const { exchange: answer, traceId } = traced
  const expected = (spans: SpanLine[]) => ['POST /quotes', 'call ', 'send ', 'process ', 'handover '].every(name => spans.some(s => s.name.startsWith(name)))
  const spans = await gatherTrace(files, traceId, expected)
  console.log(`  POST /quotes to ${answer.instance}; the reply consumed by ${answer.consumedBy} and handed over through Redis; ${answer.ms.toFixed(2)} ms at the client`)
  console.log(`  trace ${traceId}, ${spans.length} spans from ${new Set(spans.map(s => s.service)).size} processes:\n`)
  console.log(waterfall(spans))
  console.log()
  checks.check(expected(spans), 'the trace holds HTTP in, the call, its send, the worker\'s process span and the hand-over')
  checks.check(new Set(spans.map(s => s.service)).size === 3, 'the trace spans three processes: two replicas and the worker')
}
