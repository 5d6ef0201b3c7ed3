import type { Static, TObject } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

/**
 * Reads the variables a TypeBox object schema names from `env`: empty ones count as unset,
 * defaults fill the gaps, numbers are converted from their text. An invalid value is an error
 * that names the variable, never a silent default.
 */
export function readEnv<S extends TObject> (schema: S, env: NodeJS.ProcessEnv): Static<S> {
  const raw: Record<string, string> = {}
  for (const name of Object.keys(schema.properties)) {
    const value = env[name]
    if (value !== undefined && value !== '') raw[name] = value
  }
  const value = Value.Default(schema, Value.Convert(schema, raw))
  const first = Value.Errors(schema, value).First()
  if (first !== undefined) {
    const name = first.path.slice(1)
    throw new Error(`Invalid environment variable ${name}=${JSON.stringify(raw[name])}: ${first.message}`)
  }
  return value as Static<S>
}

/** `host:port,host:port` as a list. */
export function list (text: string): string[] {
  return text.split(',').map(s => s.trim()).filter(Boolean)
}
