// The cluster stack: three brokers, and topics replicated as the cluster's defaults say.
import t from 'tap'
import { clusterAdmin } from '../helpers/cluster.js'
import { uniqueName } from '../helpers/stack.js'

t.test('the Kafka cluster has three brokers and replicates a new topic 3 times, 2 in sync required', async t => {
  const admin = await clusterAdmin()
  t.teardown(() => admin.disconnect())
  const { brokers } = await admin.describeCluster()
  t.same(brokers.map(b => b.nodeId).sort(), [1, 2, 3])

  const topic = uniqueName('cluster-stack')
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true })
  const { topics: [metadata] } = await admin.fetchTopicMetadata({ topics: [topic] })
  t.same(metadata.partitions.map(p => p.replicas.length), [3, 3])
  const configs = await admin.describeConfigs({ resources: [{ type: 2, name: topic, configNames: ['min.insync.replicas'] }], includeSynonyms: false })
  t.equal(configs.resources[0].configEntries[0].configValue, '2')
})
