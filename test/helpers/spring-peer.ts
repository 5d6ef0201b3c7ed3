// The Spring Kafka peer of the interop tests (test/interop/spring/), built once by
// test/setup/spring-peer-build.mjs and run as one JVM per test file.
import type { Test } from 'tap'
import { buildSpringPeer } from '../setup/spring-peer-build.mjs'
import { startLinePeer } from './line-peer.js'
import { kafkaBrokers } from './stack.js'

/** What a Spring caller got: its reply (partition and value) or the error its future completed with. */
export type SpringResult = { reply: string, partition: number } | { error: string }

/** Topics and groups of one peer; `group` prefixes every consumer group it makes. */
export interface SpringPeerTopics {
  group: string
  /** Topic of the echo listener (`{"echo": <request>, "by": "spring"}`). */
  echoTopic: string
  /** Topic of a listener that throws, with Spring's default error handling. */
  failTopic: string
  /** Topic of a listener that throws, with a KafkaListenerErrorHandler that sends `kafka_replyError`. */
  handledTopic: string
  /** Topic of a listener that replies `OK, done` (not JSON). */
  textTopic: string
  /** Reply topic of the `group` caller (a consumer group of its own). */
  callerReplyTopic: string
  /** Reply topic of the `pinned` caller, which reads partition 1 only (and so sends `kafka_replyPartition`). */
  pinnedReplyTopic: string
}

/** A running Spring peer. */
export interface SpringPeer {
  /** A ReplyingKafkaTemplate.sendAndReceive by the `group` or `pinned` caller. */
  call: (caller: 'group' | 'pinned', topic: string, payload: unknown) => Promise<SpringResult>
}

/** Starts the peer and resolves once every listener and reply container has its partitions; stopped at teardown. */
export async function startSpringPeer (t: Test, topics: SpringPeerTopics): Promise<SpringPeer> {
  const classpath = buildSpringPeer()
  const props = {
    brokers: kafkaBrokers.join(','),
    group: topics.group,
    'echo.topic': topics.echoTopic,
    'fail.topic': topics.failTopic,
    'handled.topic': topics.handledTopic,
    'text.topic': topics.textTopic,
    'caller.replyTopic': topics.callerReplyTopic,
    'pinned.replyTopic': topics.pinnedReplyTopic,
    'org.slf4j.simpleLogger.defaultLogLevel': 'warn'
  }
  // A small heap and the quick JIT: the machine's two cores are shared.
  const peer = await startLinePeer(t, 'Spring peer', 'java', [
    '-Xmx128m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xss512k',
    ...Object.entries(props).map(([k, v]) => `-D${k}=${v}`),
    '-cp', classpath, 'interop.SpringPeer'
  ])
  return {
    call: async (caller, topic, payload) => {
      const { kind, rest } = await peer.call(`${caller} ${topic} ${JSON.stringify(payload)}`)
      if (kind !== 'reply') return { error: rest }
      const space = rest.indexOf(' ')
      return { partition: Number(rest.slice(0, space)), reply: rest.slice(space + 1) }
    }
  }
}
