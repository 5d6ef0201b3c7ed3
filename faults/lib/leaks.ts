/**
 * What an error answer must never show a client: a stack frame, or any of `secrets` (the broker
 * and Redis addresses, passwords, the form of a Redis key). Returns what it found, or undefined.
 */
export function leakIn (body: string, secrets: readonly string[]): string | undefined {
  if (STACK_FRAME.test(body)) return 'a stack frame'
  if (body.includes('"stack"')) return 'a stack property'
  return secrets.find(secret => body.includes(secret))
}

/** `at fn (/path/file.js:12:3)`, `at node:internal/...:1:2`, `at async file:///x.ts:4:5`. */
const STACK_FRAME = /\bat .*(?:\.[cm]?[jt]s|node:[\w/]+):\d+:\d+/
