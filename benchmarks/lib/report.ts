import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { OptionCost } from './option-cost.js'
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

/** A process's event loop over a measured window (see EventLoopMonitor). */
export interface EventLoopFigures {
  /** How late the loop's turns came, ms. */
  delayMs: { p50: number, p99: number, max: number }
  /** Share of the window the loop was busy. */
  utilization: number
  /** The highest of @fastify/under-pressure's readings, one a second: mean delay (ms) and utilization. */
  underPressureMax: { delayMs: number, utilization: number }
}

/** How late, ms. */
export type LateMs = { p50: number, p99: number, max: number }

/** One run of a worker-outage scenario: open-loop calls while the worker is stopped, each due to end 504. */
export interface OutageRun {
  round: number
  sent: number
  /** Calls answered 504. */
  timeouts: number
  /** How late the 504s came, as the load generator measured them: latency from the send less the deadline, ms. */
  lateMs: { min: number, p50: number, p99: number, max: number }
  /** 504s that came more than a tenth of the deadline late. */
  lateBeyondTenth: number
  /** Every other ending, by HTTP status, and `error` for calls that got no answer. */
  others: Record<string, number>
  /** How late the generator sent calls against the schedule. */
  lagMs: { p50: number, p99: number }
  /** Connections the measured calls opened; the others went on the warm-up's. */
  connectionsOpened: number
  /** CPU seconds of each process over the measured window (the worker is stopped). */
  cpuSeconds: Record<string, number>
  loadGeneratorCpuSeconds: number
  otherCpuShare: number
  redisCommandsPerRequest: number
  /** Each app process's event loop over the measured window; a run keeps the per-second readings too. */
  eventLoop: Record<string, EventLoopFigures & { perSecond?: { delayMs: number[], utilization: number[] } }>
  /** How late each app process ended its 504s, as it saw them itself (processes that ended none are left out). */
  replicaLateMs: Record<string, { timer: LateMs, written: LateMs, inbound: LateMs }>
  loadAverage: number
}

/** A worker-outage scenario's figures: medians over the runs, counts totalled. */
export interface OutageFigures extends Omit<OutageRun, 'round' | 'loadAverage'> {
  name: string
  description: string
  ratePerS: number
  /** Where the rate came from. */
  basis: string
  timeoutMs: number
  durationS: number
  warmupS: number
  runs: OutageRun[]
}

