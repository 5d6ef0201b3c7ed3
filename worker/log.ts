// A small JSON-lines logger in pino's shape ({ level, time, msg, ...fields }), so the worker's logs
// read like the app's without another dependency.

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50, silent: Infinity } as const

/** A level name, or `silent`. */
export type LevelName = keyof typeof LEVELS

/** What createResponder's `logger` option expects, and what the worker logs through. */
export interface Logger {
  debug: (obj: unknown, msg?: string) => void
  info: (obj: unknown, msg?: string) => void
  warn: (obj: unknown, msg?: string) => void
  error: (obj: unknown, msg?: string) => void
}

/** Writes lines at `level` and above to `write` (stdout by default), each with `bindings`. */
export function createLogger (level: LevelName, bindings: Record<string, unknown> = {}, write = (line: string) => { process.stdout.write(line) }): Logger {
  const at = (name: Exclude<LevelName, 'silent'>) => (obj: unknown, msg?: string) => {
    if (LEVELS[name] < LEVELS[level]) return
    const fields = typeof obj === 'string' ? { msg: obj } : { ...fieldsOf(obj), msg }
    write(JSON.stringify({ level: LEVELS[name], time: Date.now(), ...bindings, ...fields }) + '\n')
  }
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

function fieldsOf (obj: unknown): Record<string, unknown> {
  if (typeof obj !== 'object' || obj === null) return {}
  const { err, ...rest } = obj as { err?: unknown }
  // Error's own properties are not enumerable: spell out what a reader needs.
  return err instanceof Error ? { ...rest, err: { type: err.name, message: err.message, stack: err.stack } } : rest
}
