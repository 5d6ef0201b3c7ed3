// Entry point of the quotes API: `node dist/app/server.js`. Closes gracefully on SIGTERM/SIGINT:
// stops taking connections, answers waiting quotes with 503, leaves the reply group.
import { build } from './app.js'
import { loadConfig } from './config.js'
import { answerLoopStats } from '../common/loop-monitor.js'
import { closeOnSignal } from '../common/shutdown.js'
import { startTracing, stopTelemetry } from './telemetry.js'

const config = loadConfig()
const tracing = startTracing(config)
const app = build({ ...config, tracing, logger: { level: config.logLevel } })

try {
  await app.listen({ port: config.port, host: config.host, backlog: config.listenBacklog })
} catch (err) {
  app.log.error({ err }, 'quotes API could not start')
  process.exit(1)
}
const address = app.server.address()
const port = typeof address === 'object' && address !== null ? address.port : config.port
// Tells a parent that started it (the demo, `npm start`) where it answers, PORT=0 included.
process.send?.({ type: 'ready', id: app.kafkaReply.instanceId, port })
// Its CPU and event-loop delay, for a parent that asks (the fault suite).
const stopLoopStats = answerLoopStats()

closeOnSignal('quotes API', app.log, async () => {
  stopLoopStats()
  await app.close()
  await stopTelemetry()
})
