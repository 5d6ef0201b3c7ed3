import { httpCeiling, httpKafkaBare, kafkaFloor } from './baselines.js'
import { nestjs } from './nestjs.js'
import { pluginAffinity, pluginMixed, pluginOneReplica, pluginRedis, pluginRedisCluster, poll10, poll50 } from './plugin.js'
import type { Scenario } from './types.js'

/** Every scenario, in the order `npm run bench` runs them. */
export const scenarios: Scenario[] = [httpCeiling, kafkaFloor, httpKafkaBare, pluginRedis, pluginRedisCluster, pluginMixed, pluginAffinity, pluginOneReplica, poll10, poll50, nestjs]
