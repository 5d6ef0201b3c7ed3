import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { table } from '../../app/demo/table.js'
import type { Crash } from './cluster.js'
import { describeLateness, type Lateness } from './lateness.js'
import { FAULT_SHARE, STEADY_SHARE } from './options.js'
import type { ProcessFigures } from './processes.js'
import type { Tally } from './tally.js'
import type { Check } from './types.js'

/** One scenario's outcome, as written to results/latest.json. */
export interface ScenarioResult {
  name: string
  description: string
  passed: boolean
  /** The load, req/s. */
  rate: number
  /** Why the scenario could not run to its end, when it could not. */
  error?: string
  /** How long the load ran, s. */
  loadS: number
  /** The scenario from first topic to last process stopped, s. */
  wallS: number
  tally: Tally
  /** Requests due while no replica was up (not sent). */
  skipped: number
  /** Reply keys left after the last deadline plus grace (-1: not looked for). */
  keysLeft: number
  /** Up to 10 of the keys left, to look at. */
  keySample: string[]
  /**
   * Idempotency records under the scenario's prefix then (-1: not looked for): the outcomes of keyed
   * calls, kept for idempotencyTtl. Not keys left.
   */
  idempotencyRecords: number
  crashes: Crash[]
  checks: Check[]
  marks: Record<string, number>
  notes: Record<string, unknown>
  /** The first body of each kind of error answer (`503 FST_KAFKA_REPLY_CLOSING`, ...). */
  errorSamples: Record<string, string>
  /** Each replica's /stats when the load had drained. */
  stats: Record<string, unknown>
  /** CPU and event-loop delay of each process over the load (empty when the load did not run to its end). */
  processes: ProcessFigures[]
  /** How late the 504s came, and where the late ones' time went. */
  lateness: Lateness
}

/** The whole run, as written to results/latest.json. */
export interface SuiteResults {
  startedAt: string
  wallS: number
  config: Record<string, unknown>
  scenarios: ScenarioResult[]
}

const HEADERS = ['scenario', 'req/s', 'requests', 'answered', '504', '503', 'other', 'client err', 'to stopped', 'crossed', 'lost', 'leaks', 'keys left', 'records', 'crashes', 'result']

function row (s: ScenarioResult): Array<string | number> {
  const t = s.tally
  return [s.name, s.rate, t.requests, t.answered, t.timeout, t.unavailable, t.other, t.clientError, t.toStopped, t.crossed, t.lost, t.leaks, s.keysLeft, s.idempotencyRecords, s.crashes.length, s.passed ? 'pass' : 'FAIL']
}

/** The plain-text table printed at the end of a run. */
export function textTable (scenarios: ScenarioResult[]): string {
  return table(HEADERS, scenarios.map(row))
}

/** What each column counts, printed under both tables. */
export const LEGEND = [
  'answered: 200 carrying the request\'s own quote. crossed: 200 carrying another request\'s (or no valid) quote.',
  '503 and client err: on replicas that were up. to stopped: 503 or connection errors of calls whose replica the suite was stopping or had killed.',
  'lost: no answer at all within the deadline plus margin. keys left: SCAN of the scenario\'s prefix for reply keys after the last deadline plus grace.',
  'records: idempotency records under the prefix then, the stored outcomes of calls with an Idempotency-Key: meant to outlive their calls, so not keys left.',
  'leaks: error answers that showed a stack frame, a broker or Redis address, a password or a Redis key.',
  'crashes: children that exited unasked, or did not exit 0 on SIGTERM. A scenario passes with zero crossed, lost, leaks, keys left and crashes, and its own checks.'
]

const PROCESS_HEADERS = ['process', 'CPU s', 'CPU %', 'loop p50 ms', 'loop p99 ms', 'loop max ms', 'note']

function processRow (p: ProcessFigures): Array<string | number> {
  const fixed = (n: number | undefined, digits: number): string => n === undefined ? '-' : n.toFixed(digits)
  return [p.name, fixed(p.cpuS, 1), fixed(p.cpuPct, 0), fixed(p.loop?.p50Ms, 1), fixed(p.loop?.p99Ms, 1), fixed(p.loop?.maxMs, 0), p.note ?? '']
}

/** What the per-process table shows, printed under it in latest.md. */
export const PROCESS_LEGEND = [
  'Per process, over each scenario\'s load (from its start to the last request sent): CPU s is user plus system time, CPU % that as a share of one core.',
  'loop: event-loop delay beyond the 10 ms sampling period (`perf_hooks.monitorEventLoopDelay`), Node processes only; the load generator is the suite\'s own process.',
  'A child killed or stopped during the load reports nothing. machine: every core\'s busy time together, what the other rows leave of it, the hypervisor\'s steal,',
  'and the machine\'s TCP connections dropped on a full accept queue (listen-queue overflows: the handshake or the request is sent again a second later, or later still).',
  '504 lateness: ended − sent − deadline as the load generator measured it. A 504 more than a tenth of the deadline late is put down to the part that took most of it:',
  'the replica\'s deadline timer firing late and the replica answering late (its `Server-Timing: timer, answer`), or the rest (sent, received or read late;',
  'how many of those opened a connection of their own, none of the keep-alive ones being free, is counted).'
]

/** The lateness line and the per-process table, as printed after a scenario. */
export function describeProcesses (processes: readonly ProcessFigures[], lateness: Lateness, timeoutMs: number): string[] {
  return [`504 lateness: ${describeLateness(lateness, timeoutMs)}`, ...(processes.length === 0 ? [] : table(PROCESS_HEADERS, processes.map(processRow)).split('\n'))]
}

