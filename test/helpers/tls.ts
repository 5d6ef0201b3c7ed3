// A certificate authority made for one test, and certificates it signs: what a TLS server of the
// test needs, made with openssl (Debian's), nothing downloaded.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'

/** PEM files (and their text) of a CA and of a server certificate it signed for 127.0.0.1 and localhost. */
export interface TestCertificates {
  caFile: string
  ca: string
  certFile: string
  keyFile: string
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

/** A new CA and a server certificate it signed, in a directory removed at the end of the test. */
export function testCertificates (t: Test, name = 'test'): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-reply-tls-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = (base: string) => join(dir, base)
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' })
  openssl('req', '-x509', ...EC_KEY, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '2', '-subj', `/CN=${name} CA`)
  openssl('req', ...EC_KEY, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost')
  writeFileSync(file('san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial',
    '-out', file('server.crt'), '-days', '2', '-extfile', file('san.cnf'))
  return { caFile: file('ca.crt'), ca: readFileSync(file('ca.crt'), 'utf8'), certFile: file('server.crt'), keyFile: file('server.key') }
}
