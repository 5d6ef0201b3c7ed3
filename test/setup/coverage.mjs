// Coverage of plugin/ by the whole suite: what `npm test` and `npm run test:cluster` covered
// together. Each run keeps its raw coverage under .tap/coverage-runs/<run>/ (run-tap.mjs
// --save-coverage); this merges the ones present into tap's .tap/coverage and lets tap report it and
// check it against the suite's thresholds. `npm test` alone checks lower ones (package.json): the
// Redis Cluster modules run only against the cluster.
import { spawn } from 'node:child_process'
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs'
import { delimiter, join, resolve } from 'node:path'

/** The suite's thresholds, in percent of plugin/. */
const THRESHOLDS = { lines: 95, branches: 95, statements: 95, functions: 90 }

const root = resolve(import.meta.dirname, '../..')
const runsDir = join(root, '.tap/coverage-runs')
const runs = existsSync(runsDir) ? readdirSync(runsDir).sort() : []
if (runs.length === 0) {
  console.error('no saved coverage: run `npm test` (and `npm run test:cluster`) first')
  process.exit(1)
}
const merged = join(root, '.tap/coverage')
rmSync(merged, { recursive: true, force: true })
for (const run of runs) cpSync(join(runsDir, run), merged, { recursive: true })
console.log(`coverage of plugin/ over the runs: ${runs.join(', ')}`)

const env = { ...process.env, PATH: `${join(root, 'node_modules/.bin')}${delimiter}${process.env.PATH}` }
const thresholds = Object.entries(THRESHOLDS).map(([name, percent]) => `--${name}=${percent}`)
const code = await new Promise(resolve => {
  const tap = spawn('tap', ['report', ...thresholds, 'text'], { stdio: 'inherit', env, cwd: root })
  tap.on('error', err => { console.error(err); resolve(1) })
  tap.on('close', status => resolve(status ?? 1))
})
process.exitCode = code
