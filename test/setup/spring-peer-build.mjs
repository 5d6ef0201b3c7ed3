// Builds the Spring Kafka peer of the interop tests (test/interop/spring/) once, into stack/.cache
// beside the broker's jars: Maven resolves its jars from Maven Central, javac compiles its one
// source file. Rebuilt only when the pom or the source changes. tap's `before` script runs it as a
// program, so a first build (downloads included) is not charged to a test file's timeout; the
// test imports it to find the classpath.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(import.meta.dirname, '../..')
const project = join(root, 'test/interop/spring')
const source = join(project, 'src/main/java/interop/SpringPeer.java')

/** Builds when needed and returns the peer's Java classpath. Throws saying what failed. */
export function buildSpringPeer () {
  const hash = createHash('sha256').update(readFileSync(join(project, 'pom.xml'))).update(readFileSync(source)).digest('hex').slice(0, 12)
  const dir = join(root, 'stack/.cache', `interop-spring-${hash}`)
  const classpath = `${join(dir, 'classes')}:${join(dir, 'lib')}/*`
  if (existsSync(dir)) return classpath
  // Built in a folder of its own and renamed at the end: an interrupted or concurrent build is
  // never taken for a complete one.
  const tmp = `${dir}.partial-${process.pid}`
  rmSync(tmp, { recursive: true, force: true })
  mkdirSync(tmp, { recursive: true })
  const run = (cmd, args) => {
    const res = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    if (res.error !== undefined || res.status !== 0) {
      rmSync(tmp, { recursive: true, force: true })
      throw new Error(`building the Spring interop peer: ${cmd} failed (${res.error?.message ?? `exit ${res.status}`}): ${res.stdout}${res.stderr}`)
    }
  }
  run('mvn', ['-B', '-q', '-f', join(project, 'pom.xml'),
    'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies',
    '-DincludeScope=runtime', `-DoutputDirectory=${join(tmp, 'lib')}`])
  run('javac', ['-nowarn', '-d', join(tmp, 'classes'), '-cp', `${join(tmp, 'lib')}/*`, source])
  try {
    renameSync(tmp, dir)
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true })
    if (!existsSync(dir)) throw err // another process finished the same build first: use theirs
  }
  return classpath
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now()
  buildSpringPeer()
  console.log(`spring interop peer: built in ${((Date.now() - started) / 1000).toFixed(1)}s`)
}
