// The `kafka` option: which library, and the settings each one takes, checked without loading
// @platformatic/kafka (an optional peer dependency).
import t from 'tap'
import { checkKafkaOption, libraryOf, platformaticNodeProblem } from '../../plugin/kafka/index.js'

const platformatic = { library: '@platformatic/kafka', brokers: ['127.0.0.1:9092'] }

t.test('kafkajs is the default; @platformatic/kafka is chosen by name; any other name is refused', async t => {
  t.equal(libraryOf({ brokers: ['b:9092'] }), 'kafkajs')
  t.equal(libraryOf({ library: 'kafkajs', brokers: ['b:9092'] }), 'kafkajs')
  t.equal(libraryOf(platformatic as Parameters<typeof libraryOf>[0]), '@platformatic/kafka')
  t.doesNotThrow(() => checkKafkaOption({ library: 'kafkajs', brokers: ['b:9092'] }))
  t.throws(() => checkKafkaOption({ library: 'node-rdkafka', brokers: ['b:9092'] }), { code: 'FST_KAFKA_REPLY_INVALID_OPTION', message: /kafka\.library: expected one of 'kafkajs', '@platformatic\/kafka'/ })
})

t.test('a @platformatic/kafka option: the common settings, and its own under kafka.platformatic', async t => {
  t.doesNotThrow(() => checkKafkaOption({
    ...platformatic,
    clientId: 'api',
    ssl: { rejectUnauthorized: true },
    sasl: { mechanism: 'scram-sha-512', username: 'u', password: async () => 'p' },
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    platformatic: { compression: 'lz4', clientRack: 'eu-1a', maxInflights: 2 }
  }))
  for (const mechanism of ['plain', 'PLAIN', 'scram-sha-256', 'SCRAM-SHA-512']) {
    t.doesNotThrow(() => checkKafkaOption({ ...platformatic, sasl: { mechanism, username: 'u', password: 'p' } }), mechanism)
  }
})

t.test('a @platformatic/kafka option that cannot work fails with its path', async t => {
  const invalid: Array<[Record<string, unknown>, RegExp]> = [
    [{ brokers: [] }, /kafka\.brokers/],
    [{ clientId: 'has space' }, /kafka\.clientId/],
    [{ ssl: 'yes' }, /kafka\.ssl/],
    [{ sasl: { mechanism: 'gssapi', username: 'u', password: 'p' } }, /kafka\.sasl\.mechanism/],
    [{ sasl: { mechanism: 'plain', username: '', password: 'p' } }, /kafka\.sasl\.username/],
    [{ requestTimeout: -1 }, /kafka\.requestTimeout/],
    [{ platformatic: { compression: 'brotli' } }, /kafka\.platformatic\.compression/],
    [{ platformatic: { lingerMs: 5 } }, /kafka\.platformatic\.lingerMs: unknown setting/],
    [{ retry: { retries: 3 } }, /kafka\.retry: unknown setting for @platformatic\/kafka/],
    [{ client: {} }, /kafka\.client: @platformatic\/kafka has no single client object/]
  ]
  for (const [change, message] of invalid) {
    t.throws(() => checkKafkaOption({ ...platformatic, ...change }), { code: 'FST_KAFKA_REPLY_INVALID_OPTION', message }, JSON.stringify(change))
  }
})

t.test('the Node.js versions @platformatic/kafka runs on', async t => {
  for (const version of ['22.22.0', '22.23.5', '23.1.0', '24.6.0', '24.22.3', '25.0.0']) t.equal(platformaticNodeProblem(version), undefined, version)
  for (const version of ['20.20.2', '22.21.9', '24.5.0']) {
    t.match(platformaticNodeProblem(version), new RegExp(`needs Node.js >= 22.22 or >= 24.6; this is Node.js ${version.replaceAll('.', '\\.')}`), version)
  }
})
