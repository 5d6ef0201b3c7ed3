/**
 * Settles as `promise` does, or, once `ms` have passed first, as `onTimeout` says: resolves with
 * what it returns, or rejects with what it throws. The timer is cleared either way, so nothing
 * keeps the process alive after the promise settled.
 */
export async function withDeadline<T, U = never> (promise: Promise<T>, ms: number, onTimeout: () => U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<U>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout())
      } catch (err) {
        reject(err)
      }
    }, Math.max(0, ms))
  })
  try {
    return await Promise.race([promise, timedOut])
  } finally {
    clearTimeout(timer)
  }
}
