import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { within } from './helpers/stack.js'

const root = fileURLToPath(new URL('..', import.meta.url))

t.test('npm run demo builds, runs to its end, exits 0 and shows both reply paths, a retried call and an accepted one', async t => {
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
  t.match(output, /\s504\s+-\s+-\s+-\s+\d+\.\d+\s+FST_KAFKA_REPLY_TIMEOUT/, 'a call with an Idempotency-Key that times out')
  t.match(output, /retry while the worker prices it\s+"ivy-order-1"\s+api-\d\s+409\s+\d+\s+-\s+-\s+\d+\.\d+\s+FST_KAFKA_REPLY_IDEMPOTENCY_IN_PROGRESS/, 'its retry during the flight: 409 with Retry-After')
  const replays = output.split('\n').filter(line => /\s200\s+-\s+true\s+replayed\s+\d+\.\d+\s+SLOW x 1 = 1\.00 EUR, quote [0-9a-f]{8}$/.test(line))
  t.equal(replays.length, 2, 'its retries after the late reply: the quote, Idempotent-Replayed: true')
  t.equal(new Set(replays.map(line => line.slice(-8))).size, 1, 'the same quote both times')
  t.match(output, /SCAN MATCH demo-[0-9a-f]+:\{\*\}:\* -> 0 reply keys/, 'no reply key left in Redis')
  t.match(output, /the call, Prefer: respond-async, wait=60\s+api-\d\s+202\s+1\s+\/quotes\/replies\//, 'a slow quote accepted: 202 with a Location')
  t.match(output, /poll after Retry-After\s+api-\d\s+200\s+-\s+-\s+\d+\.\d+\s+SLOW x 2 = /, 'its quote fetched when done')
  t.match(output, /SCAN MATCH demo-[0-9a-f]+:idempotency:\{\*\} -> 2 idempotency records: demo-[0-9a-f]+:idempotency:\{[A-Za-z0-9_-]{22}\} \(PTTL \d+ ms\)/, 'only the idempotency record and the accepted reply, kept on purpose')
  t.match(output, /demo: all \d+ checks passed/)
  t.notMatch(output, /FAIL/)
})
