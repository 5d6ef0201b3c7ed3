// OpenTelemetry for the reference services. Metrics are always collected (GET /metrics serves
// them); traces only when an exporter is configured: OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set
// (the exporter reads the standard OTEL_EXPORTER_OTLP_* variables), or a file (TRACE_FILE).
import { metrics } from '@opentelemetry/api'
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { FileSpanExporter } from './trace-file.js'

/** Where traces go; nothing is traced when neither is set. */
export interface TracingConfig {
  /** service.name of the spans. */
  serviceName: string
  /** OTLP/HTTP endpoint (base URL, as OTEL_EXPORTER_OTLP_ENDPOINT), or undefined. */
  otlpEndpoint: string | undefined
  /** A file to append finished spans to, one JSON line each (for the demo), or undefined. */
  traceFile: string | undefined
}

let tracerProvider: NodeTracerProvider | undefined
let prometheus: PrometheusExporter | undefined

/**
 * Registers a tracer provider (W3C trace context, AsyncLocalStorage) exporting where `config` says;
 * once per process. Returns false, registering nothing, when no exporter is configured.
 */
export function startTracing (config: TracingConfig): boolean {
  if (tracerProvider !== undefined) return true
  const spanProcessors: SpanProcessor[] = []
  if (config.otlpEndpoint !== undefined) spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter()))
  // Written in batches a tenth of a second apart: off the request's path, and soon enough for a
  // reader of the file (the demo) waiting for a trace to be complete.
  if (config.traceFile !== undefined) spanProcessors.push(new BatchSpanProcessor(new FileSpanExporter(config.traceFile), { scheduledDelayMillis: 100 }))
  if (spanProcessors.length === 0) return false
  tracerProvider = new NodeTracerProvider({ resource: resourceFromAttributes({ 'service.name': config.serviceName }), spanProcessors })
  tracerProvider.register()
  return true
}

/**
 * The process's Prometheus exporter, registered as the global MeterProvider's reader on first use.
 * Call it before the plugin registers: its instruments are made from the provider there is then.
 */
export function prometheusExporter (): PrometheusExporter {
  if (prometheus === undefined) {
    // No server of its own: the app serves the text on GET /metrics.
    prometheus = new PrometheusExporter({ preventServerStart: true })
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [prometheus] }))
  }
  return prometheus
}

/** Flushes and stops what was started (spans still in a batch are exported). */
export async function stopTelemetry (): Promise<void> {
  await Promise.allSettled([tracerProvider?.shutdown(), prometheus?.shutdown()])
}
