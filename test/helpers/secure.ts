// The stack's secure broker (SASL_SSL with SCRAM users, ACLs, no auto-creation), as the tests of
// `npm run test:secure` use it: each user's `kafka` option for this run's library, topics made and
// ACLs granted by the broker's super user.
import { readFileSync } from 'node:fs'
import kafkajs, { type Admin } from 'kafkajs'
import type { Test } from 'tap'
import type { KafkaOption } from '../../plugin/kafka/index.js'
import { secureAdmin, secureSettings } from '../../stack/kafka-secure.mjs'
import type { SecureSettings } from '../../stack/stack.mjs'
import { kafkaLibrary, uniqueName } from './stack.js'

export type SecureUser = keyof SecureSettings['users']

const found = secureSettings() as SecureSettings | null
if (found === null) throw new Error('no secure broker: run `npm run stack:up -- --secure` (npm run test:secure does)')
/** The secure broker's address, CA and users. */
export const secure: SecureSettings = found
/** The CA that signed the broker's certificate (PEM). */
export const secureCa: string = readFileSync(secure.caFile, 'utf8')

/** The `kafka` option of `user` on this run's library: SASL (SCRAM) over TLS, verifying the broker against `ca`. */
export function secureKafka (clientId: string, user: SecureUser, options: { mechanism?: 'scram-sha-256' | 'scram-sha-512', password?: string, ca?: string } = {}): KafkaOption {
  const sasl = { mechanism: options.mechanism ?? 'scram-sha-256', username: user, password: options.password ?? secure.users[user] }
  const ssl = { ca: [options.ca ?? secureCa] }
  return (kafkaLibrary === 'kafkajs'
    ? { brokers: [secure.address], clientId, ssl, sasl, connectionTimeout: 3000 }
    : { library: kafkaLibrary, brokers: [secure.address], clientId, ssl, sasl, connectionTimeout: 3000 }) as KafkaOption
}

/** The super user's admin, disconnected at the end of the test. */
export async function superAdmin (t: Test): Promise<Admin> {
  const admin = secureAdmin(secure, 'test-secure-admin')
  await admin.connect()
  t.teardown(() => admin.disconnect())
  return admin
}

/** Names no other test uses: topics created (one partition each), groups to be granted. */
export interface SecureNames { requestTopic: string, replyTopic: string, groupId: string, workerGroupId: string, keyPrefix: string }

export async function secureTopics (admin: Admin): Promise<SecureNames> {
  const names = { requestTopic: uniqueName('req'), replyTopic: uniqueName('reply'), groupId: uniqueName('group'), workerGroupId: uniqueName('workers'), keyPrefix: uniqueName('kr') }
  await admin.createTopics({ topics: [{ topic: names.requestTopic }, { topic: names.replyTopic }], waitForLeaders: true })
  return names
}

// kafkajs is CommonJS: its enums are read from its default export.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs

type Grant = ['topic' | 'group', string, 'read' | 'write' | 'describe']

/** ALLOW ACLs for `user`, each on one literal resource: `['topic', name, 'read']`, ... */
export async function grant (admin: Admin, user: SecureUser, grants: Grant[]): Promise<void> {
  const operation = { read: AclOperationTypes.READ, write: AclOperationTypes.WRITE, describe: AclOperationTypes.DESCRIBE }
  await admin.createAcls({
    acl: grants.map(([type, name, op]) => ({
      resourceType: type === 'topic' ? AclResourceTypes.TOPIC : AclResourceTypes.GROUP,
      resourceName: name,
      resourcePatternType: ResourcePatternTypes.LITERAL,
      principal: `User:${user}`,
      host: '*',
      operation: operation[op],
      permissionType: AclPermissionTypes.ALLOW
    }))
  })
}

/** The ACLs docs/security.md lists, as tested: the plugin's user and the worker's. */
export async function grantMinimal (admin: Admin, names: SecureNames): Promise<void> {
  await grant(admin, 'reply-app', [['topic', names.replyTopic, 'read'], ['group', names.groupId, 'read'], ['topic', names.requestTopic, 'write']])
  await grant(admin, 'reply-worker', [['topic', names.requestTopic, 'read'], ['group', names.workerGroupId, 'read'], ['topic', names.replyTopic, 'write']])
}
