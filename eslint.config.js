import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'node_modules/**', 'stack/.cache/**', 'stack/.run/**', '.tap/**', 'benchmarks/results/**']
  }),
  {
    // The plugin speaks to Kafka through its transport interface (plugin/kafka/transport.ts); each
    // client library is imported by its own folder only.
    files: ['plugin/**/*.ts'],
    ignores: ['plugin/kafka/kafkajs/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'kafkajs', message: 'Only plugin/kafka/kafkajs/ imports kafkajs: use the transport interface (plugin/kafka/transport.ts).' }]
      }]
    }
  },
  {
    files: ['plugin/**/*.ts'],
    ignores: ['plugin/kafka/platformatic/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: '@platformatic/kafka', message: 'Only plugin/kafka/platformatic/ imports @platformatic/kafka (an optional peer dependency, loaded only when chosen): use the transport interface.' }]
      }]
    }
  }
]
