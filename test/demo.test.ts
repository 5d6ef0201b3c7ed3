import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { within } from './helpers/stack.js'

const root = fileURLToPath(new URL('..', import.meta.url))

t.test('npm run demo builds, runs to its end, exits 0 and shows both reply paths', async t => {
  // The command as a user types it; tap's loader hooks are left out, the demo runs compiled JS.
  const env = { ...process.env, NODE_OPTIONS: '' }
  const demo = spawn('npm', ['run', '--silent', 'demo'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { demo.kill('SIGKILL') })
  let output = ''
  demo.stdout.on('data', chunk => { output += chunk })
  demo.stderr.on('data', chunk => { output += chunk })
  const [code] = await within(100_000, 'the demo to finish', once(demo, 'exit'))
  t.equal(code, 0, 'exit code 0')
  if (code !== 0) t.comment(output)

  const routes = output.split('\n').filter(line => /^\d+\s+api-\d\s+api-\d\s+(memory|redis)\s+200\s+\d+\.\d+\s/.test(line))
  t.ok(routes.length >= 8, `the routing table has a row per quote (${routes.length})`)
  t.ok(routes.some(line => /\smemory\s/.test(line)), 'a reply consumed by the replica that waited')
  t.ok(routes.some(line => /\sredis\s/.test(line)), 'a reply handed over through Redis')
  t.match(output, /\s504\s+\d+\.\d+\s+FST_KAFKA_REPLY_TIMEOUT/, 'a timeout')
  t.match(output, /\s502\s+\d+\.\d+\s+WORKER_ERROR: The worker failed: internal error \(correlation id /, 'a worker failure, its message kept on the worker')
  t.match(output, /\s422\s+\d+\.\d+\s+UNKNOWN_SKU/, 'a worker refusal passed through')
  t.match(output, /SCAN MATCH demo-[0-9a-f]+:\* -> 0 keys/, 'Redis holds nothing afterwards')
  t.match(output, /demo: all \d+ checks passed/)
  t.notMatch(output, /FAIL/)
})
