/** Counters of one instance since it started. */
export interface KafkaReplyStats {
  /** Calls waiting for their reply now. */
  pending: number
  /** Requests published to Kafka. */
  sent: number
  /** Replies consumed by the waiting instance itself and handed over in memory. */
  resolvedLocal: number
  /** Replies that reached the waiting instance through Redis: the sum of the three below. */
  resolvedViaRedis: number
  /** ... found by the keyspace notification of their key (the usual way). */
  resolvedByNotification: number
  /** ... found by the sweep of every pending key after the subscriber (re)subscribed. */
  resolvedBySweep: number
  /** ... found by the last look at a call's key when its deadline passed (a lost notification). */
  resolvedByLastLook: number
  /** Replies this instance consumed and wrote to Redis for another instance. */
  handedOver: number
  /** Calls that ended with 504. */
  timeouts: number
  /** Replies consumed after their deadline: not handed over (a keyed call's is stored as its outcome all the same). */
  late: number
  /** Replies for a call that was already answered or cancelled. */
  duplicates: number
  /**
   * Replies handed over to this instance through Redis that no call here waited for any more (it
   * had just timed out or been cancelled, or a copy was taken already): deleted at once.
   */
  unclaimed: number
  /** Calls answered with the worker's error. */
  remoteErrors: number
  /** Calls answered 502 FST_KAFKA_REPLY_INVALID_REPLY because their reply was not JSON. */
  invalidReplies: number
  /** Reply records skipped as malformed: no or bad correlation id, unknown instance, oversized. */
  malformed: number
  /** Calls refused with 503 because maxPending calls were waiting. */
  overloaded: number
  /** Calls whose caller went away before the reply. */
  cancelled: number
  /** Calls refused with 503 because Redis was unreachable. */
  unavailable: number
  /** Calls with an idempotency key answered with the stored outcome of an earlier call: nothing published. */
  replayed: number
  /** Calls refused with 409: a call with the same idempotency key was in flight. */
  inProgress: number
  /** Calls refused with 422: the idempotency key was used for another request. */
  keyReused: number
  /** Replies of calls with an idempotency key, or accepted calls, that this instance consumed and stored as their outcome. */
  outcomesStored: number
  /** Accepted calls answered 202 Accepted: their deadline passed with no reply, or they were asked to answer at once (`Prefer: respond-async`). */
  accepted: number
  /** Polls of an accepted call's reply answered 202: still pending. */
  polledPending: number
  /** Polls answered with the worker's reply or its error. */
  polledDone: number
  /** Polls answered 404: unknown, expired or another scope's reply. */
  polledUnknown: number
}

export type Counter = Exclude<keyof KafkaReplyStats, 'pending'>

/** The counters, kept as plain numbers; `snapshot` adds the live pending count. */
export class StatsCounters {
  readonly #counts: Record<Counter, number> = {
    sent: 0,
    resolvedLocal: 0,
    resolvedViaRedis: 0,
    resolvedByNotification: 0,
    resolvedBySweep: 0,
    resolvedByLastLook: 0,
    handedOver: 0,
    timeouts: 0,
    late: 0,
    duplicates: 0,
    unclaimed: 0,
    remoteErrors: 0,
    invalidReplies: 0,
    malformed: 0,
    overloaded: 0,
    cancelled: 0,
    unavailable: 0,
    replayed: 0,
    inProgress: 0,
    keyReused: 0,
    outcomesStored: 0,
    accepted: 0,
    polledPending: 0,
    polledDone: 0,
    polledUnknown: 0
  }

  add (counter: Counter, by = 1): void {
    this.#counts[counter] += by
  }

  snapshot (pending: number): KafkaReplyStats {
    return { pending, ...this.#counts }
  }
}
