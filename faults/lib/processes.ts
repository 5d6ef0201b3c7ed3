// Where a scenario's CPU went: each replica, worker, the load generator (this process), the
// broker(s) and Redis, sampled at the start and the end of the load.
import { availableParallelism } from 'node:os'
import { LoopMonitor, type LoopFigures } from '../../common/loop-monitor.js'
import type { Child } from '../../app/demo/children.js'
import type { Cluster } from './cluster.js'
import { machineCpu, procCpu, tcpCounters, type MachineCpu, type ProcCpu, type TcpCounters } from './proc-stat.js'

/** One process's figures over a scenario's load. */
export interface ProcessFigures {
  name: string
  role: 'replica' | 'worker' | 'load generator' | 'broker' | 'redis' | 'machine'
  /** CPU used, user plus system, s; undefined when it could not be measured (see note). */
  cpuS?: number
  /** cpuS as a share of one core over the time it covers, %. */
  cpuPct?: number
  /** Event-loop delay (beyond the 10 ms sampling period), ms: Node processes only. */
  loop?: { p50Ms: number, p99Ms: number, maxMs: number }
  /** What the figures cover when not the whole load, or why there are none. */
  note?: string
}

/** A process the suite did not start, found again at each sample (it may have been restarted). */
export interface ExternalProcess {
  name: string
  role: 'broker' | 'redis'
  pid: () => Promise<number | undefined>
}

/** The load generator's own loop delay, measured all along and read at each sample. */
const generator = new LoopMonitor()

/** How long a child may take to answer `loop-stats` before it counts as not answering, ms. */
const ASK_MS = 2000

/**
 * Samples the processes of one scenario at the start of its load and again at its end. The Node
 * children report their own CPU and event-loop delay over IPC since the last ask (common/loop-monitor.ts);
 * the broker and Redis are read from /proc. A child killed or stopped during the load reports
 * nothing (its row says so); one started during it reports from when it was ready.
 */
export class ProcessSampler {
  readonly #cluster: Cluster
  readonly #externals: readonly ExternalProcess[]
  #pids: Array<number | undefined> = []
  #startedAt = 0
  #generatorCpu: NodeJS.CpuUsage | undefined
  #machine: MachineCpu | undefined
  #tcp: TcpCounters | undefined
  #external: Array<ProcCpu | undefined> = []
  readonly #atStart = new Set<Child>()

  constructor (cluster: Cluster, externals: readonly ExternalProcess[]) {
    this.#cluster = cluster
    this.#externals = externals
  }

  /** Finds the external processes' pids: before the load, since it may scan /proc. */
  async resolve (): Promise<void> {
    this.#pids = await Promise.all(this.#externals.map(async e => await e.pid().catch(() => undefined)))
  }

