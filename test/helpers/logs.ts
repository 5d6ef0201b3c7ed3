// Everything a Fastify app logs, kept for a test to search.
import { Writable } from 'node:stream'

/** A Fastify logger option writing every line, from debug up, into `lines`. */
export function captureLogs (lines: string[]): { logger: { level: string, stream: Writable } } {
  const stream = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done() } })
  return { logger: { level: 'debug', stream } }
}
