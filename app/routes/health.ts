import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'

const Health = Type.Object({
  ready: Type.Boolean(),
  kafka: Type.Boolean(),
  redis: Type.Boolean(),
  instanceId: Type.String()
})

const Stats = Type.Object({ instanceId: Type.String() }, { additionalProperties: Type.Integer() })

/**
 * GET /health/live (the process answers), GET /health/ready (200 only while this replica can
 * answer quotes: Kafka reply consumer in its group, Redis subscriber live; 503 otherwise, so a
 * load balancer stops sending it traffic) and GET /stats (the reply counters of this replica).
 */
export const healthRoutes: FastifyPluginAsyncTypebox = async function healthRoutes (fastify) {
  const { kafkaReply } = fastify

  fastify.get('/health/live', { schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async function () {
    return { status: 'ok' as const }
  })

  fastify.get('/health/ready', { schema: { response: { 200: Health, 503: Health } } }, async function (_request, reply) {
    const health = kafkaReply.health()
    return reply.code(health.ready ? 200 : 503).send({ ...health, instanceId: kafkaReply.instanceId })
  })

  fastify.get('/stats', { schema: { response: { 200: Stats } } }, async function () {
    return { instanceId: kafkaReply.instanceId, ...kafkaReply.stats() }
  })
}
