// Coverage of plugin/ by the whole suite: what every `npm test`, `npm run test:tap` and
// `npm run test:cluster` run kept covered together (CI runs them on both Kafka client libraries).
// Each run keeps its raw coverage under .tap/coverage-runs/<run>/ (run-tap.mjs --save-coverage);
// this merges the ones present into tap's .tap/coverage, prints tap's report and checks the
// suite's thresholds. `npm test` alone checks lower ones (package.json): the Redis Cluster modules
// run only against the cluster, and each library's folder only in its own runs.
import { spawn } from 'node:child_process'
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { delimiter, join, relative, resolve } from 'node:path'

/** The suite's thresholds, in percent, for the plugin but the @platformatic/kafka transport. */
const THRESHOLDS = { lines: 95, branches: 95, statements: 95, functions: 90 }
/**
 * The @platformatic/kafka transport's, checked apart: it is new, and its error paths (brokers
 * refusing, the library's own recoveries) are exercised by the cluster suite only in part.
 */
const PLATFORMATIC = 'plugin/kafka/platformatic/'
const PLATFORMATIC_THRESHOLDS = { lines: 85, branches: 80, statements: 85, functions: 85 }

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
const report = (reporters) => new Promise(resolve => {
  const tap = spawn('tap', ['report', ...reporters], { stdio: 'inherit', env, cwd: root })
  tap.on('error', err => { console.error(err); resolve(1) })
  tap.on('close', status => resolve(status ?? 1))
})
let code = await report(['text', 'json-summary'])

// The summary's totals for the two parts, each against its thresholds.
const summary = JSON.parse(readFileSync(join(root, '.tap/report/coverage-summary.json'), 'utf8'))
const files = Object.entries(summary).filter(([file]) => file !== 'total').map(([file, figures]) => [relative(root, file).replaceAll('\\', '/'), figures])
for (const [name, inPart, thresholds] of [
  ['plugin/ but the @platformatic/kafka transport', file => !file.startsWith(PLATFORMATIC), THRESHOLDS],
  ['the @platformatic/kafka transport', file => file.startsWith(PLATFORMATIC), PLATFORMATIC_THRESHOLDS]
]) {
  const part = files.filter(([file]) => inPart(file))
  if (part.length === 0) continue
  const failed = []
  const measured = []
  for (const [metric, threshold] of Object.entries(thresholds)) {
    const covered = part.reduce((sum, [, figures]) => sum + figures[metric].covered, 0)
    const total = part.reduce((sum, [, figures]) => sum + figures[metric].total, 0)
    const percent = total === 0 ? 100 : 100 * covered / total
    measured.push(`${metric} ${percent.toFixed(2)}%`)
    if (percent < threshold) failed.push(`${metric} ${percent.toFixed(2)}% < ${threshold}%`)
  }
  console.log(`${name}: ${measured.join(', ')}`)
  if (failed.length > 0) {
    console.error(`coverage of ${name} is below its thresholds: ${failed.join(', ')}`)
    code = code || 1
  }
}
process.exitCode = code
