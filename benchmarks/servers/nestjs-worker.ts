// Service B the NestJS way, for the benchmarks: a Kafka microservice whose @MessagePattern handler
// answers every request with its payload, doing no work (as the plugin's worker does). Nest's
// decorators are applied as plain functions: the project compiles without experimentalDecorators.
import 'reflect-metadata'
import { Controller, Module } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { MessagePattern, Payload, Transport, type MicroserviceOptions } from '@nestjs/microservices'
import { Partitioners, logLevel } from 'kafkajs'
import { brokers, need, onStop, ready } from './env.js'

/** The module of a worker that answers `topic`; built at run time as the topic comes from the environment. */
function workerModule (topic: string): new () => object {
  class EchoController {
    echo (payload: unknown): unknown {
      return payload
    }
  }
  const proto = EchoController.prototype
  Payload()(proto, 'echo', 0)
  MessagePattern(topic)(proto, 'echo', Object.getOwnPropertyDescriptor(proto, 'echo')!)
  Controller()(EchoController)

  class WorkerModule {}
  Module({ controllers: [EchoController] })(WorkerModule)
  return WorkerModule
}

const app = await NestFactory.createMicroservice<MicroserviceOptions>(workerModule(need('REQUEST_TOPIC')), {
  transport: Transport.KAFKA,
  options: {
    // Nest appends '-server' to both ids.
    client: { brokers: brokers(), clientId: 'bench-nestjs-worker', logLevel: logLevel.ERROR },
    // The same consumer settings as the plugin's worker; fromBeginning because the request topic is
    // new for this run, so nothing sent before the first fetch is skipped.
    consumer: { groupId: need('GROUP_ID'), heartbeatInterval: 500, maxWaitTimeInMs: 100 },
    subscribe: { fromBeginning: true },
    producer: { createPartitioner: Partitioners.DefaultPartitioner }
  },
  logger: ['error']
})
// listen() resolves once the consumer has joined its group and runs.
await app.listen()
onStop(() => app.close())
ready('nestjs-worker')