/** Writes latest.json and latest.md under `dir`. */
export function writeResults (dir: string, results: SuiteResults): void {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'latest.json'), JSON.stringify(results, null, 2) + '\n')
  writeFileSync(join(dir, 'latest.md'), markdown(results))
}

/**
 * The latest full run of each Kafka library side by side (`libraries.md` in `resultsRoot`), from
 * `latest.json` (kafkajs) and `platformatic/latest.json`: written after every full run, so that it
 * shows the two runs the directory holds.
 */
export function writeLibraryComparison (resultsRoot: string): void {
  const runs = [['kafkajs', join(resultsRoot, 'latest.json')], ['@platformatic/kafka', join(resultsRoot, 'platformatic', 'latest.json')]]
    .filter(([, file]) => existsSync(file))
    .map(([library, file]) => ({ library, run: JSON.parse(readFileSync(file, 'utf8')) as SuiteResults }))
  const names = [...new Set(runs.flatMap(({ run }) => run.scenarios.map(s => s.name)))]
  const columns = ['scenario', 'library', 'req/s', 'requests', 'answered', '504', '503', 'crossed', 'lost', 'leaks', 'keys left', 'records', 'crashes', 'result']
  const rows = names.flatMap(name => runs.flatMap(({ library, run }) => {
    const s = run.scenarios.find(scenario => scenario.name === name)
    if (s === undefined) return []
    const t = s.tally
    return [`| \`${name}\` | ${library} | ${s.rate} | ${t.requests} | ${t.answered} | ${t.timeout} | ${t.unavailable} | ${t.crossed} | ${t.lost} | ${t.leaks} | ${s.keysLeft} | ${s.idempotencyRecords ?? '-'} | ${s.crashes.length} | ${s.passed ? 'pass' : 'FAIL'} |`]
  }))
  writeFileSync(join(resultsRoot, 'libraries.md'), [
    '# The fault suite on each Kafka library',
    '',
    'Written by `npm run test:faults` after every full run, from the latest full run of each library:',
    ...runs.map(({ library, run }) => {
      const capacity = (run.config.capacity as { rate?: number } | undefined)?.rate
      return `- ${library}: ${run.startedAt}, Node ${String(run.config.node ?? '?')}, ${capacity === undefined ? `--rate ${String(run.config.rate)}` : `capacity ${capacity.toFixed(0)} req/s`}, ${run.wallS.toFixed(0)} s`
    }),
    '',
    'Each run measures its own capacity first, and its rates are shares of it: compare counts as shares of `requests`.',
    '',
    `| ${columns.join(' | ')} |`,
    `| --- | --- |${' ---: |'.repeat(columns.length - 3)} --- |`,
    ...rows,
    ''
  ].join('\n'))
}

/** How the load was chosen. */
function loadOrigin (config: Record<string, unknown>): string {
  const capacity = config.capacity as { rate: number } | undefined
  if (capacity === undefined) return `${config.rate} req/s open loop (--rate)`
  return `open loop at ${STEADY_SHARE * 100}% (\`steady\`) or ${FAULT_SHARE * 100}% (with a fault) of the ${capacity.rate.toFixed(0)} req/s the replicas answered ` +
    'closed loop at the start (512 clients, reply affinity off)'
}

function markdown ({ startedAt, wallS, config, scenarios }: SuiteResults): string {
  const lines = [
    `Fault suite, ${startedAt}, ${wallS.toFixed(0)} s in all: ${loadOrigin(config)}, ${config.durationS} s of load per scenario (at least), ` +
      `reply deadline ${config.timeoutMs} ms, ${config.replicas} app replicas and 1 worker unless a scenario says otherwise, on ${String(config.library ?? 'kafkajs')}.`,
    '',
    `| ${HEADERS.join(' | ')} |`,
    `| --- |${' ---: |'.repeat(HEADERS.length - 2)} --- |`,
    ...scenarios.map(s => `| ${row(s).map((cell, i) => i === 0 ? `\`${cell}\`` : String(cell)).join(' | ')} |`),
    '',
    ...LEGEND.map(line => `${line}  `),
    '',
    ...PROCESS_LEGEND.map(line => `${line}  `),
    ''
  ]
  for (const s of scenarios) {
    lines.push(`### \`${s.name}\`: ${s.passed ? 'pass' : 'FAIL'}`, '', s.description, '')
    if (s.error !== undefined) lines.push(`Did not run to its end: ${s.error}`, '')
    for (const check of s.checks) lines.push(`- ${check.ok ? 'ok' : 'FAILED'}: ${check.claim}`)
    for (const crash of s.crashes) lines.push(`- crash: ${crash.name} ${crash.why} (${crash.signal ?? crash.code})`)
    if (s.keysLeft > 0) lines.push(`- keys left, e.g. ${s.keySample.map(k => `\`${k}\``).join(', ')}`)
    const marks = Object.entries(s.marks).map(([label, ms]) => `${label} at ${(ms / 1000).toFixed(1)} s`)
    if (marks.length > 0) lines.push(`- ${marks.join('; ')}`)
    for (const [kind, body] of Object.entries(s.errorSamples)) lines.push(`- a \`${kind}\` answer: \`${body.length > 300 ? `${body.slice(0, 300)}...` : body}\``)
    lines.push(`- 504 lateness: ${describeLateness(s.lateness, Number(config.timeoutMs))}`, '')
    if (s.processes.length > 0) {
      lines.push(
        `| ${PROCESS_HEADERS.join(' | ')} |`,
        `| --- |${' ---: |'.repeat(PROCESS_HEADERS.length - 2)} --- |`,
        ...s.processes.map(p => `| ${processRow(p).join(' | ')} |`),
        ''
      )
    }
  }
  return lines.join('\n')
}
