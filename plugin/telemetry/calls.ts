import {
  context, isSpanContextValid, metrics, propagation, trace, ROOT_CONTEXT, SpanKind, SpanStatusCode,
  type Attributes, type BatchObservableCallback, type Context, type Histogram, type Meter, type Observable, type Span
} from '@opentelemetry/api'
import type { RecordHeaders, ReplyRoute } from '../protocol.js'
import type { KafkaReplyStats } from '../stats.js'
import { ATTR, DURATION_BUCKETS, INSTRUMENTATION_SCOPE, outcomeOf } from './attributes.js'
import { recordHeaderGetter } from './headers.js'

/** Runs a function in a call's trace context: how a produce request is started under that context. */
export type Scope = <T>(fn: () => T) => T

const tracer = trace.getTracer(INSTRUMENTATION_SCOPE)

/**
 * Traces and metrics of one KafkaReply instance, through the OpenTelemetry API: without a
 * registered SDK every span and instrument is a no-op.
 */
export class CallTelemetry {
  readonly #meter: Meter
  readonly #duration: Histogram
  readonly #observables: Observable[]
  readonly #observe: BatchObservableCallback
  readonly #replyTopic: string
  /** True when the kafkajs instrumentation wraps the producer (see sendBatchIsWrapped). */
  wrappedProducer = false

  /** `stats` is read at every collection for the counters and the pending gauge. */
  constructor (instanceId: string, replyTopic: string, stats: () => KafkaReplyStats) {
    this.#replyTopic = replyTopic
    // Taken when the instance is made, not at import: the metrics API has no proxy, so a meter
    // taken before the application registered its MeterProvider would stay a no-op.
    const meter = this.#meter = metrics.getMeter(INSTRUMENTATION_SCOPE)
    this.#duration = meter.createHistogram('kafka_reply.call.duration', {
      unit: 's',
      description: 'Duration of request-reply calls, from the call to its reply or failure',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS }
    })
    const pending = meter.createObservableGauge('kafka_reply.pending', { unit: '{call}', description: 'Calls waiting for their reply' })
    const counters = Object.keys(stats()).filter(name => name !== 'pending').map(name => [name, meter.createObservableCounter(`kafka_reply.${snake(name)}`, {
      description: `The stats() counter ${name}`
    })] as const)
    const attributes = { [ATTR.instance]: instanceId }
    this.#observables = [pending, ...counters.map(([, counter]) => counter)]
    this.#observe = result => {
      const snapshot = stats()
      result.observe(pending, snapshot.pending, attributes)
      for (const [name, counter] of counters) result.observe(counter, snapshot[name as keyof KafkaReplyStats], attributes)
    }
    meter.addBatchObservableCallback(this.#observe, this.#observables)
  }

  /** Starts a call: its CLIENT span, a child of the active context. */
  start (topic: string): CallTrace {
    return new CallTrace(this, topic)
  }

  /** Stops reporting the counters (close()). */
  close (): void {
    this.#meter.removeBatchObservableCallback(this.#observe, this.#observables)
  }

  /** @internal */
  recordDuration (seconds: number, attributes: Attributes): void {
    this.#duration.record(seconds, attributes)
  }

  /**
   * The hand-over of a reply consumed for another instance, as a span in the call's trace when
   * the reply record carries one (the responder's `traceparent`); undefined otherwise.
   */
  handover (headers: RecordHeaders | undefined, conversationId: string, consumedBy: string): Span | undefined {
    if (headers === undefined) return undefined
    const remote = propagation.extract(ROOT_CONTEXT, headers, recordHeaderGetter)
    if (trace.getSpanContext(remote) === undefined) return undefined
    return tracer.startSpan(`handover ${this.#replyTopic}`, {
      kind: SpanKind.CONSUMER,
      attributes: {
        [ATTR.messagingSystem]: 'kafka',
        [ATTR.destination]: this.#replyTopic,
        [ATTR.conversationId]: conversationId,
        [ATTR.consumedBy]: consumedBy,
        [ATTR.path]: 'redis'
      }
    }, remote)
  }
}

/** One call: a CLIENT span for the round trip and the PRODUCER span of its publish. */
export class CallTrace {
  readonly #telemetry: CallTelemetry
  readonly #topic: string
  readonly #span: Span
  readonly #context: Context
  readonly #started = performance.now()
  #route: ReplyRoute | undefined

  constructor (telemetry: CallTelemetry, topic: string) {
    this.#telemetry = telemetry
    this.#topic = topic
    const parent = context.active()
    this.#span = tracer.startSpan(`call ${topic}`, {
      kind: SpanKind.CLIENT,
      attributes: { [ATTR.messagingSystem]: 'kafka', [ATTR.destination]: topic }
    }, parent)
    this.#context = trace.setSpan(parent, this.#span)
  }

  /**
   * Starts the PRODUCER span `send <topic>` and writes its context into the request's headers
   * (W3C `traceparent`, `tracestate`). Returns the span, to end once the broker acknowledged, and
   * the scope to produce in when the kafkajs instrumentation needs the right parent.
   */
  publish (conversationId: string, headers: Record<string, string | Buffer>): { span: Span, scope: Scope | undefined } {
    this.#span.setAttribute(ATTR.conversationId, conversationId)
    const span = tracer.startSpan(`send ${this.#topic}`, {
      kind: SpanKind.PRODUCER,
      attributes: { [ATTR.messagingSystem]: 'kafka', [ATTR.destination]: this.#topic, [ATTR.conversationId]: conversationId }
    }, this.#context)
    const sendContext = trace.setSpan(this.#context, span)
    propagation.inject(sendContext, headers)
    let scope: Scope | undefined
    // The instrumentation's own span takes its parent from the context active at sendBatch, and
    // its traceparent replaces ours: produce this record on its own, in this call's context.
    if (this.#telemetry.wrappedProducer && isSpanContextValid(span.spanContext())) scope = fn => context.with(sendContext, fn)
    return { span, scope }
  }

  /** How the reply arrived, once one did. */
  arrived (route: ReplyRoute): void {
    this.#route = route
  }

  /** Ends the call: `error` undefined for a reply returned to the caller. */
  end (error?: unknown): void {
    const outcome = error === undefined ? 'ok' : outcomeOf(error)
    const attributes: Attributes = { [ATTR.outcome]: outcome, [ATTR.destination]: this.#topic }
    if (this.#route !== undefined) attributes[ATTR.path] = this.#route.path
    this.#telemetry.recordDuration((performance.now() - this.#started) / 1000, attributes)
    if (this.#route !== undefined && this.#span.isRecording()) {
      this.#span.setAttribute(ATTR.path, this.#route.path)
      this.#span.setAttribute(ATTR.consumedBy, this.#route.consumedBy)
    }
    // A 202 Accepted is not a failure of the call: the reply is fetched later.
    endSpan(this.#span, outcome, outcome === 'accepted' ? undefined : error)
  }
}

/** Ends a span with its outcome; with error status (and the error's code as error.type) when `error` is set. */
export function endSpan (span: Span, outcome: string | undefined, error?: unknown): void {
  if (span.isRecording()) {
    if (outcome !== undefined) span.setAttribute(ATTR.outcome, outcome)
    if (error !== undefined) {
      const { code, message } = (error ?? {}) as { code?: unknown, message?: unknown }
      if (typeof code === 'string') span.setAttribute(ATTR.errorType, code)
      span.setStatus({ code: SpanStatusCode.ERROR, message: typeof message === 'string' ? message : String(error) })
    }
  }
  span.end()
}

function snake (name: string): string {
  return name.replace(/[A-Z]/g, c => `_${c.toLowerCase()}`)
}
