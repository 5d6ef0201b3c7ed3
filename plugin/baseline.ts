/**
 * BASELINE FOR BENCHMARKS ONLY, not part of the public API (not exported from the package): set
 * this symbol on the options to a number of ms and the waiting instance polls its reply key with
 * GETDEL at that interval instead of listening for keyspace notifications. It is the busy-polling
 * design this plugin replaces, kept so that the benchmarks can measure the difference.
 */
export const kPollInterval = Symbol('fastify-kafka-reply.baseline.pollInterval')
