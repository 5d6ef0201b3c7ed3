import type { CommitOffset } from '../kafka/transport.js'

interface Batch {
  /** The offset after the batch's last record: what to commit once it and all before it are done. */
  next: string
  remaining: number
}

interface Partition {
  topic: string
  partition: number
  open: Batch[]
  committable: string | undefined
  committed: string | undefined
}

/**
 * Lets a consumer fetch ahead while earlier records are still being worked on, yet commit only
 * offsets below every record in progress (at-least-once). Batches are registered in fetch order;
 * each record reports when it is done.
 */
export class CompletedOffsets {
  #partitions = new Map<string, Partition>()

  /** Registers a fetched batch; returns the function each of its `count` records calls when done. */
  start (topic: string, partition: number, lastOffset: string, count: number): () => void {
    const key = `${topic}\u0000${partition}`
    let state = this.#partitions.get(key)
    if (state === undefined) {
      state = { topic, partition, open: [], committable: undefined, committed: undefined }
      this.#partitions.set(key, state)
    }
    const batch: Batch = { next: (BigInt(lastOffset) + 1n).toString(), remaining: count }
    state.open.push(batch)
    const owner = state
    return () => {
      if (--batch.remaining > 0) return
      while (owner.open.length > 0 && owner.open[0].remaining <= 0) owner.committable = owner.open.shift()!.next
    }
  }

  /** The offsets that became committable since the last call. */
  takeCommittable (): CommitOffset[] {
    const offsets: CommitOffset[] = []
    for (const state of this.#partitions.values()) {
      if (state.committable === undefined || state.committable === state.committed) continue
      offsets.push({ topic: state.topic, partition: state.partition, offset: state.committable })
      state.committed = state.committable
    }
    return offsets
  }

  /** After a rebalance: partitions may have moved, and their new owner starts from the committed offset. */
  reset (): void {
    this.#partitions = new Map()
  }
}
