import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { errors } from './errors.js'

/**
 * A TypeBox schema, recognised by its shape rather than by TypeBox's `Kind` symbol type: that type
 * differs between TypeBox's ESM and CommonJS typings, and between two copies of TypeBox, and a
 * schema from either must fit. (At run time TypeBox finds its markers with Symbol.for, which every
 * copy shares.)
 */
export interface ReplySchema {
  params: unknown[]
  static: unknown
}

/** The type a schema describes: TypeBox's `Static<S>`. */
export type StaticOf<S extends ReplySchema> = (S & { params: [] })['static']

const compiled = new WeakMap<ReplySchema, TypeCheck<TSchema>>()

/** Checks a reply against a TypeBox schema (compiled once per schema); throws INVALID_REPLY. */
export function checkReply (schema: ReplySchema, value: unknown): void {
  let check = compiled.get(schema)
  if (check === undefined) {
    check = TypeCompiler.Compile(schema as TSchema)
    compiled.set(schema, check)
  }
  if (check.Check(value)) return
  const first = check.Errors(value).First()
  throw new errors.INVALID_REPLY(`it does not match the schema: ${first === undefined ? 'invalid' : `${first.path || '/'} ${first.message}`}`)
}
