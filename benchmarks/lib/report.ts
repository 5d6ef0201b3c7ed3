import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** One scenario's figures, as written to results/latest.json. */
export interface ScenarioResult {
  name: string
  description: string
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
  /** The plugin's counters per app process, where there are any. */
  pluginStats?: Record<string, unknown>
}

export interface Results {
  machine: Record<string, unknown>
  config: Record<string, unknown>
  scenarios: ScenarioResult[]
}

/** Writes latest.json, the Markdown table and the SVG chart under `dir`. */
export function writeResults (dir: string, results: Results): void {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'latest.json'), JSON.stringify(results, null, 2) + '\n')
  writeFileSync(join(dir, 'latest.md'), markdownTable(results))
  writeFileSync(join(dir, 'latest.svg'), chart(results))
}

const fixed = (n: number, digits = 2) => Number.isFinite(n) ? n.toFixed(digits) : '-'

/** The table the README includes. */
export function markdownTable ({ scenarios, config }: Results): string {
  const rows = scenarios.map(s => `| \`${s.name}\` | ${Math.round(s.requestsPerSec)} | ${fixed(s.latency.p50)} | ${fixed(s.latency.p97_5)} | ${fixed(s.latency.p99)} | ${fixed(s.latency.max)} | ${s.errors + s.timeouts} | ${s.non2xx} | ${Math.round(s.requestsPerCpuSecond)} | ${fixed(s.redisCommandsPerRequest)} | ${fixed(s.latencyUnloaded.p50)} | ${fixed(s.latencyUnloaded.p99)} |`)
  return [
    `${config.connections} connections, pipelining 1, ${config.durationS} s measured after a ${config.warmupS} s warm-up; then ${config.unloadedS} s with 1 connection ` +
      '(the last two columns). One scenario after the other on one machine; req per CPU-s counts every process: app replicas, worker, broker, Redis.',
    '',
    '| scenario | req/s | p50 ms | p97.5 ms | p99 ms | max ms | errors + timeouts | non-2xx | req per CPU-s | Redis cmds per req | 1 conn p50 ms | 1 conn p99 ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    ''
  ].join('\n')
}

const COLORS = { rps: '#4e79a7', p50: '#59a14f', p97_5: '#f28e2b', p99: '#e15759' }

/** Two horizontal bar charts side by side: throughput, and latency percentiles per scenario. */
export function chart ({ scenarios }: Results): string {
  const rowH = 34
  const top = 48
  const labelW = 130
  const barW = 300
  const gap = 60
  const height = top + scenarios.length * rowH + 40
  const width = labelW + barW * 2 + gap + 130 // room for the latency labels
  const maxRps = Math.max(...scenarios.map(s => s.requestsPerSec), 1)
  const maxMs = Math.max(...scenarios.map(s => s.latency.p99).filter(Number.isFinite), 1)
  const x2 = labelW + barW + gap
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${labelW}" y="20" font-weight="bold">Requests per second</text>`,
    `<text x="${x2}" y="20" font-weight="bold">Latency, ms (p50, p97.5, p99; labels p50 / p99)</text>`
  ]
  scenarios.forEach((s, i) => {
    const y = top + i * rowH
    parts.push(`<text x="${labelW - 8}" y="${y + 16}" text-anchor="end">${s.name}</text>`)
    const w = (s.requestsPerSec / maxRps) * barW
    parts.push(`<rect x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="18" fill="${COLORS.rps}"/>`)
    parts.push(`<text x="${labelW + w + 4}" y="${y + 17}">${Math.round(s.requestsPerSec)}</text>`)
    const bars: Array<[keyof typeof COLORS, number]> = [['p50', s.latency.p50], ['p97_5', s.latency.p97_5], ['p99', s.latency.p99]]
    bars.forEach(([key, ms], j) => {
      const bw = Number.isFinite(ms) ? (ms / maxMs) * barW : 0
      parts.push(`<rect x="${x2}" y="${y + 2 + j * 8}" width="${bw.toFixed(1)}" height="7" fill="${COLORS[key]}"/>`)
    })
    parts.push(`<text x="${x2 + (s.latency.p99 / maxMs) * barW + 4}" y="${y + 17}">${fixed(s.latency.p50)} / ${fixed(s.latency.p99)}</text>`)
  })
  const legendY = height - 14
  parts.push(`<rect x="${x2}" y="${legendY - 9}" width="10" height="10" fill="${COLORS.p50}"/><text x="${x2 + 14}" y="${legendY}">p50</text>`)
  parts.push(`<rect x="${x2 + 50}" y="${legendY - 9}" width="10" height="10" fill="${COLORS.p97_5}"/><text x="${x2 + 64}" y="${legendY}">p97.5</text>`)
  parts.push(`<rect x="${x2 + 112}" y="${legendY - 9}" width="10" height="10" fill="${COLORS.p99}"/><text x="${x2 + 126}" y="${legendY}">p99</text>`)
  parts.push('</svg>')
  return parts.join('\n') + '\n'
}
