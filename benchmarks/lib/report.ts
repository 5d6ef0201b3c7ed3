import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { KeyCost } from './key-cost.js'
import type { TargetCheck } from './targets.js'

/** One run of one scenario. */
export interface RunFigures {
  /** Which round of `--repeat` this run was (1-based); the rounds interleave the scenarios. */
  round: number
  requestsPerSec: number
  latency: { p50: number, p97_5: number, p99: number, max: number }
  /** Latency with one connection (no queueing): what the path itself costs. */
  latencyUnloaded: { p50: number, p99: number }
  requests: number
  errors: number
  timeouts: number
  non2xx: number
  cpuSeconds: Record<string, number>
  requestsPerCpuSecond: number
  redisCommandsPerRequest: number
  /** Redis commands counted over an idle pause after the run. */
  redisCommandsIdle: number
  /** CPU the load generator (this process) used during the measured run. */
  loadGeneratorCpuSeconds: number
  /**
   * Share of the whole machine's CPU (all cores) used during the measured run by processes outside
   * the scenario and the load generator: other work on the machine, 0 on a quiet one.
   */
  otherCpuShare: number
  /** The 1-minute load average when the run started. */
  loadAverage: number
  /** The plugin's counters per app process, where there are any. */
  pluginStats?: Record<string, unknown>
}

/**
 * One scenario's figures as written to results/latest.json: counts are totals over the runs, every
 * other figure is the median of the runs (see stats.ts), and `runs` keeps each run's own.
 */
export interface ScenarioResult extends Omit<RunFigures, 'round' | 'loadAverage' | 'pluginStats'> {
  name: string
  description: string
  runs: RunFigures[]
}

/** One open-loop run: calls at a fixed rate, latency measured from each call's send. */
export interface OpenLoopRun {
  round: number
  /** Answered calls per second (the rate asked for, unless calls failed or the generator lagged). */
  requestsPerSec: number
  latency: { p50: number, p99: number, max: number }
  /** How late the generator sent calls against the schedule. */
  lagMs: { p50: number, p99: number }
  sent: number
  errors: number
  non2xx: number
  otherCpuShare: number
}

/** One scenario's open-loop figures: medians over the runs, counts totalled. */
export interface OpenLoopFigures extends Omit<OpenLoopRun, 'round'> {
  name: string
  runs: OpenLoopRun[]
}

export interface OpenLoopBlock {
  ratePerS: number
  /** Where the rate came from. */
  basis: string
  durationS: number
  warmupS: number
  scenarios: OpenLoopFigures[]
}

export interface Results {
  machine: Record<string, unknown>
  config: Record<string, unknown>
  scenarios: ScenarioResult[]
  openLoop?: OpenLoopBlock
  targets?: TargetCheck[]
  /** Each `-idempotent` scenario against its twin without keys, when both ran. */
  keyCosts?: KeyCost[]
  /** Runs that failed and are left out of the medians. */
  failed?: Array<{ scenario: string, round: number, error: string }>
}

/** Writes latest.json, the Markdown tables and the SVG chart under `dir`. */
export function writeResults (dir: string, results: Results): void {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'latest.json'), JSON.stringify(results, null, 2) + '\n')
  writeFileSync(join(dir, 'latest.md'), markdownTable(results))
  writeFileSync(join(dir, 'latest.svg'), chart(results))
}

const fixed = (n: number, digits = 2) => Number.isFinite(n) ? n.toFixed(digits) : '-'
const percent = (share: number) => Number.isFinite(share) ? `${Math.round(share * 100)}%` : '-'

