import type { TextMapGetter } from '@opentelemetry/api'
import { headerString, type RecordHeaders } from '../protocol.js'

/** Reads trace context from kafkajs record headers, whose values may be Buffers or lists. */
export const recordHeaderGetter: TextMapGetter<RecordHeaders> = {
  keys: carrier => Object.keys(carrier),
  get: (carrier, key) => headerString(carrier, key)
}
