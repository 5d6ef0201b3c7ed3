// tap's coverage map: whatever test runs, coverage is recorded and reported for the plugin's
// sources only (the package users install). The reference services, the stack, the benchmarks and
// the fault suite are exercised by the tests but are not the product measured here. A run covers
// the Kafka client library it runs on (KAFKA_LIBRARY): the other library's folder is left to the
// run on that library, and `npm run coverage` reports every run together.
import { readdirSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '../..')
const LIBRARY_FOLDERS = { kafkajs: 'plugin/kafka/kafkajs/', '@platformatic/kafka': 'plugin/kafka/platformatic/' }
const library = process.env.KAFKA_LIBRARY || 'kafkajs'
const others = Object.entries(LIBRARY_FOLDERS).filter(([name]) => name !== library).map(([, folder]) => folder)

const files = readdirSync(join(root, 'plugin'), { recursive: true })
  .map(file => relative(root, join(root, 'plugin', String(file))).replaceAll('\\', '/'))
  .filter(file => file.endsWith('.ts') && !others.some(folder => file.startsWith(folder)))

export default () => files
