// Entry point of the quotes API: `node dist/app/server.js`. Closes gracefully on SIGTERM/SIGINT:
// stops taking connections, answers waiting quotes with 503, leaves the reply group.
import { build } from './app.js'
import { loadConfig } from './config.js'
import { closeOnSignal } from '../common/shutdown.js'
import { startTracing, stopTelemetry } from './telemetry.js'

const config = loadConfig()
const tracing = startTracing(config)
const app = build({ ...config, tracing, logger: { level: config.logLevel } })

try {
  await app.listen({ port: config.port, host: config.host })
} catch (err) {
  app.log.error({ err }, 'quotes API could not start')
  process.exit(1)
}
const address = app.server.address()
const port = typeof address === 'object' && address !== null ? address.port : config.port
// Tells a parent that started it (the demo, `npm start`) where it answers, PORT=0 included.
process.send?.({ type: 'ready', id: app.kafkaReply.instanceId, port })

closeOnSignal('quotes API', app.log, async () => {
  await app.close()
  await stopTelemetry()
})
