// What HTTP alone costs here: a Fastify route that answers at once.
import Fastify from 'fastify'
import { onStop, ready } from './env.js'

const app = Fastify()
app.post('/call', async request => request.body)
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })
onStop(() => app.close())
ready('http-ceiling', (app.server.address() as { port: number }).port)
