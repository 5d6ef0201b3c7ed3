// Graceful shutdown of a reference service: the API (app/) and the worker (worker/) both use it.

/** What the shutdown logs through: Fastify's logger and the worker's both fit. */
interface ShutdownLog {
  info: (obj: object, msg?: string) => void
  error: (obj: object, msg?: string) => void
}

/**
 * On the first SIGTERM or SIGINT: logs it, runs `close` (exit code 1 when it throws), lets go of
 * the IPC channel to a parent, and leaves a second later if something still holds the process.
 */
export function closeOnSignal (service: string, log: ShutdownLog, close: () => Promise<void>): void {
  let closing = false
  const onSignal = async (signal: string): Promise<void> => {
    if (closing) return
    closing = true
    log.info({ signal }, `${service} closing`)
    try {
      await close()
    } catch (err) {
      log.error({ err }, `${service} did not close cleanly`)
      process.exitCode = 1
    }
    // An IPC channel to a parent keeps the process alive: let it go.
    if (process.connected) process.disconnect()
    // After a broker outage kafkajs can keep a reconnected socket that its disconnect() no longer
    // knows about; it would hold the process open until the supervisor's SIGKILL. Everything is
    // closed by now: if the process is still here in a second, leave.
    setTimeout(() => {
      console.error(`exiting with resources still open: ${process.getActiveResourcesInfo().join(', ')}`)
      process.exit()
    }, 1000).unref()
  }
  process.once('SIGTERM', signal => { onSignal(signal).catch(() => {}) })
  process.once('SIGINT', signal => { onSignal(signal).catch(() => {}) })
}
