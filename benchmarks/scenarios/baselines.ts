import type { KafkaLibrary } from '../../plugin/index.js'
import type { Running, Scenario, ScenarioContext } from './types.js'

/** A request and a reply topic of one partition each, and the benchmarks' worker on the request topic. */
async function topicsAndWorker (ctx: ScenarioContext, library: KafkaLibrary = 'kafkajs') {
  const requestTopic = ctx.unique('bench-req')
  const replyTopic = ctx.unique('bench-reply')
  await ctx.createTopic(requestTopic, 1)
  await ctx.createTopic(replyTopic, 1)
  const worker = await ctx.start('worker', 'worker', { KAFKA_LIBRARY: library, REQUEST_TOPIC: requestTopic, GROUP_ID: ctx.unique('bench-worker') })
  return { requestTopic, replyTopic, worker }
}

export const httpCeiling: Scenario = {
  name: 'http-ceiling',
  description: 'a Fastify route that answers at once: what HTTP alone costs here',
  async start (ctx) {
    const app = await ctx.start('app-1', 'http-ceiling', {})
    return { targets: [`http://127.0.0.1:${app.port!}/call`], processes: [app], stop: async () => { await app.stop() } }
  }
}

/** The transport's floor on a library: request-reply through the plugin's Kafka transport alone. */
function floor (library: KafkaLibrary): Scenario {
  return {
    name: library === 'kafkajs' ? 'kafka-floor' : 'kafka-floor-platformatic',
    description: `the same request-reply with the plugin's Kafka transport alone (${library}), no HTTP and no Redis: the transport's floor`,
    library,
    start: ctx => startFloor(ctx, library)
  }
}

export const kafkaFloor = floor('kafkajs')
export const kafkaFloorPlatformatic = floor('@platformatic/kafka')

async function startFloor (ctx: ScenarioContext, library: KafkaLibrary): Promise<Running> {
  const { requestTopic, replyTopic, worker } = await topicsAndWorker(ctx, library)
  const client = await ctx.start('app-1', 'kafka-floor', { KAFKA_LIBRARY: library, REQUEST_TOPIC: requestTopic, REPLY_TOPIC: replyTopic, GROUP_ID: ctx.unique('bench-floor') })
  return {
    processes: [client, worker],
    load: options => new Promise((resolve, reject) => {
      client.process.once('message', (message: { type: string, message?: string, latenciesUs: number[], errors: number, timeouts: number }) => {
        if (message.type === 'result') resolve(message)
        else reject(new Error(`kafka-floor: ${message.message}`))
      })
      client.process.send({ type: 'load', ...options, body: JSON.stringify({ sku: 'KB-101', quantity: 1 }) })
    }),
    stop: async () => { await Promise.all([client.stop(), worker.stop()]) }
  }
}

export const httpKafkaBare: Scenario = {
  name: 'http-kafka-bare',
  description: 'a hand-written bridge: one Fastify route and kafkajs, replies from its own reply topic resolved in an in-memory map (no plugin, no Redis)',
  async start (ctx) {
    const { requestTopic, replyTopic, worker } = await topicsAndWorker(ctx)
    try {
      const app = await ctx.start('app-1', 'http-kafka-bare', { REQUEST_TOPIC: requestTopic, REPLY_TOPIC: replyTopic, GROUP_ID: ctx.unique('bench-bare') })
      return { targets: [`http://127.0.0.1:${app.port!}/call`], processes: [app, worker], stop: async () => { await Promise.all([app.stop(), worker.stop()]) } }
    } catch (err) {
      await worker.stop()
      throw err
    }
  }
}
