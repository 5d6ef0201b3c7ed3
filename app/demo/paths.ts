import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'

// The demo runs from source (app/demo/*.ts, under a TypeScript loader such as tap's) or compiled
// (dist/app/demo/*.js): the services are started the same way this file was.
const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'

/** The quotes API's entry point, beside this file's tree. */
export const serverEntry = join(import.meta.dirname, '..', `server${ext}`)

/** The pricing worker's entry point. */
export const workerEntry = join(import.meta.dirname, '..', '..', 'worker', `main${ext}`)

/** The project root (where package.json is): stack/ lives there, whether this runs from dist/ or not. */
export const projectRoot = findRoot(import.meta.dirname)

function findRoot (from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`)
  }
}
