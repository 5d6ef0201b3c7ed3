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

/** The pid of the Kafka broker on this machine, if one runs here. */
export function brokerPid (): number | undefined {
  try {
    const pids = execFileSync('pgrep', ['-f', 'kafka\\.Kafka'], { encoding: 'utf8' }).trim().split('\n')
    return pids.length === 1 ? Number(pids[0]) : undefined
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
