// Every fault scenario, in the order the suite runs them. A new scenario: a file beside this one
// exporting a Scenario (see ../lib/types.ts), added to this list.
import type { Scenario } from '../lib/types.js'
import { acceptedReplies } from './accepted-replies.js'
import { acl } from './acl.js'
import { badInput } from './bad-input.js'
import { hostileRecords } from './hostile-records.js'
import { idempotentRetries } from './idempotent-retries.js'
import { kafkaRestart } from './kafka-restart.js'
import { redisClusterFailover } from './redis-cluster-failover.js'
import { poisonRequests } from './poison-requests.js'
import { redisRestart } from './redis-restart.js'
import { replicaSigkill } from './replica-sigkill.js'
import { replicasBeyondPartitions } from './replicas-beyond-partitions.js'
import { rollingRestart } from './rolling-restart.js'
import { steady } from './steady.js'
import { subscriberKill } from './subscriber-kill.js'
import { workerRestart } from './worker-restart.js'

/** The scenarios `npm run test:faults` runs (`--only a,b` picks some). */
export const scenarios: Scenario[] = [steady, subscriberKill, redisRestart, kafkaRestart, workerRestart, idempotentRetries, acceptedReplies, rollingRestart, replicaSigkill, hostileRecords, badInput, poisonRequests, acl, redisClusterFailover, replicasBeyondPartitions]
