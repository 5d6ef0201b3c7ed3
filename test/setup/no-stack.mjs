// tap's `before` script for `npm run test:unit`: the unit tests need no Kafka and no Redis, so
// nothing is started (the suite's own `before` brings up the stack).
console.log('unit tests: no Kafka, no Redis')
