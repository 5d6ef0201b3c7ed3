// tap's `before` script: one Kafka broker and one Redis for the whole run, started when
// missing, reused when already running. Left running afterwards; `npm run stack:down` stops them.
//
// It runs the stack's CLI in a child process rather than importing stack/stack.mjs: tap records
// coverage for whatever this process loads (even with coverage disabled for the tests), and
// the stack's modules would then fail tap's coverage check.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const cli = fileURLToPath(new URL('../../stack/cli.mjs', import.meta.url))
const started = Date.now()
const { status, error } = spawnSync(process.execPath, [cli, 'up'], {
  stdio: 'inherit',
  env: { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
})
if (error || status !== 0) {
  console.error('stack: could not bring up Kafka and Redis for the tests', error ?? '')
  process.exit(1)
}
console.log(`stack: ready in ${((Date.now() - started) / 1000).toFixed(1)}s`)

// The Spring interop peer's jars and classes, built here so that a first build (Maven downloads
// included) is not charged to its test file's timeout. A failure is left to that test to report.
const build = spawnSync(process.execPath, [fileURLToPath(new URL('./spring-peer-build.mjs', import.meta.url))], { stdio: 'inherit' })
if (build.error || build.status !== 0) console.error('spring interop peer: not built here; test/interop-spring.test.ts will try again and say why')
