/** The logging the plugin's parts need: Fastify's (pino) logger fits, as does console. */
export interface Log {
  debug: (obj: unknown, msg?: string) => void
  info: (obj: unknown, msg?: string) => void
  warn: (obj: unknown, msg?: string) => void
  error: (obj: unknown, msg?: string) => void
}

function noop (): void {}

/** A logger that drops everything. */
export const silentLog: Log = { debug: noop, info: noop, warn: noop, error: noop }