export interface Results {
  machine: Record<string, unknown>
  config: Record<string, unknown>
  scenarios: ScenarioResult[]
  openLoop?: OpenLoopBlock
  /** Scenarios measured while the worker is stopped. */
  workerOutage?: OutageFigures[]
  targets?: TargetCheck[]
  /** Each `-idempotent` or `-accepted` scenario against its twin without the option, when both ran. */
  optionCosts?: OptionCost[]
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
export function markdownTable ({ scenarios, config, machine, openLoop, workerOutage, targets, optionCosts, failed }: Results): string {
  const repeat = Number(config.repeat ?? 1)
  const load = machine.loadAverage as { before: number[], after: number[] } | undefined
  const rows = scenarios.map(s => `| \`${s.name}\` | ${Math.round(s.requestsPerSec)} | ${fixed(s.latency.p50)} | ${fixed(s.latency.p97_5)} | ${fixed(s.latency.p99)} | ${fixed(s.latency.max)} | ${s.errors + s.timeouts} | ${s.non2xx} | ${Math.round(s.requestsPerCpuSecond)} | ${fixed(s.redisCommandsPerRequest)} | ${fixed(s.latencyUnloaded.p50)} | ${fixed(s.latencyUnloaded.p99)} | ${percent(s.otherCpuShare)} |`)
  const lines: string[] = []
  if (scenarios.length > 0) {
    lines.push(
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
    )
  }
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
  for (const o of workerOutage ?? []) lines.push(...outageLines(o))
  if (optionCosts !== undefined && optionCosts.length > 0) {
    lines.push(
      'What an option on every call costs: each `-idempotent` (an idempotency key of its own) or `-accepted` (`accepted: true`, answered in time) scenario over its twin without it, in this run (a ratio above 1 is more of it).',
      '',
      '| option | with it | without | req/s | p50 | p99 | 1 conn p50 | req per CPU-s | Redis cmds per req |',
      '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...optionCosts.map(k => `| \`${k.option}\` | \`${k.withOption}\` | \`${k.without}\` | ${fixed(k.ratios.requestsPerSec)} x | ${fixed(k.ratios.p50)} x | ${fixed(k.ratios.p99)} x | ${fixed(k.ratios.unloadedP50)} x | ` +
        `${fixed(k.ratios.requestsPerCpuSecond)} x | ${fixed(k.redisCommandsPerRequest.withOption)} vs ${fixed(k.redisCommandsPerRequest.without)} |`),
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

const late = (l: LateMs | undefined) => l === undefined ? '-' : `${fixed(l.p50, 0)} / ${fixed(l.p99, 0)} / ${fixed(l.max, 0)}`

/** A worker-outage scenario: what was measured, how late the 504s came, and what each process did meanwhile. */
function outageLines (o: OutageFigures): string[] {
  const others = Object.entries(o.others).map(([status, n]) => `${n} ${status === 'error' ? 'without an answer' : status}`).join(', ')
  const apps = Object.entries(o.eventLoop)
  return [
    `Worker outage (\`${o.name}\`): the worker stopped, ${o.ratePerS} calls per second (${o.basis}) sent on schedule with a ${o.timeoutMs} ms deadline, ` +
      `${o.durationS} s measured after ${o.warmupS} s at the same rate, on the warm-up's connections; every call should end 504 at its deadline. ` +
      'Late: the 504\'s latency as the load generator measured it, from the call\'s send, less the deadline.' +
      (o.runs.length > 1 ? ` Medians of ${o.runs.length} runs, counts totalled.` : '') +
      ` Load average when it started: ${o.runs.map(r => r.loadAverage.toFixed(2)).join(', ')}.`,
    '',
    `| scenario | sent | 504s | late min ms | late p50 ms | late p99 ms | late max ms | 504s over ${o.timeoutMs / 10} ms late | other endings | generator lag p99 ms | connections opened | Redis cmds per call | other CPU |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |',
    `| \`${o.name}\` | ${o.sent} | ${o.timeouts} | ${fixed(o.lateMs.min)} | ${fixed(o.lateMs.p50)} | ${fixed(o.lateMs.p99)} | ${fixed(o.lateMs.max)} | ${o.lateBeyondTenth} | ${others === '' ? 'none' : others} | ` +
      `${fixed(o.lagMs.p99)} | ${o.connectionsOpened} | ${fixed(o.redisCommandsPerRequest)} | ${percent(o.otherCpuShare)} |`,
    '',
    `Meanwhile, CPU seconds per process: ${Object.entries(o.cpuSeconds).map(([role, cpu]) => `${role} ${fixed(cpu)}`).join(', ')}, load generator ${fixed(o.loadGeneratorCpuSeconds)}. ` +
      'Each app process: how late, after the deadline, it ended its 504s (its timer fired) and wrote them, and how long after the generator sent them ' +
      'their calls reached it (the way in, which its deadline does not count), p50 / p99 / max; ' +
      'how late its event loop\'s turns came (10 ms samples); its utilization; and the highest of the per-second readings @fastify/under-pressure takes (mean delay, utilization).',
    '',
    '| process | 504 timer late ms | 504 written late ms | way in ms | loop delay p50 ms | loop delay p99 ms | loop delay max ms | utilization | per-second mean delay, max ms | per-second utilization, max |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...apps.map(([name, e]) => `| ${name} | ${late(o.replicaLateMs[name]?.timer)} | ${late(o.replicaLateMs[name]?.written)} | ${late(o.replicaLateMs[name]?.inbound)} | ${fixed(e.delayMs.p50)} | ${fixed(e.delayMs.p99)} | ${fixed(e.delayMs.max)} | ` +
      `${fixed(e.utilization)} | ${fixed(e.underPressureMax.delayMs)} | ${fixed(e.underPressureMax.utilization)} |`),
    ''
  ]
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
