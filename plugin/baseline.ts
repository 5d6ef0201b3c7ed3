/**
 * BASELINE FOR BENCHMARKS ONLY, not part of the public API (not exported from the package): the
 * busy-polling design this plugin replaces, kept so that the benchmarks can measure the difference.
 * The waiting instance ignores keyspace notifications and polls each call's reply key with GETDEL
 * every `interval` ms until the call settles.
 */
import { replyKey, type Correlation } from './correlation.js'
import type { KafkaReplyOptions } from './options.js'
import { RedisHandOver, kCreateHandOver, type CreateHandOver } from './redis/hand-over.js'

class PollingHandOver extends RedisHandOver {
  readonly #interval: number

  constructor (interval: number, ...args: ConstructorParameters<typeof RedisHandOver>) {
    super(...args)
    this.#interval = interval
  }

  protected override onKey (): void {}

  override watch (correlation: Correlation): () => void {
    const key = replyKey(this.settings.keyPrefix, correlation)
    const timer = setInterval(() => {
      this.client.getdel(key).then(stored => { if (stored !== null) this.calls.settle(correlation.id, stored, 'sweep') }, () => {})
    }, this.#interval).unref()
    return () => clearInterval(timer)
  }
}

/** Options to spread into the plugin's options: wait by polling every `interval` ms. */
export function pollingBaseline (interval: number): Partial<KafkaReplyOptions> {
  const create: CreateHandOver = (...args) => new PollingHandOver(interval, ...args)
  return { [kCreateHandOver]: create } as Partial<KafkaReplyOptions>
}
