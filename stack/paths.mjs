// Where the stack keeps its files. Both folders are git-ignored.
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const STACK_DIR = dirname(fileURLToPath(import.meta.url))
// Jars resolved by Maven: kept across `stack:down`, so only the first start downloads.
export const CACHE_DIR = join(STACK_DIR, '.cache')
// Pid/state files, logs and broker data: everything a running stack owns.
export const RUN_DIR = join(STACK_DIR, '.run')

/** Path relative to the repository root, for messages. */
export function shown (path) {
  const root = dirname(STACK_DIR)
  return path.startsWith(root + '/') ? path.slice(root.length + 1) : path
}

/** An error whose message is meant for a person at a terminal: the CLI prints it without a stack trace. */
export class StackError extends Error {
  name = 'StackError'
}
