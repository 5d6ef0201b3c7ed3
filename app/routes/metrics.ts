import type { FastifyInstance } from 'fastify'
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus'

/** GET /metrics: this replica's metrics in the Prometheus text format (the plugin's included). */
export async function metricsRoutes (fastify: FastifyInstance, { prometheus }: { prometheus: PrometheusExporter }): Promise<void> {
  fastify.get('/metrics', { config: { otel: false } }, function (request, reply) {
    // The exporter writes the response itself.
    reply.hijack()
    prometheus.getMetricsRequestHandler(request.raw, reply.raw)
  })
}