/** The tables the README includes: closed loop, open loop and the targets. */
export function markdownTable ({ scenarios, config, machine, openLoop, targets, keyCosts, failed }: Results): string {
  const repeat = Number(config.repeat ?? 1)
  const load = machine.loadAverage as { before: number[], after: number[] } | undefined
  const rows = scenarios.map(s => `| \`${s.name}\` | ${Math.round(s.requestsPerSec)} | ${fixed(s.latency.p50)} | ${fixed(s.latency.p97_5)} | ${fixed(s.latency.p99)} | ${fixed(s.latency.max)} | ${s.errors + s.timeouts} | ${s.non2xx} | ${Math.round(s.requestsPerCpuSecond)} | ${fixed(s.redisCommandsPerRequest)} | ${fixed(s.latencyUnloaded.p50)} | ${fixed(s.latencyUnloaded.p99)} | ${percent(s.otherCpuShare)} |`)
  const lines = [
    `${config.connections} connections, pipelining 1, ${config.durationS} s measured after a ${config.warmupS} s warm-up; then ${config.unloadedS} s with 1 connection ` +
      '(the 1 conn columns). ' +
      (repeat > 1
        ? `Every scenario ran ${repeat} times, the rounds interleaved (all scenarios, then all again); each figure is the median of the ${repeat} runs, errors are totals. `
        : 'One scenario after the other, one run each. ') +
      'req per CPU-s counts every process of the scenario: app replicas, worker, broker, Redis (not the load generator). ' +
      'other CPU: the share of the machine\'s CPU (all cores) that processes outside the benchmark used meanwhile.' +
      (load === undefined ? '' : ` Load average (1, 5, 15 min): ${load.before.map(n => n.toFixed(2)).join(', ')} before the run, ${load.after.map(n => n.toFixed(2)).join(', ')} after.`),
    '',
    '| scenario | req/s | p50 ms | p97.5 ms | p99 ms | max ms | errors + timeouts | non-2xx | req per CPU-s | Redis cmds per req | 1 conn p50 ms | 1 conn p99 ms | other CPU |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    ''
  ]
  if (openLoop !== undefined && openLoop.scenarios.length > 0) {
    lines.push(
      `Open loop: ${openLoop.ratePerS} calls per second (${openLoop.basis}) sent on schedule whether or not earlier calls were answered, ` +
        `${openLoop.durationS} s measured after ${openLoop.warmupS} s at the same rate; latency from each call's send.`,
      '',
      '| scenario | answered req/s | p50 ms | p99 ms | max ms | errors + non-2xx | generator lag p99 ms | other CPU |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...openLoop.scenarios.map(s => `| \`${s.name}\` | ${Math.round(s.requestsPerSec)} | ${fixed(s.latency.p50)} | ${fixed(s.latency.p99)} | ${fixed(s.latency.max)} | ${s.errors + s.non2xx} | ${fixed(s.lagMs.p99)} | ${percent(s.otherCpuShare)} |`),
      ''
    )
  }
  if (keyCosts !== undefined && keyCosts.length > 0) {
    lines.push(
      'What an idempotency key on every call costs: each `-idempotent` scenario over its twin without keys, in this run (a ratio above 1 is more of it).',
      '',
      '| with keys | without | req/s | p50 | p99 | 1 conn p50 | req per CPU-s | Redis cmds per req |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...keyCosts.map(k => `| \`${k.keyed}\` | \`${k.unkeyed}\` | ${fixed(k.ratios.requestsPerSec)} x | ${fixed(k.ratios.p50)} x | ${fixed(k.ratios.p99)} x | ${fixed(k.ratios.unloadedP50)} x | ` +
        `${fixed(k.ratios.requestsPerCpuSecond)} x | ${fixed(k.redisCommandsPerRequest.keyed)} vs ${fixed(k.redisCommandsPerRequest.unkeyed)} |`),
      ''
    )
  }
  if (failed !== undefined && failed.length > 0) {
    lines.push(`Runs that failed, left out of the medians: ${failed.map(f => `\`${f.scenario}\` in round ${f.round} (${f.error})`).join('; ')}.`, '')
  }
  if (targets !== undefined && targets.length > 0) {
    lines.push(
      `Targets, as ratios within this run${repeat > 1 ? ' (on the medians)' : ''}:`,
      '',
      '| target | measured | |',
      '| --- | --- | --- |',
      ...targets.map(t => `| ${t.target} | ${t.measured} | ${t.met ? 'met' : 'not met'} |`),
      ''
    )
  }
  return lines.join('\n')
}

const COLORS = { rps: '#4e79a7', p50: '#59a14f', p97_5: '#f28e2b', p99: '#e15759' }

/**
 * Two horizontal bar charts side by side: throughput, and latency percentiles per scenario; below
 * them the open-loop latencies, on the same latency scale.
 */
export function chart ({ scenarios, openLoop }: Results): string {
  const rowH = 34
  const top = 48
  const labelW = 150
  const barW = 300
  const gap = 60
  const open = openLoop?.scenarios ?? []
  const openTop = top + scenarios.length * rowH + (open.length > 0 ? 40 : 0)
  const height = openTop + open.length * rowH + 40
  const width = labelW + barW * 2 + gap + 130 // room for the latency labels
  const maxRps = Math.max(...scenarios.map(s => s.requestsPerSec), 1)
  const maxMs = Math.max(...scenarios.map(s => s.latency.p99), ...open.map(s => s.latency.p99), 1)
  const x2 = labelW + barW + gap
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${labelW}" y="20" font-weight="bold">Requests per second</text>`,
    `<text x="${x2}" y="20" font-weight="bold">Latency, ms (p50, p97.5, p99; labels p50 / p99)</text>`
  ]
  const latencyBars = (y: number, bars: Array<[keyof typeof COLORS, number]>, p50: number, p99: number) => {
    bars.forEach(([key, ms], j) => {
      const bw = Number.isFinite(ms) ? (ms / maxMs) * barW : 0
      parts.push(`<rect x="${x2}" y="${y + 2 + j * 8}" width="${bw.toFixed(1)}" height="7" fill="${COLORS[key]}"/>`)
    })
    parts.push(`<text x="${x2 + (Number.isFinite(p99) ? p99 / maxMs : 0) * barW + 4}" y="${y + 17}">${fixed(p50)} / ${fixed(p99)}</text>`)
  }
  scenarios.forEach((s, i) => {
    const y = top + i * rowH
    parts.push(`<text x="${labelW - 8}" y="${y + 16}" text-anchor="end">${s.name}</text>`)
    const w = (s.requestsPerSec / maxRps) * barW
    parts.push(`<rect x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="18" fill="${COLORS.rps}"/>`)
    parts.push(`<text x="${labelW + w + 4}" y="${y + 17}">${Math.round(s.requestsPerSec)}</text>`)
    latencyBars(y, [['p50', s.latency.p50], ['p97_5', s.latency.p97_5], ['p99', s.latency.p99]], s.latency.p50, s.latency.p99)
  })
  if (open.length > 0) {
    parts.push(`<text x="${x2}" y="${openTop - 12}" font-weight="bold">Open loop at ${openLoop!.ratePerS} req/s: latency, ms (p50, p99)</text>`)
    open.forEach((s, i) => {
      const y = openTop + i * rowH
      parts.push(`<text x="${x2 - 8}" y="${y + 16}" text-anchor="end">${s.name}</text>`)
      latencyBars(y, [['p50', s.latency.p50], ['p99', s.latency.p99]], s.latency.p50, s.latency.p99)
    })
  }
  const legendY = height - 14
  parts.push(`<rect x="${x2}" y="${legendY - 9}" width="10" height="10" fill="${COLORS.p50}"/><text x="${x2 + 14}" y="${legendY}">p50</text>`)
  parts.push(`<rect x="${x2 + 50}" y="${legendY - 9}" width="10" height="10" fill="${COLORS.p97_5}"/><text x="${x2 + 64}" y="${legendY}">p97.5</text>`)
  parts.push(`<rect x="${x2 + 112}" y="${legendY - 9}" width="10" height="10" fill="${COLORS.p99}"/><text x="${x2 + 126}" y="${legendY}">p99</text>`)
  parts.push('</svg>')
  return parts.join('\n') + '\n'
}
