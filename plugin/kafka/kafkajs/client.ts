import * as net from 'node:net'
import * as tls from 'node:tls'
import { Kafka, logLevel, type ISocketFactory, type LogEntry } from 'kafkajs'
import type { Log } from '../../log.js'
import type { KafkajsOption } from './options.js'
import { CERTIFICATE_REFUSED, certificateRefused } from '../transport.js'

/**
 * Retries of the plugin's and the responder's producers. kafkajs's default (300 ms doubling, 5
 * retries) waits up to 4.8 s between the last two attempts, so a send to a dead leader resumed
 * seconds after Kafka had elected a new one, or gave up. These retry at most a second apart for
 * about 10 s; each failed attempt refreshes the metadata, so the first attempt after the election
 * goes to the new leader.
 */
export const PRODUCER_RETRY = { initialRetryTime: 100, maxRetryTime: 1000, multiplier: 2, retries: 13 }

/**
 * Retries of the consumers (the reply group's members and the responder's), about a minute. A fetch
 * from a dead leader fails on every retry until the metadata names the new leader. A dead group
 * coordinator is worse: kafkajs keeps heartbeating and committing to the broker it joined through,
 * and finds the new coordinator only when that broker answers again (NOT_COORDINATOR: a prompt
 * rejoin under the same member id) or when its retries run out. Then the consumer crashes and joins
 * as a new member, and the group waits for the old member's session to expire: with 20 retries
 * (about 18 s) that stalled the worker's group for 10 to 30 s after a coordinator loss. kafkajs
 * heartbeats in its fetch loop, so fetching waits on the dead coordinator until a metadata refresh
 * drops it (the broker fenced); after that, fetches go on while the retries last.
 */
export const CONSUMER_RETRY = { initialRetryTime: 100, maxRetryTime: 1000, multiplier: 2, retries: 60 }

/**
 * How old the consumers' metadata may get (kafkajs's default: 5 minutes). A consumer whose fetch
 * fails keeps asking the leader it knows; only a metadata refresh shows it the new one.
 */
export const CONSUMER_METADATA_MAX_AGE = 1000

/** A Kafka client, and whether the plugin created it (and so may close what it opens). */
export interface KafkaClient {
  kafka: Kafka
  owned: boolean
  /**
   * Ends the connections of a client the plugin created that are still open once its producers,
   * consumers and admins were disconnected (their sockets destroyed, and kafkajs told they ended, so
   * that their request queues stop their timers); returns how many. kafkajs leaves some open after a
   * broker dies and returns: the consumer keeps the coordinator it joined through, and once a
   * metadata refresh dropped a broker, its connection is no longer closed by disconnect(). A no-op
   * for a client passed in, which its owner closes.
   */
  destroySockets: () => number
  /**
   * Rejects when a broker's TLS certificate is refused (an unknown CA, a name that does not match,
   * an expired certificate): no retry can fix that, while kafkajs retries it for many seconds.
   * Startup races its first connection with it. Never settles for a client passed in.
   */
  refused: Promise<never>
}

/**
 * Creates the kafkajs client from a config, or takes the one passed as `{ client }`. kafkajs logs
 * go to the plugin's logger: INFO chatter (joins, connects) at debug level.
 */
export function createKafka (option: KafkajsOption, log: Log): KafkaClient {
  if ('client' in option) return { kafka: option.client, owned: false, destroySockets: () => 0, refused: new Promise<never>(() => {}) }
  let refuse: (err: Error) => void = () => {}
  const refused = new Promise<never>((_resolve, reject) => { refuse = reject })
  refused.catch(() => {}) // raced by whoever connects first; nobody may be listening
  const { library: _library, ...config } = option
  const sockets = new Set<net.Socket>()
  const create = config.socketFactory ?? defaultSocketFactory
  const socketFactory: ISocketFactory = args => {
    const socket = create(args)
    socket.once('error', (err: Error & { code?: string }) => {
      if (err.code !== undefined && CERTIFICATE_REFUSED.has(err.code)) {
        refuse(certificateRefused(err, `${args.host}:${args.port}`))
      }
    })
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    return socket
  }
  const kafka = new Kafka({
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => logEntry(log, entry),
    ...config,
    socketFactory
  })
  const destroySockets = () => {
    const open = sockets.size
    for (const socket of sockets) {
      socket.destroy()
      // kafkajs learns that a connection closed only from its socket's 'end' or 'error': without
      // one, its request queue keeps a 100 ms interval and a 1 ms loop running for good, and the
      // process never exits. 'end' makes it fail what was in flight and stop both timers.
      socket.emit('end')
    }
    sockets.clear()
    return open
  }
  return { kafka, owned: true, destroySockets, refused }
}

/** kafkajs's own socket factory (which it does not export): TLS when `ssl` is set, keep-alive on. */
const defaultSocketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  // `ssl` is what the config said: an options object, `true`, or nothing.
  const socket = ssl
    ? tls.connect(Object.assign({ host, port }, net.isIP(host) === 0 ? { servername: host } : {}, ssl), onConnect)
    : net.connect({ host, port }, onConnect)
  socket.setKeepAlive(true, 60_000)
  return socket
}

function logEntry (log: Log, { level, log: { message, ...extra } }: LogEntry): void {
  const details = { kafkajs: extra }
  if (level === logLevel.ERROR) log.error(details, message)
  else if (level === logLevel.WARN) log.warn(details, message)
  else log.debug(details, message)
}
