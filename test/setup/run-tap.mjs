// Runs tap with its usual output, then ends with the one plain line CI reads: `N passed, N failed`.
// The counts are assertions, taken from tap's raw TAP stream.
import { spawn } from 'node:child_process'
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs'
import { delimiter, join, resolve } from 'node:path'
import { Parser } from 'tap-parser'

const root = resolve(import.meta.dirname, '../..')
const env = { ...process.env, PATH: `${join(root, 'node_modules/.bin')}${delimiter}${process.env.PATH}` }
// --save-coverage=<name>: after the run, keep tap's raw coverage under .tap/coverage-runs/<name>, so
// that `npm run coverage` can report what several runs (npm test, test:cluster) covered together.
// The name is suffixed with the run's Kafka client library and Node line, so that the runs CI makes
// on several of each are all kept.
const saveName = process.argv.find(arg => arg.startsWith('--save-coverage='))?.slice('--save-coverage='.length)
const library = (process.env.KAFKA_LIBRARY || 'kafkajs').replace(/^@platformatic\/kafka$/, 'platformatic')
const saveAs = saveName === undefined ? undefined : `${saveName}-${library}-node${process.versions.node.split('.')[0]}`
const args = process.argv.slice(2).filter(arg => !arg.startsWith('--save-coverage='))

// At a terminal tap prints its human report, and --output-file saves the raw TAP beside it.
// Elsewhere (CI) tap prints raw TAP itself, and --output-file would print it twice: read stdout instead.
const rawFile = join(root, '.tap/last-run.tap')
const atTerminal = Boolean(process.stdout.isTTY)
rmSync(rawFile, { force: true }) // never count an earlier run
let raw = ''
const code = await new Promise(resolve => {
  const tap = spawn('tap', atTerminal ? [`--output-file=${rawFile}`, ...args] : args, {
    stdio: ['inherit', atTerminal ? 'inherit' : 'pipe', 'inherit'],
    env,
    cwd: root
  })
  tap.stdout?.setEncoding('utf8').on('data', chunk => {
    process.stdout.write(chunk)
    raw += chunk
  })
  tap.on('error', err => { console.error(err); resolve(1) })
  tap.on('close', (status, signal) => resolve(status ?? (signal ? 1 : 0)))
})
if (atTerminal) {
  try {
    raw = readFileSync(rawFile, 'utf8')
  } catch {} // no file: tap stopped before running tests (say, the stack did not come up)
}

let passed = 0
let failed = 0
let skipped = 0
// flat: one event per assertion. A failed test file with no failed assertion in it
// (it exited non-zero, or timed out) still shows up as one failure.
for (const [event, result] of Parser.parse(raw, { flat: true })) {
  if (event !== 'assert') continue
  if (result.skip || result.todo) skipped++
  else if (result.ok) passed++
  else failed++
}
if (code !== 0 && failed === 0) failed = 1 // tap failed with nothing to show for it: still a failure

if (saveAs !== undefined && existsSync(join(root, '.tap/coverage'))) {
  const saved = join(root, '.tap/coverage-runs', saveAs)
  rmSync(saved, { recursive: true, force: true })
  cpSync(join(root, '.tap/coverage'), saved, { recursive: true })
}

if (skipped) console.log(`\n${skipped} skipped or todo`)
console.log(`\n${passed} passed, ${failed} failed`)
process.exitCode = code || (failed ? 1 : 0)
