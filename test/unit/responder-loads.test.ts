// A worker that imports fastify-kafka-reply/responder loads nothing of the caller's side: no
// ioredis, no Fastify, no reply store.
import t from 'tap'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

t.test('importing the responder loads no Redis client and no Fastify', async t => {
  const { stdout } = await promisify(execFile)(process.execPath, [...process.execArgv, join(root, 'test/fixtures/load-responder.ts')], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: '', _TAPJS_PROCESSINFO_COVERAGE_: '0' }
  })
  const loaded = JSON.parse(stdout) as string[]
  t.ok(loaded.some(file => file.includes('/node_modules/kafkajs/')), 'the check sees CommonJS packages: kafkajs is loaded')
  for (const name of ['ioredis', 'fastify', '@fastify/redis', 'fastify-plugin']) {
    t.notOk(loaded.some(file => file.includes(`/node_modules/${name}/`)), `${name} is not loaded`)
  }
})

t.test('no module the responder imports, however indirectly, is the plugin\'s Redis side or its entry', async t => {
  const seen = new Set<string>()
  const visit = (file: string): void => {
    if (seen.has(file)) return
    seen.add(file)
    const source = readFileSync(file, 'utf8')
    // Type-only imports load nothing at run time.
    for (const [, typeOnly, spec] of source.matchAll(/^(?:import|export)(\s+type)?\s[^'"]*?from\s+'(\.[^']+)'/gm)) {
      if (typeOnly === undefined) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')))
    }
  }
  visit(join(root, 'plugin/responder/index.ts'))
  const modules = [...seen].map(file => file.slice(join(root, 'plugin').length + 1))
  t.ok(modules.includes('kafka/kafkajs/index.ts'), 'the walk follows imports into the transport')
  t.same(modules.filter(file => file.startsWith('redis/') || ['index.ts', 'options.ts', 'kafka-reply.ts'].includes(file)), [])
})
