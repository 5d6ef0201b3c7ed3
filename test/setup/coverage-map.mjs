// tap's coverage map: whatever test runs, coverage is recorded and reported for the plugin's
// sources only (the package users install). The reference services, the stack, the benchmarks and
// the fault suite are exercised by the tests but are not the product measured here.
export default () => 'plugin/**/*.ts'
