// tap's `before` script of `npm run test:secure`: the single stack plus the secure broker
// (`npm run stack:up -- --secure`), started when missing, reused when running, left running.
// A child process, as in stack-up.ts: tap records coverage for what this process loads.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const cli = fileURLToPath(new URL('../../stack/cli.mjs', import.meta.url))
const started = Date.now()
const { status, error } = spawnSync(process.execPath, [cli, 'up', '--secure'], {
  stdio: 'inherit',
  env: { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
})
if (error || status !== 0) {
  console.error('stack: could not bring up the secure broker for the tests', error ?? '')
  process.exit(1)
}
console.log(`stack: secure broker ready in ${((Date.now() - started) / 1000).toFixed(1)}s`)
