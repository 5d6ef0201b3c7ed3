// Reading a benchmark server's settings from its environment, as the harness passes them.
import type { KafkaLibrary, KafkaOption } from '../../plugin/index.js'
import { kafkaOption } from '../../common/kafka.js'

/** A required variable: a missing one is a bug in the harness, so it stops the server at once. */
export function need (name: string): string {
  const value = process.env[name]
  if (value === undefined || value === '') throw new Error(`benchmark server: ${name} is not set`)
  return value
}

/** The broker list from KAFKA_BROKERS. */
export function brokers (): string[] {
  return need('KAFKA_BROKERS').split(',')
}

/** The plugin's or the responder's `kafka` option: KAFKA_BROKERS, and KAFKA_LIBRARY (default kafkajs). */
export function kafka (clientId: string): KafkaOption {
  const library = (process.env.KAFKA_LIBRARY ?? 'kafkajs') as KafkaLibrary
  return kafkaOption(library, brokers(), clientId)
}

/** Tells the harness that this server is ready (over the IPC channel startChild opens). */
export function ready (id: string, port?: number): void {
  process.send?.({ type: 'ready', id, port })
}

/** Runs `close` on SIGTERM or SIGINT, then exits. */
export function onStop (close: () => Promise<unknown>): void {
  const stop = () => {
    close().then(() => process.exit(0), (err: unknown) => {
      console.error(err)
      process.exit(1)
    })
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}
