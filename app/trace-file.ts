import { appendFileSync } from 'node:fs'
import { ExportResultCode, type ExportResult } from '@opentelemetry/core'
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base'

/** One finished span as a line of the trace file. */
export interface SpanLine {
  service: string
  traceId: string
  spanId: string
  parentSpanId: string | undefined
  name: string
  /** SpanKind's number: 0 internal, 1 server, 2 client, 3 producer, 4 consumer. */
  kind: number
  /** Epoch milliseconds, fractional. */
  start: number
  durationMs: number
  /** SpanStatusCode's number: 2 is error. */
  status: number
  attributes: Record<string, unknown>
}

const ms = ([seconds, nanos]: [number, number]) => seconds * 1e3 + nanos / 1e6

/**
 * Appends every finished span to a file, one JSON object a line. For a machine without a
 * collector: the demo reads the files of its child processes and draws the trace.
 */
export class FileSpanExporter implements SpanExporter {
  readonly #path: string

  constructor (path: string) {
    this.#path = path
  }

  export (spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    try {
      appendFileSync(this.#path, spans.map(span => JSON.stringify(toLine(span)) + '\n').join(''))
      done({ code: ExportResultCode.SUCCESS })
    } catch (error) {
      done({ code: ExportResultCode.FAILED, error: error as Error })
    }
  }

  async shutdown (): Promise<void> {}
}

function toLine (span: ReadableSpan): SpanLine {
  return {
    service: String(span.resource.attributes['service.name']),
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    name: span.name,
    kind: span.kind,
    start: ms(span.startTime),
    durationMs: ms(span.duration),
    status: span.status.code,
    attributes: { ...span.attributes }
  }
}
