// Entry point of the pricing worker: `node dist/worker/main.js`. Stops gracefully on SIGTERM/SIGINT.
import { loadWorkerConfig } from './config.js'
import { createLogger } from './log.js'
import { startWorker } from './worker.js'

const config = loadWorkerConfig()
const log = createLogger(config.logLevel, { service: 'pricing-worker', workerId: config.workerId })

const worker = await startWorker(config, log).catch((err: Error) => {
  log.error({ err }, 'pricing worker could not start')
  process.exit(1)
})
log.info({ topic: config.requestTopic, groupId: config.groupId }, 'pricing worker ready')
// Tells a parent that started it (the demo, `npm start`) that it answers now.
process.send?.({ type: 'ready', id: config.workerId })

let stopping = false
async function stop (signal: string): Promise<void> {
  if (stopping) return
  stopping = true
  log.info({ signal }, 'pricing worker stopping')
  try {
    await worker.close()
    log.info(worker.stats(), 'pricing worker stopped')
  } catch (err) {
    log.error({ err }, 'pricing worker did not stop cleanly')
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
process.once('SIGTERM', signal => { stop(signal).catch(() => {}) })
process.once('SIGINT', signal => { stop(signal).catch(() => {}) })
