// Service A the NestJS way, for the benchmarks: POST /call sends the body with ClientKafka.send()
// and answers with the reply, on Nest's Fastify platform (the same HTTP server as the plugin's app).
// The project compiles without experimentalDecorators, so Nest's decorators are applied as the
// plain functions they are; what they record is the same as with the @ syntax.
import 'reflect-metadata'
import { Body, Controller, HttpCode, Inject, Module, Post, type OnModuleInit } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { ClientsModule, Transport, type ClientKafka, type KafkaOptions } from '@nestjs/microservices'
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify'
import { Partitioners, logLevel } from 'kafkajs'
import { firstValueFrom } from 'rxjs'
import { brokers, need, onStop, ready } from './env.js'

const KAFKA = 'KAFKA'

/**
 * The module of an app that calls `topic`. Built at run time because the topic, which Nest takes
 * in a decorator, comes from the environment.
 */
function appModule (topic: string, kafka: KafkaOptions['options']): new () => object {
  class CallController implements OnModuleInit {
    readonly #client: ClientKafka

    constructor (client: ClientKafka) {
      this.#client = client
    }

    /** Nest's documented setup: the reply topic must be known before connect() joins its group. */
    async onModuleInit (): Promise<void> {
      this.#client.subscribeToResponseOf(topic)
      await this.#client.connect()
    }

    call (body: unknown): Promise<unknown> {
      return firstValueFrom(this.#client.send(topic, body))
    }
  }
  const proto = CallController.prototype
  // Without emitDecoratorMetadata Nest cannot infer the constructor's parameter: name its token.
  Inject(KAFKA)(CallController, undefined, 0)
  Body()(proto, 'call', 0)
  // 200 as the plugin's app answers; Nest's default for POST is 201.
  HttpCode(200)(proto, 'call', Object.getOwnPropertyDescriptor(proto, 'call')!)
  Post('call')(proto, 'call', Object.getOwnPropertyDescriptor(proto, 'call')!)
  Controller()(CallController)

  class AppModule {}
  Module({
    imports: [ClientsModule.register([{ name: KAFKA, transport: Transport.KAFKA, options: kafka }])],
    controllers: [CallController]
  })(AppModule)
  return AppModule
}

const topic = need('REQUEST_TOPIC')
const AppModule = appModule(topic, {
  // Nest appends '-client' to both ids.
  client: { brokers: brokers(), clientId: need('CLIENT_ID'), logLevel: logLevel.ERROR },
  // The same consumer settings as the plugin's app: a short heartbeat so joining does not wait on
  // it, and a short fetch wait; fromBeginning because the reply topic is new for this run.
  consumer: { groupId: need('GROUP_ID'), heartbeatInterval: 500, maxWaitTimeInMs: 100 },
  subscribe: { fromBeginning: true },
  producer: { createPartitioner: Partitioners.DefaultPartitioner }
})
const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), { logger: ['error'] })
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })
onStop(() => app.close())
ready('nestjs-app', (app.getHttpServer().address() as { port: number }).port)
