// Entry point of the quotes API: `node dist/app/server.js`. Closes gracefully on SIGTERM/SIGINT:
// stops taking connections, answers waiting quotes with 503, leaves the reply group.
import { build } from './app.js'
import { loadConfig } from './config.js'

const config = loadConfig()
const app = build({ ...config, logger: { level: config.logLevel } })

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

let closing = false
async function close (signal: string): Promise<void> {
  if (closing) return
  closing = true
  app.log.info({ signal }, 'quotes API closing')
  try {
    await app.close()
  } catch (err) {
    app.log.error({ err }, 'quotes API did not close cleanly')
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
process.once('SIGTERM', signal => { close(signal).catch(() => {}) })
process.once('SIGINT', signal => { close(signal).catch(() => {}) })
