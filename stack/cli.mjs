#!/usr/bin/env node
// npm run stack:up | stack:down | stack:status
import { StackError } from './paths.mjs'
import { down, status, up } from './stack.mjs'

const whose = s => s.owner === 'stack' ? `the stack's (pid ${s.pid}, log ${s.log})` : 'found running, not the stack\'s'

function printUp ({ kafka, redis, kafkaBrokers, redisUrl }) {
  const { before, after, changed } = redis.keyspaceEvents
  for (const [name, s] of [['kafka', kafka], ['redis', redis]]) {
    console.log(`${name}  ${s.address}  ${s.action === 'started' ? 'started now' : 'already running'}: ${whose(s)}`)
  }
  console.log(changed
    ? `redis  notify-keyspace-events: CONFIG SET '${before}' -> '${after}'`
    : `redis  notify-keyspace-events: '${after}' already includes K and $, left as is`)
  console.log(`\nKAFKA_BROKERS=${kafkaBrokers.join(',')}\nREDIS_URL=${redisUrl}`)
}

function printDown (result) {
  for (const [name, r] of Object.entries(result)) {
    console.log(r.action === 'none'
      ? `${name}  nothing started by the stack is running (servers found running are left alone)`
      : `${name}  ${r.action} pid ${r.pid} (${r.address})`)
  }
}

function printStatus ({ kafka, redis }) {
  for (const [name, s] of [['kafka', kafka], ['redis', redis]]) {
    const state = s.running ? `running, ${whose(s)}` : s.owner === 'stack' ? `NOT answering; the stack's pid ${s.pid} runs (starting? log ${s.log})` : 'not running'
    console.log(`${name}  ${s.address}  ${state}${s.clusterId ? ` (cluster ${s.clusterId})` : ''}`)
  }
}

const commands = {
  up: async () => printUp(await up()),
  down: async () => printDown(await down()),
  status: async () => printStatus(await status())
}

const command = commands[process.argv[2]]
if (!command) {
  console.error('usage: node stack/cli.mjs up|down|status')
  process.exit(2)
}
try {
  await command()
} catch (err) {
  console.error(err instanceof StackError ? `stack: ${err.message}` : err)
  process.exitCode = 1
}
