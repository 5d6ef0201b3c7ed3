// CPU of processes the suite did not start (the broker's JVM, redis-server) and of the whole
// machine, read from Linux's /proc; and how to find such a process's pid from the address it
// listens on. Elsewhere than on Linux every answer is undefined.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { readdir, readFile, readlink } from 'node:fs/promises'
import { join } from 'node:path'
import { projectRoot } from '../../app/demo/paths.js'

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`, 100 nearly everywhere). */
export const CLOCK_TICKS = clockTicks()

/** A process's CPU time so far, and when it started (to tell it from a later process with its pid). */
export interface ProcCpu {
  pid: number
  /** user + system, s. */
  cpuS: number
  /** Its start time, in clock ticks after boot. */
  startTicks: number
}

/** `pid`'s CPU time so far (/proc/<pid>/stat utime + stime), or undefined when it is gone. */
export function procCpu (pid: number): ProcCpu | undefined {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // The command name, in parentheses, may hold spaces: count the fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state): utime is field 14, stime 15, starttime 22.
  if (fields[0] === 'Z') return undefined
  return { pid, cpuS: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS, startTicks: Number(fields[19]) }
}

/** CPU time of every core together so far, s (/proc/stat). */
export interface MachineCpu {
  /** Busy: user, nice, system, irq and softirq (idle, iowait and steal left out). */
  busyS: number
  /** Stolen by the hypervisor: time this machine's vCPUs wanted but a host ran something else. */
  stealS: number
}

/** TCP counters of the whole machine so far (/proc/net/netstat), or undefined without it. */
export interface TcpCounters {
  /** Connections dropped because a listener's accept queue was full (the client's SYN is retried after 1 s, then 3 s, ...). */
  listenOverflows: number
  /** SYNs sent again (a connection that got no answer in time). */
  synRetransmits: number
}

/** The machine's TCP counters so far, or undefined without /proc/net/netstat. */
export function tcpCounters (): TcpCounters | undefined {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter(line => line.startsWith('TcpExt:'))
    const names = lines[0].split(/\s+/)
    const values = lines[1].split(/\s+/).map(Number)
    const value = (name: string): number => values[names.indexOf(name)] ?? 0
    return { listenOverflows: value('ListenOverflows'), synRetransmits: value('TCPSynRetrans') }
  } catch {
    return undefined
  }
}

/** Every core's CPU time so far, or undefined without /proc/stat. */
export function machineCpu (): MachineCpu | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
    return { busyS: (user + nice + system + irq + softirq) / CLOCK_TICKS, stealS: (steal ?? 0) / CLOCK_TICKS }
  } catch {
    return undefined
  }
}

/**
 * The pid of the local process that listens on `address` (host:port): from the stack's state
 * files (stack/.run/*.json, the processes `npm run stack:up` started), else from the listening
 * socket's inode in /proc/net/tcp and the process holding it (a broker started elsewhere).
 */
export async function pidListeningOn (address: string): Promise<number | undefined> {
  return await fromStateFiles(address) ?? await fromSockets(Number(address.split(':').at(-1)))
}

async function fromStateFiles (address: string): Promise<number | undefined> {
  const dir = join(projectRoot, 'stack', '.run')
  const files = await readdir(dir).catch(() => [] as string[])
  for (const file of files.filter(name => name.endsWith('.json'))) {
    try {
      const state = JSON.parse(await readFile(join(dir, file), 'utf8')) as { pid?: unknown, address?: unknown, marker?: unknown }
      if (typeof state.pid !== 'number' || typeof state.address !== 'string' || !state.address.split(',').includes(address)) continue
      // A pid is reused once its process is gone: the command line must still carry the marker.
      const cmdline = (await readFile(`/proc/${state.pid}/cmdline`, 'utf8')).split('\0').join(' ')
      if (typeof state.marker !== 'string' || cmdline.includes(state.marker)) return state.pid
    } catch {}
  }
  return undefined
}

async function fromSockets (port: number): Promise<number | undefined> {
  const inodes = new Set<string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '')
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/)
      // local_address is HEXIP:HEXPORT; st 0A is LISTEN; the inode is the tenth column.
      if (cols.length > 9 && cols[3] === '0A' && parseInt(cols[1].split(':')[1], 16) === port) inodes.add(`socket:[${cols[9]}]`)
    }
  }
  if (inodes.size === 0) return undefined
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter(name => /^\d+$/.test(name))
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')
      if (inodes.has(target)) return Number(pid)
    }
  }
  return undefined
}

function clockTicks (): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    return ticks > 0 ? ticks : 100
  } catch {
    return 100
  }
}
