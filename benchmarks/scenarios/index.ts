import { httpCeiling, httpKafkaBare, kafkaFloor, kafkaFloorPlatformatic } from './baselines.js'
import { nestjs } from './nestjs.js'
import {
  pluginAffinity, pluginAffinityAccepted, pluginAffinityIdempotent, pluginAffinityPlatformatic, pluginMixed, pluginOneReplica, pluginOneReplicaPlatformatic, pluginRedis,
  pluginRedisAccepted, pluginRedisCluster, pluginRedisIdempotent, pluginRedisPlatformatic, pluginWorkerOutage, poll10, poll50
} from './plugin.js'
import type { Scenario } from './types.js'

/** Every scenario, in the order `npm run bench` runs them. */
export const scenarios: Scenario[] = [
  httpCeiling, kafkaFloor, httpKafkaBare, pluginRedis, pluginRedisIdempotent, pluginRedisAccepted, pluginRedisCluster, pluginMixed, pluginAffinity, pluginAffinityIdempotent, pluginAffinityAccepted,
  pluginOneReplica, poll10, poll50, nestjs, pluginWorkerOutage,
  kafkaFloorPlatformatic, pluginRedisPlatformatic, pluginAffinityPlatformatic, pluginOneReplicaPlatformatic
]
