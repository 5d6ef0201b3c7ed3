// Entry point of the pricing worker: `node dist/worker/main.js`. Stops gracefully on SIGTERM/SIGINT.
import { answerLoopStats } from '../common/loop-monitor.js'
import { closeOnSignal } from '../common/shutdown.js'
import { loadWorkerConfig } from './config.js'
import { createLogger } from './log.js'
import { startWorker } from './worker.js'
import { startTracing, stopTelemetry } from '../app/telemetry.js'

const config = loadWorkerConfig()
startTracing(config)
const log = createLogger(config.logLevel, { service: 'pricing-worker', workerId: config.workerId })

const worker = await startWorker(config, log).catch((err: Error) => {
  log.error({ err }, 'pricing worker could not start')
  process.exit(1)
})
log.info({ topic: config.requestTopic, groupId: config.groupId }, 'pricing worker ready')
// Tells a parent that started it (the demo, `npm start`) that it answers now.
process.send?.({ type: 'ready', id: config.workerId })
// Its CPU and event-loop delay, for a parent that asks (the fault suite).
const stopLoopStats = answerLoopStats()

closeOnSignal('pricing worker', log, async () => {
  stopLoopStats()
  await worker.close()
  await stopTelemetry()
  log.info(worker.stats(), 'pricing worker stopped')
})
