import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import type { Redis } from 'ioredis'

const TICKS_PER_SECOND = 100 // USER_HZ on Linux

/** CPU seconds (user + system) a process has used so far; 0 when it is gone. */
export function cpuSeconds (pid: number): number {
  try {
    // Fields after the command name, which may contain spaces: the name ends at the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
  } catch {
    return 0
  }
}

/**
 * The pid of the process listening on the first broker's port, when it runs on this machine (other
 * brokers may run here too, so the name alone does not tell which one).
 */
export function brokerPid (brokers: string[]): number | undefined {
  const port = /:(\d+)$/.exec(brokers[0] ?? '')?.[1]
  if (port === undefined) return undefined
  try {
    const listening = execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' })
    const pid = /pid=(\d+)/.exec(listening)?.[1]
    return pid === undefined ? undefined : Number(pid)
  } catch {
    return undefined
  }
}

/** The Redis server's pid, from INFO. */
export async function redisPid (redis: Redis): Promise<number | undefined> {
  const match = /process_id:(\d+)/.exec(await redis.info('server'))
  return match === null ? undefined : Number(match[1])
}

/**
 * Commands Redis has executed, from INFO commandstats, leaving out what the measurement itself
 * sends (INFO), so that a difference counts only the traffic under test.
 */
export async function redisCommands (redis: Redis): Promise<number> {
  const stats = await redis.info('commandstats')
  let total = 0
  for (const match of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info') total += Number(match[2])
  }
  return total
}

/** CPU seconds all cores of this machine have spent running anything since boot, from /proc/stat. */
export function machineBusySeconds (): number {
  // user nice system idle iowait irq softirq ...; guest time is already counted in user
  const [user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number)
  return (user + nice + system + irq + softirq) / TICKS_PER_SECOND
}

/** CPU seconds (user + system) this process has used so far. */
export function ownCpuSeconds (): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1e6
}
