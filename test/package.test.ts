// The package as a user meets it: `npm pack` of this tree, installed into an empty project, then
// imported (ESM), required (CommonJS, running one call against the test stack) and type-checked from
// an ES module and a CommonJS TypeScript consumer. Runs on whatever Node runs the suite (CI runs it
// on 20, 22 and 24).
import t from 'tap'
import { execFile } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { freshTopics } from './helpers/kafka-reply.js'
import { kafkaBrokers, redisUrl } from './helpers/stack.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('..', import.meta.url))
const fixtures = join(root, 'test/fixtures/package')
const require = createRequire(import.meta.url)
const version = (name: string): string => (require(`${name}/package.json`) as { version: string }).version
// Child processes run plain Node: no tap loader, and no coverage of the temporary project.
const env = { ...process.env, NODE_OPTIONS: '', _TAPJS_PROCESSINFO_COVERAGE_: '0' }

// npm pack, npm install and two type-checks: more than the 120 s of one test file when the
// machine is busy.
t.setTimeout(600_000)

const work = mkdtempSync(join(tmpdir(), 'fastify-kafka-reply-package-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))

t.test('the packed tarball installs, imports, requires and type-checks', async t => {
  // Stage a copy of the package, built into its own dist: the build of other tests (the demo's)
  // may write the tree's dist/ at the same time.
  const stage = join(work, 'stage')
  await run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(stage, 'dist')], { cwd: root, env })
  for (const file of ['package.json', 'README.md', 'LICENSE']) cpSync(join(root, file), join(stage, file))
  const { stdout: packed } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: stage, env })
  const [{ filename, files }] = JSON.parse(packed) as Array<{ filename: string, files: Array<{ path: string }> }>
  const paths = files.map(f => f.path)
  t.ok(paths.includes('LICENSE'), 'the tarball has the LICENSE')
  t.ok(paths.includes('dist/plugin/index.d.ts') && paths.includes('dist/plugin/responder/index.js'), 'the tarball has the plugin, the responder and their types')
  t.same(paths.filter(p => !/^(dist\/plugin\/|README\.md$|LICENSE$|package\.json$)/.test(p)), [], 'and nothing else')

  const consumer = join(work, 'consumer')
  cpSync(fixtures, consumer, { recursive: true })
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  // The app's own fastify and @types/node, as a user's project has them; the same versions as
  // this tree's, so the npm cache serves them.
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error',
    join(work, filename), `fastify@${version('fastify')}`, `@types/node@${version('@types/node')}`], { cwd: consumer, env })
  const installed = JSON.parse(readFileSync(join(consumer, 'node_modules/fastify-kafka-reply/package.json'), 'utf8')) as { dependencies: Record<string, string> }
  t.notOk('fastify' in installed.dependencies, 'fastify is not a dependency: the app\'s own copy is the one the plugin augments')
  t.same(readdirSync(join(consumer, 'node_modules/fastify-kafka-reply')).filter(name => name === 'node_modules'), [], 'no second copy of anything nested in the plugin')

  const { stdout: imported } = await run(process.execPath, ['import.mjs'], { cwd: consumer, env })
  t.same(JSON.parse(imported), {
    node: process.version,
    type: 'function',
    named: true,
    errors: 'function',
    client: 'function',
    headers: 'string',
    responder: 'function',
    replyError: 'function'
  }, `import on Node ${process.version}: the plugin, its named exports and the responder`)

  const names = await freshTopics(1)
  const { stdout: required } = await run(process.execPath, ['require.cjs', JSON.stringify({ brokers: kafkaBrokers, redisUrl, ...names })], { cwd: consumer, env, timeout: 90_000 })
  t.same(JSON.parse(required), {
    node: process.version,
    type: 'function',
    default: true,
    named: true,
    errors: 'function',
    responder: 'function',
    replyError: 'function',
    status: 200,
    body: { doubled: 42 }
  }, `require on Node ${process.version}: app.register(require('fastify-kafka-reply')) answers a call`)

  const tsc = await run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: consumer, env }).then(
    () => '',
    (err: { stdout?: string }) => err.stdout ?? String(err)
  )
  t.equal(tsc, '', 'an ES module and a CommonJS TypeScript consumer type-check')
})
