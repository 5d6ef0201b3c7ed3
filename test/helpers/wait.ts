// Waiting on a condition that no event announces (a counter in another component).
import { setTimeout as sleep } from 'node:timers/promises'

/** Resolves once check() is true; rejects after `ms` naming what it waited for. */
export async function waitFor (what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const giveUp = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > giveUp) throw new Error(`timed out after ${ms}ms waiting for ${what}`)
    await sleep(20)
  }
}

/** A promise with its resolve function, to hold a worker until the test lets it go. */
export function gate (): { promise: Promise<void>, open: () => void } {
  let open!: () => void
  const promise = new Promise<void>(resolve => { open = resolve })
  return { promise, open }
}
