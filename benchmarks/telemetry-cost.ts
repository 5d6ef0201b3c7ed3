// npm run bench:telemetry: what the OpenTelemetry hooks cost per call, in CPU time, with no SDK
// registered (the API's no-ops) and with an SDK that samples and records every call. Times the
// hooks one call passes through in all three processes: the caller (CLIENT and PRODUCER spans,
// the duration histogram), the replica that hands the reply over (extracting its context, the
// hand-over span) and the worker (the CONSUMER span, the reply's context, its histogram). Each
// mode runs in a process of its own, since an SDK registers globally.
import { spawnSync } from 'node:child_process'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { metrics } from '@opentelemetry/api'
import { ExportResultCode } from '@opentelemetry/core'
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics'
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { CallTelemetry, endSpan } from '../plugin/telemetry/calls.js'
import { ResponderTelemetry } from '../plugin/telemetry/responder.js'
import { StatsCounters } from '../plugin/stats.js'

const { values: args } = parseArgs({ options: { mode: { type: 'string' }, calls: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '9' } } })
const calls = Number(args.calls)
const rounds = Number(args.rounds)

/** A reader that is never collected: instruments aggregate every record, as under a real SDK. */
class IdleReader extends MetricReader {
  protected async onForceFlush (): Promise<void> {}
  protected async onShutdown (): Promise<void> {}
}

if (args.mode === undefined) {
  // The parent: one child process per mode, interleaved, so that a burst of load on the machine
  // hits both alike.
  const runs: Record<string, number[]> = { 'no SDK': [], 'SDK, every call sampled': [] }
  for (let i = 0; i < 3; i++) {
    for (const [label, mode] of [['no SDK', 'none'], ['SDK, every call sampled', 'sdk']]) {
      const child = spawnSync(process.execPath, [import.meta.filename, '--mode', mode, '--calls', String(calls), '--rounds', String(rounds)], { encoding: 'utf8' })
      if (child.status !== 0) throw new Error(child.stderr)
      runs[label].push(Number(child.stdout.trim()))
    }
  }
  console.log(`telemetry hooks per call (caller + hand-over + worker), median of ${rounds} rounds of ${calls} calls, 3 processes per mode:`)
  for (const [label, values] of Object.entries(runs)) console.log(`  ${label.padEnd(24)} ${values.map(v => `${(v / 1000).toFixed(2)} µs`).join('  ')}  -> median ${(median(values) / 1000).toFixed(2)} µs`)
} else {
  if (args.mode === 'sdk') registerSdk()
  console.log(await measure())
}

function registerSdk (): void {
  const exporter = { export: (_spans: unknown[], done: (r: { code: number }) => void) => done({ code: ExportResultCode.SUCCESS }), shutdown: async () => {} }
  new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 65_536 })] }).register()
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new IdleReader()] }))
}

/** Median ns per call. */
async function measure (): Promise<number> {
  const counters = new StatsCounters()
  const stats = () => counters.snapshot(0)
  const caller = new CallTelemetry('bench-a', 'bench.replies', stats)
  const owner = new CallTelemetry('bench-b', 'bench.replies', stats)
  const worker = new ResponderTelemetry()
  const route = { path: 'redis' as const, consumedBy: 'bench-b' }
  const one = (n: number) => {
    const id = `bench-a.${n}`
    const call = caller.start('bench.requests')
    const headers: Record<string, string> = { kafka_correlationId: id }
    const send = call.publish(id, headers)
    endSpan(send.span, undefined)
    const process = worker.process('bench.requests', 0, id, headers)
    process.run(() => n)
    const reply: Record<string, string> = { kafka_correlationId: id }
    process.inject(reply)
    process.end('ok')
    const handover = owner.handover(reply, id, 'bench-b')
    if (handover !== undefined) endSpan(handover, undefined)
    call.arrived(route)
    call.end()
  }
  const times: number[] = []
  for (let round = -2; round < rounds; round++) { // two rounds of warm-up
    const started = process.cpuUsage()
    for (let n = 0; n < calls; n++) {
      one(n)
      if (n % 256 === 255) await yieldToLoop() // lets the batch span processor export
    }
    const used = process.cpuUsage(started)
    if (round >= 0) times.push((used.user + used.system) * 1000 / calls)
  }
  return median(times)
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}
