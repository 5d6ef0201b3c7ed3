import type { Child } from '../../app/demo/children.js'
import type { Scenario } from './types.js'

const WARM_UP_BODY = { sku: 'KB-101', quantity: 1 }

/**
 * The peer a Node.js user would pick instead: a NestJS HTTP app calling `ClientKafka.send()`
 * against a NestJS `@MessagePattern` microservice that echoes, both as installed from npm.
 */
export const nestjs: Scenario = {
  name: 'nestjs',
  description: 'NestJS: an HTTP app calling ClientKafka.send() against a @MessagePattern microservice (npm, Fastify platform)',
  async start (ctx) {
    const requestTopic = ctx.unique('bench-req')
    // Nest's client subscribes to, and its server replies on, '<request topic>.reply'.
    await ctx.createTopic(requestTopic, 1)
    await ctx.createTopic(`${requestTopic}.reply`, 1)
    const children: Child[] = []
    const stop = async () => { await Promise.all(children.map(child => child.stop())) }
    try {
      // The worker first: it has joined its group when it is ready, so no request goes unread.
      const worker = await ctx.start('worker', 'nestjs-worker', { REQUEST_TOPIC: requestTopic, GROUP_ID: ctx.unique('bench-nestjs-worker') })
      children.push(worker)
      const app = await ctx.start('app-1', 'nestjs-app', {
        REQUEST_TOPIC: requestTopic,
        CLIENT_ID: 'bench-nestjs-app-1',
        GROUP_ID: ctx.unique('bench-nestjs-replies')
      })
      children.push(app)
      const target = `http://127.0.0.1:${app.port!}/call`
      await warmUp(target)
      return { targets: [target], processes: [app, worker], stop }
    } catch (err) {
      await stop()
      throw err
    }
  }
}

/** One call before the load, so a scenario that does not echo fails here rather than as errors in the results. */
async function warmUp (target: string): Promise<void> {
  const response = await fetch(target, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(WARM_UP_BODY),
    signal: AbortSignal.timeout(30_000)
  })
  const text = await response.text()
  if (response.status !== 200 || text !== JSON.stringify(WARM_UP_BODY)) {
    throw new Error(`nestjs: the warm-up call answered ${response.status} ${text}`)
  }
}
