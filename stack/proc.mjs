// Process bookkeeping: state files, ownership checks, stopping, and the start lock.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { RUN_DIR, StackError } from './paths.mjs'

export function isAlive (pid) {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return err.code === 'EPERM'
  }
  // A zombie still answers kill(0) but is gone for our purposes.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return true
  }
}

// Pids get reused: only treat a pid as ours while its command line still carries our marker.
function looksLike (pid, marker) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(marker)
  } catch {
    return isAlive(pid) // no /proc (not Linux): trust the pid file
  }
}

const stateFile = name => join(RUN_DIR, `${name}.json`)

export function writeState (name, state) {
  mkdirSync(RUN_DIR, { recursive: true })
  writeFileSync(stateFile(name), JSON.stringify(state, null, 2) + '\n')
}

export function clearState (name) {
  rmSync(stateFile(name), { force: true })
}

/**
 * The state file of a process the stack started, if that process still runs.
 * A state file left by a dead process is removed.
 */
export function ownedProcess (name) {
  let state
  try {
    state = JSON.parse(readFileSync(stateFile(name), 'utf8'))
  } catch {
    return null
  }
  if (isAlive(state.pid) && looksLike(state.pid, state.marker)) return state
  clearState(name)
  return null
}

/** SIGTERM, wait up to graceMs, then SIGKILL; resolves once the process is gone. */
export async function stopProcess (pid, graceMs) {
  const gone = async ms => {
    for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) {
      if (!isAlive(pid)) return true
    }
    return !isAlive(pid)
  }
  try { process.kill(pid, 'SIGTERM') } catch {}
  if (await gone(graceMs)) return 'stopped'
  try { process.kill(pid, 'SIGKILL') } catch {}
  if (await gone(5000)) return 'killed'
  throw new StackError(`pid ${pid} survived SIGKILL`)
}

/**
 * Runs fn while holding an exclusive lock file, so two concurrent `up()` calls
 * never start two brokers: the second waits, then finds the first one's broker.
 */
export async function withLock (name, timeoutMs, log, fn) {
  mkdirSync(RUN_DIR, { recursive: true })
  const file = join(RUN_DIR, `${name}.lock`)
  const deadline = Date.now() + timeoutMs
  let told = false
  for (;;) {
    try {
      closeSync(openSync(file, 'wx'))
      writeFileSync(file, String(process.pid))
      break
    } catch (err) {
      if (err.code !== 'EEXIST') throw err
    }
    const holder = Number(readFileSync(file, 'utf8')) // empty while the holder is writing it
    if (holder && !isAlive(holder)) {
      rmSync(file, { force: true }) // left behind by a crashed run
      continue
    }
    if (Date.now() > deadline) throw new StackError(`timed out waiting for ${file} (held by pid ${holder})`)
    if (!told && holder) log(`waiting for another stack start (pid ${holder}) to finish`)
    told ||= Boolean(holder)
    await sleep(250)
  }
  try {
    return await fn()
  } finally {
    rmSync(file, { force: true })
  }
}
