/** A counting semaphore: at most `size` tasks at once; acquire() waits for a free permit, release() frees one. */
export class Semaphore {
  readonly #size: number
  #used = 0
  #waiting: Array<() => void> = []
  #idle: Array<() => void> = []

  constructor (size: number) {
    this.#size = size
  }

  /** Takes a permit: undefined when one was free, otherwise a promise that resolves once one is. */
  acquire (): Promise<void> | undefined {
    if (this.#used < this.#size) {
      this.#used++
      return undefined
    }
    return new Promise(resolve => this.#waiting.push(resolve))
  }

  release (): void {
    const next = this.#waiting.shift()
    if (next !== undefined) return next() // the permit passes straight to the next task
    this.#used--
    if (this.#used === 0) for (const resolve of this.#idle.splice(0)) resolve()
  }

  /** Resolves once no task holds a permit. */
  drained (): Promise<void> {
    return this.#used === 0 ? Promise.resolve() : new Promise(resolve => this.#idle.push(resolve))
  }
}
