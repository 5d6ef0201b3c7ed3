// Java and Maven: check they exist, and resolve the broker jars once into stack/.cache.
import { spawn, spawnSync } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { CACHE_DIR, RUN_DIR, STACK_DIR, StackError, shown } from './paths.mjs'

const ALTERNATIVE = 'Or point KAFKA_BROKERS at a Kafka broker that already runs.'

function version (cmd, args) {
  const res = spawnSync(cmd, args, { encoding: 'utf8' })
  if (res.error?.code === 'ENOENT') return null
  return `${res.stdout}${res.stderr}`
}

/** Throws a StackError saying what to install unless Java 17 or newer is on the PATH. */
export function requireJava () {
  const out = version('java', ['-version'])
  if (out === null) {
    throw new StackError(`java not found: the local Kafka broker needs a JDK 17+ (Debian: apt-get install default-jdk-headless). ${ALTERNATIVE}`)
  }
  const major = Number(/version "(?:1\.)?(\d+)/.exec(out)?.[1])
  if (major < 17) {
    throw new StackError(`java ${major} found, Kafka 4 needs 17 or newer (Debian: apt-get install default-jdk-headless). ${ALTERNATIVE}`)
  }
}

/**
 * Directory holding every runtime jar of kafka_2.13:<kafkaVersion>; Maven fills it on first use.
 * Maven writes into a temporary folder that is renamed at the end, so an interrupted
 * download is never mistaken for a complete one.
 */
export async function kafkaJars (kafkaVersion, log) {
  const lib = join(CACHE_DIR, `kafka-${kafkaVersion}`)
  if (existsSync(lib)) return lib
  if (version('mvn', ['-v']) === null) {
    throw new StackError(`mvn not found: the stack resolves Kafka's jars from Maven Central with Maven (Debian: apt-get install maven). ${ALTERNATIVE}`)
  }
  const tmp = `${lib}.partial`
  rmSync(tmp, { recursive: true, force: true })
  mkdirSync(RUN_DIR, { recursive: true })
  const logFile = join(RUN_DIR, 'maven.log')
  const args = [
    '-B', '-f', join(STACK_DIR, 'pom.xml'), `-Dkafka.version=${kafkaVersion}`,
    'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies',
    '-DincludeScope=runtime', `-DoutputDirectory=${tmp}`
  ]
  log(`resolving Kafka ${kafkaVersion} jars with Maven into ${shown(lib)} (log: ${shown(logFile)})`)
  const started = Date.now()
  const downloads = await new Promise((resolve, reject) => {
    const out = createWriteStream(logFile)
    const mvn = spawn('mvn', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    // Maven's own download lines are hundreds; a count every few seconds shows progress without the flood.
    let downloads = 0
    let reported = 0
    const tick = setInterval(() => {
      if (downloads !== reported) log(`  maven: ${downloads} files downloaded`)
      reported = downloads
    }, 3000)
    const count = chunk => { downloads += (String(chunk).match(/Downloaded from/g) ?? []).length }
    mvn.stdout.on('data', count).pipe(out, { end: false })
    mvn.stderr.pipe(out, { end: false })
    mvn.on('error', reject)
    mvn.on('close', code => {
      clearInterval(tick)
      out.end()
      if (code === 0) return resolve(downloads)
      reject(new StackError(`Maven failed (exit ${code}) resolving org.apache.kafka:kafka_2.13:${kafkaVersion}: see ${shown(logFile)}`))
    })
  })
  renameSync(tmp, lib)
  log(`  jars ready in ${((Date.now() - started) / 1000).toFixed(1)}s (${downloads} files downloaded)`)
  return lib
}
