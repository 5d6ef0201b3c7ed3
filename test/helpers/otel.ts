// An OpenTelemetry SDK for tests: spans and metrics kept in memory. One registration per test
// file (each file is its own process).
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics'
import { metrics } from '@opentelemetry/api'

/** Collects on demand (no export interval). */
class TestReader extends MetricReader {
  protected async onForceFlush (): Promise<void> {}
  protected async onShutdown (): Promise<void> {}
}

/** What a test reads: the ended spans and the current metric points. */
export interface TestTelemetry {
  provider: NodeTracerProvider
  spans: () => ReadableSpan[]
  /** The data points of one metric, by name. */
  points: (name: string) => Promise<Array<DataPoint<number | Histogram>>>
  /** The metric's unit and description as exported. */
  descriptor: (name: string) => Promise<{ unit: string, description: string } | undefined>
}

/** Registers a tracer provider (W3C propagation, AsyncLocalStorage context) and a meter provider. */
export function registerTestSdk (): TestTelemetry {
  const exporter = new InMemorySpanExporter()
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  provider.register()
  const reader = new TestReader()
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }))
  const find = async (name: string) => {
    const { resourceMetrics } = await reader.collect()
    return resourceMetrics.scopeMetrics.flatMap(s => s.metrics).find(m => m.descriptor.name === name)
  }
  return {
    provider,
    spans: () => exporter.getFinishedSpans(),
    points: async name => ((await find(name))?.dataPoints ?? []) as Array<DataPoint<number | Histogram>>,
    descriptor: async name => (await find(name))?.descriptor
  }
}

/** The span's parent span id, or undefined for a root span. */
export function parentOf (span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId
}
