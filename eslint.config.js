import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'node_modules/**', 'stack/.cache/**', 'stack/.run/**', '.tap/**', 'benchmarks/results/**']
  })
]