  /**
   * The start of the load: reads what is read here at once, then asks every child (which starts
   * its interval when it answers, a few ms later).
   */
  async start (): Promise<void> {
    this.#startedAt = performance.now()
    generator.take()
    this.#generatorCpu = process.cpuUsage()
    this.#machine = machineCpu()
    this.#tcp = tcpCounters()
    this.#external = this.#pids.map(pid => pid === undefined ? undefined : procCpu(pid))
    const children = this.#cluster.children.filter(child => this.#cluster.running(child))
    for (const child of children) this.#atStart.add(child)
    await Promise.all(children.map(async child => await this.#cluster.loopStats(child, ASK_MS)))
  }

  /** The end of the load: every process's figures since start(). */
  async end (): Promise<ProcessFigures[]> {
    const windowS = (performance.now() - this.#startedAt) / 1000
    const loop = generator.take()
    const used = process.cpuUsage(this.#generatorCpu)
    const machine = machineCpu()
    const tcp = tcpCounters()
    const rows: ProcessFigures[] = []
    const children = this.#cluster.children
    const asked = await Promise.all(children.map(async child => this.#cluster.running(child) && !this.#cluster.paused(child)
      ? await this.#cluster.loopStats(child, ASK_MS)
      : undefined))
    children.forEach((child, i) => rows.push(this.#childRow(child, asked[i])))
    rows.push(nodeRow('load generator', 'load generator', { ...loop, intervalMs: windowS * 1000, cpuMs: (used.user + used.system) / 1000 }))
    const pids = await Promise.all(this.#externals.map(async (e, i) => {
      const before = this.#external[i]
      // Unchanged unless it was restarted: then look again (after the load: a scan may take a while).
      return before !== undefined && procCpu(before.pid)?.startTicks === before.startTicks ? before.pid : await e.pid().catch(() => undefined)
    }))
    this.#externals.forEach((e, i) => rows.push(externalRow(e, this.#external[i], pids[i], windowS)))
    rows.push(machineRow(rows, { cpu: this.#machine, tcp: this.#tcp }, { cpu: machine, tcp }, windowS))
    return rows
  }

  #childRow (child: Child, stats: LoopFigures | undefined): ProcessFigures {
    const role = child.name.startsWith('api-') ? 'replica' : 'worker'
    if (stats === undefined) {
      const note = !this.#cluster.running(child)
        ? `${child.process.signalCode === 'SIGKILL' ? 'killed' : 'stopped'} during the load: reports nothing`
        : this.#cluster.paused(child) ? 'paused (SIGSTOP) at the end of the load: reports nothing' : `did not answer within ${ASK_MS} ms: no figures`
      return { name: child.name, role, note }
    }
    const row = nodeRow(child.name, role, stats)
    return this.#atStart.has(child) ? row : { ...row, note: `started during the load: the ${(stats.intervalMs / 1000).toFixed(1)} s since it was ready` }
  }
}

function nodeRow (name: string, role: ProcessFigures['role'], stats: LoopFigures): ProcessFigures {
  return {
    name,
    role,
    ...cpu(stats.cpuMs / 1000, stats.intervalMs / 1000),
    loop: { p50Ms: round(stats.p50Ms, 1), p99Ms: round(stats.p99Ms, 1), maxMs: round(stats.maxMs, 1) }
  }
}

function cpu (cpuS: number, windowS: number): Pick<ProcessFigures, 'cpuS' | 'cpuPct'> {
  return { cpuS: round(cpuS, 2), cpuPct: round(windowS > 0 ? cpuS / windowS * 100 : 0, 1) }
}

function round (n: number, digits: number): number {
  return Number(n.toFixed(digits))
}

function externalRow (e: ExternalProcess, before: ProcCpu | undefined, pid: number | undefined, windowS: number): ProcessFigures {
  const after = pid === undefined ? undefined : procCpu(pid)
  if (after === undefined) return { name: e.name, role: e.role, note: before === undefined ? 'pid not found: no figures' : 'not running at the end of the load: no figures' }
  if (before !== undefined && before.pid === after.pid && before.startTicks === after.startTicks) {
    return { name: e.name, role: e.role, ...cpu(after.cpuS - before.cpuS, windowS) }
  }
  // A process other than the one read at the start (a restart): all it used since it started.
  const note = before === undefined ? 'not found at the start of the load: all it used since it started' : 'restarted during the load: the new process only'
  return { name: e.name, role: e.role, ...cpu(after.cpuS, windowS), note }
}

interface MachineSample {
  cpu: MachineCpu | undefined
  tcp: TcpCounters | undefined
}

/**
 * Every core's busy time together, as a share of one core (up to 100 × cores), what the rows above
 * leave of it (the processes of this list that reported nothing, everything else the machine ran:
 * another test run, the kernel), what the hypervisor took (steal), and the machine's TCP
 * connections dropped on a full accept queue: each one's SYN is sent again a second later.
 */
function machineRow (rows: readonly ProcessFigures[], before: MachineSample, after: MachineSample, windowS: number): ProcessFigures {
  if (before.cpu === undefined || after.cpu === undefined) return { name: 'machine', role: 'machine', note: 'no /proc/stat: no figures' }
  const busyS = after.cpu.busyS - before.cpu.busyS
  const listedS = rows.reduce((sum, row) => sum + (row.cpuS ?? 0), 0)
  const missing = rows.filter(row => row.cpuS === undefined).map(row => row.name)
  const stealS = after.cpu.stealS - before.cpu.stealS
  const tcp = before.tcp === undefined || after.tcp === undefined
    ? ''
    : `; ${after.tcp.listenOverflows - before.tcp.listenOverflows} listen-queue overflows, ${after.tcp.synRetransmits - before.tcp.synRetransmits} SYNs sent again`
  return {
    name: 'machine',
    role: 'machine',
    ...cpu(busyS, windowS),
    note: `${availableParallelism()} cores; ${Math.max(0, busyS - listedS).toFixed(1)} s not in the rows above${missing.length === 0 ? '' : ` (${missing.join(', ')} among them)`}` +
      `; ${stealS.toFixed(1)} s stolen by the hypervisor${tcp}`
  }
}
