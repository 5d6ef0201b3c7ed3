import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { errors } from './errors.js'

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>()

/** Checks a reply against a TypeBox schema (compiled once per schema); throws INVALID_REPLY. */
export function checkReply (schema: TSchema, value: unknown): void {
  let check = compiled.get(schema)
  if (check === undefined) {
    check = TypeCompiler.Compile(schema)
    compiled.set(schema, check)
  }
  if (check.Check(value)) return
  const first = check.Errors(value).First()
  throw new errors.INVALID_REPLY(`it does not match the schema: ${first === undefined ? 'invalid' : `${first.path || '/'} ${first.message}`}`)
}
