import {
  context, isSpanContextValid, metrics, propagation, trace, ROOT_CONTEXT, SpanKind,
  type Context, type Histogram, type Span
} from '@opentelemetry/api'
import type { RecordHeaders } from '../protocol.js'
import { ATTR, DURATION_BUCKETS, INSTRUMENTATION_SCOPE } from './attributes.js'
import { endSpan, type Scope } from './calls.js'
import { recordHeaderGetter } from './headers.js'

const tracer = trace.getTracer(INSTRUMENTATION_SCOPE)

/** Traces and metrics of one responder; no-ops without a registered SDK. */
export class ResponderTelemetry {
  readonly #duration: Histogram
  /** True when the kafkajs instrumentation wraps the reply producer (see sendBatchIsWrapped). */
  wrappedProducer = false

  constructor () {
    this.#duration = metrics.getMeter(INSTRUMENTATION_SCOPE).createHistogram('kafka_reply.responder.process.duration', {
      unit: 's',
      description: 'Duration of handling one request, from its consumption until its reply was produced',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS }
    })
  }

  /**
   * Starts the CONSUMER span `process <topic>` of one request, a child of the context its headers
   * carry (the caller's `send` span), so the handler's own spans land in the caller's trace.
   */
  process (topic: string, partition: number, conversationId: string, headers: RecordHeaders): ProcessTrace {
    return new ProcessTrace(this, topic, partition, conversationId, headers)
  }

  /** @internal */
  record (seconds: number, topic: string, outcome: string): void {
    this.#duration.record(seconds, { [ATTR.outcome]: outcome, [ATTR.destination]: topic })
  }
}

/** One request in the responder. */
export class ProcessTrace {
  readonly #telemetry: ResponderTelemetry
  readonly #topic: string
  readonly #span: Span
  readonly #context: Context
  readonly #started = performance.now()

  constructor (telemetry: ResponderTelemetry, topic: string, partition: number, conversationId: string, headers: RecordHeaders) {
    this.#telemetry = telemetry
    this.#topic = topic
    // ROOT_CONTEXT, not the active one: a request without trace context starts its own trace
    // rather than joining whatever the consumer loop runs in.
    const parent = propagation.extract(ROOT_CONTEXT, headers, recordHeaderGetter)
    this.#span = tracer.startSpan(`process ${topic}`, {
      kind: SpanKind.CONSUMER,
      attributes: {
        [ATTR.messagingSystem]: 'kafka',
        [ATTR.destination]: topic,
        [ATTR.partition]: String(partition),
        [ATTR.conversationId]: conversationId
      }
    }, parent)
    this.#context = trace.setSpan(parent, this.#span)
  }

  /** Runs the handler inside the span's context. */
  run<T> (fn: () => T): T {
    return context.with(this.#context, fn)
  }

  /**
   * Writes the span's context into the reply's headers; returns the scope to produce the reply in
   * when the kafkajs instrumentation wraps the producer.
   */
  inject (headers: Record<string, string | Buffer>): Scope | undefined {
    propagation.inject(this.#context, headers)
    if (this.#telemetry.wrappedProducer && isSpanContextValid(this.#span.spanContext())) return fn => context.with(this.#context, fn)
    return undefined
  }

  /** Ends the span once the reply was produced (or the request skipped): outcome `ok`, `error` or `expired`. */
  end (outcome: string, error?: unknown): void {
    this.#telemetry.record((performance.now() - this.#started) / 1000, this.#topic, outcome)
    endSpan(this.#span, outcome, error)
  }
}
