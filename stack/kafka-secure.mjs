// The stack's secure broker (`npm run stack:up -- --secure`): a single KRaft node whose only client
// listener is SASL_SSL, as managed Kafka services run. SCRAM-SHA-256 and SCRAM-SHA-512 users are
// created when its log dir is formatted; a CA and the broker's certificate are made with openssl at
// every fresh start; StandardAuthorizer with allow.everyone.if.no.acl.found=false, so a user may do
// only what an ACL allows; no topic is created automatically. What a client needs to connect (the
// address, the CA, each user's password) is written to secure.json in its directory.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import kafkajs from 'kafkajs'
import { ONE_NODE, launchKafkaNode, newClusterId, tail } from './kafka.mjs'
import { RUN_DIR, StackError, shown } from './paths.mjs'
import { isAlive } from './proc.mjs'

const { Kafka, logLevel } = kafkajs

export const SECURE = {
  name: 'kafka-secure',
  address: process.env.KAFKA_SECURE_BROKER || '127.0.0.1:9096',
  dir: join(RUN_DIR, 'kafka-secure')
}

/**
 * The users created at format time, and the mechanisms each may log in with. `admin` is the
 * broker's own (inter-broker) user and a super user; the others have no ACL until a test grants one.
 */
export const SECURE_USERS = {
  admin: ['SCRAM-SHA-512'],
  'reply-app': ['SCRAM-SHA-256', 'SCRAM-SHA-512'],
  'reply-worker': ['SCRAM-SHA-256', 'SCRAM-SHA-512'],
  outsider: ['SCRAM-SHA-256']
}

/** secure.json: how a client reaches the secure broker. */
export function secureSettings () {
  const file = join(SECURE.dir, 'secure.json')
  if (!existsSync(file)) return null
  return JSON.parse(readFileSync(file, 'utf8'))
}

function properties ({ port, controllerPort, tls, adminPassword }) {
  return `# Written by stack/kafka-secure.mjs on every fresh start: one node, broker and KRaft controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
# Clients speak SASL_SSL only. The controller listener is the node's own, bound to 127.0.0.1.
listeners=SASL_SSL://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=SASL_SSL://127.0.0.1:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${adminPassword}";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=${tls.keystore}
ssl.keystore.password=${tls.password}
ssl.key.password=${tls.password}
ssl.truststore.type=PKCS12
ssl.truststore.location=${tls.truststore}
ssl.truststore.password=${tls.password}
ssl.client.auth=none
# Every request is checked against ACLs; nothing is allowed without one. The node's controller
# listener has no SASL, so its requests come as User:ANONYMOUS.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:ANONYMOUS
auto.create.topics.enable=false
log.dirs=${join(SECURE.dir, 'data')}
${ONE_NODE}`
}

/** A CA, the broker's certificate (for 127.0.0.1 and localhost) in a PKCS12 keystore, and a truststore with the CA. */
function makeCertificates (dir, password) {
  const file = name => join(dir, name)
  const run = (command, ...args) => {
    try {
      execFileSync(command, args, { stdio: 'pipe' })
    } catch (err) {
      throw new StackError(`${command} ${args[0]} failed making the secure broker's certificates: ${err.stderr?.toString() || err.message}`)
    }
  }
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  run('openssl', 'req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '30', '-subj', '/CN=fastify-kafka-reply stack CA')
  run('openssl', 'req', ...ec, '-keyout', file('broker.key'), '-out', file('broker.csr'), '-subj', '/CN=localhost')
  writeFileSync(file('san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  run('openssl', 'x509', '-req', '-in', file('broker.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial',
    '-out', file('broker.crt'), '-days', '30', '-extfile', file('san.cnf'))
  run('openssl', 'pkcs12', '-export', '-in', file('broker.crt'), '-inkey', file('broker.key'), '-certfile', file('ca.crt'),
    '-name', 'broker', '-out', file('broker.p12'), '-passout', `pass:${password}`)
  run('keytool', '-importcert', '-noprompt', '-storetype', 'PKCS12', '-keystore', file('truststore.p12'), '-storepass', password,
    '-alias', 'ca', '-file', file('ca.crt'))
  return { keystore: file('broker.p12'), truststore: file('truststore.p12'), password, caFile: file('ca.crt') }
}

/** A kafkajs admin of the secure broker as `admin` (a super user). */
export function secureAdmin (settings, clientId = 'stack-secure-admin') {
  return new Kafka({
    clientId,
    brokers: [settings.address],
    ssl: { ca: [readFileSync(settings.caFile, 'utf8')] },
    sasl: { mechanism: 'scram-sha-512', username: 'admin', password: settings.users.admin },
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 0 }
  }).admin({ retry: { retries: 0 } })
}

/** Whether the secure broker answers `admin` and has a group coordinator; never throws. */
export async function secureAnswers (settings) {
  if (settings === null) return false
  const admin = secureAdmin(settings, 'stack-secure-probe')
  try {
    await admin.connect()
    const cluster = await admin.describeCluster()
    if (cluster.brokers.length === 0) return false
    await admin.describeGroups(['stack-warm-up'])
    return true
  } catch {
    return false
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

/** Formats and starts the secure broker; resolves with its settings once `admin` is answered. */
export async function startSecureKafka (log, timeoutMs = 120_000) {
  const m = /^127\.0\.0\.1:(\d+)$/.exec(SECURE.address)
  if (!m) throw new StackError(`KAFKA_SECURE_BROKER must be 127.0.0.1:<port>, not ${SECURE.address}`)
  const port = Number(m[1])
  const controllerPort = port + 1
  const secret = () => randomBytes(12).toString('base64url')
  const users = Object.fromEntries(Object.keys(SECURE_USERS).map(name => [name, secret()]))
  const password = secret()
  let tls
  const state = await launchKafkaNode({
    dir: SECURE.dir,
    stateName: SECURE.name,
    address: SECURE.address,
    prepare: () => { tls = makeCertificates(SECURE.dir, password) },
    properties: () => properties({ port, controllerPort, tls, adminPassword: users.admin }),
    clusterId: newClusterId(),
    formatArgs: Object.entries(SECURE_USERS).flatMap(([name, mechanisms]) =>
      mechanisms.map(mechanism => `--add-scram=${mechanism}=[name=${name},password=${users[name]}]`)),
    heap: process.env.STACK_KAFKA_HEAP_OPTS || '-Xms128m -Xmx384m',
    log
  })
  const settings = { address: SECURE.address, caFile: tls.caFile, users }
  writeFileSync(join(SECURE.dir, 'secure.json'), JSON.stringify(settings, null, 2) + '\n', { mode: 0o600 })
  for (const deadline = Date.now() + timeoutMs; !(await secureAnswers(settings)); await sleep(300)) {
    if (!isAlive(state.pid)) {
      throw new StackError(`the secure Kafka broker (pid ${state.pid}) exited during startup:\n${tail(state.log)}${tail(state.stdout)}\nsee ${shown(state.log)}`)
    }
    if (Date.now() > deadline) throw new StackError(`the secure Kafka broker (pid ${state.pid}) did not answer at ${SECURE.address} within ${timeoutMs / 1000}s: see ${shown(state.log)}`)
  }
  return { state, settings }
}
