import { sendQuote, type Call, type SendOptions, type Target } from './load.js'

/** Options of a closed-loop measurement. */
export interface ClosedLoopOptions extends SendOptions {
  /** Clients, each sending its next request as soon as its last one ended. */
  connections: number
  /** Load before the measurement starts, ms (cold code, connections being opened). */
  warmMs: number
  /** How long answers are counted, ms. */
  measureMs: number
}

/** What a closed loop measured. */
export interface Capacity {
  /** Requests answered 200 with their own quote per second, over the measurement. */
  rate: number
  /** Requests that ended within the measurement, and how many of them were not answered 200. */
  ended: number
  failed: number
}

/**
 * The most the replicas answer: `connections` clients round-robin over `targets`, each sending its
 * next quote when the last one ended, as autocannon does. Only calls that end within the
 * measurement window count.
 */
export async function closedLoop (targets: readonly Target[], options: ClosedLoopOptions): Promise<Capacity> {
  const started = performance.now()
  const now = (): number => performance.now() - started
  const end = options.warmMs + options.measureMs
  let seq = 0
  let ended = 0
  let answered = 0
  const client = async (): Promise<void> => {
    while (now() < end) {
      const call: Call = { seq, target: targets[seq % targets.length].name, sentAt: now() }
      await sendQuote(targets[seq++ % targets.length], call, now, options)
      if (call.endedAt! < options.warmMs || call.endedAt! >= end) continue
      ended++
      if (call.status === 200 && call.ownReply === true) answered++
    }
  }
  await Promise.all(Array.from({ length: options.connections }, client))
  return { rate: answered / (options.measureMs / 1000), ended, failed: ended - answered }
}
