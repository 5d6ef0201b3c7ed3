import { Admin, type Consumer, type ConsumerGroupJoinPayload, type ConsumerOptions, type Message, type MessagesStream } from '@platformatic/kafka'
import { errors } from '../../errors.js'
import type { Log } from '../../log.js'
import {
  COMMIT_INTERVAL_MS, CONSUMER_AUTHORIZATION_ERRORS, CONSUMER_DEFAULTS, consumerNotAuthorized, type CommitOffset, type ConsumedBatch, type ConsumedRecord, type GroupConsumer,
  type GroupConsumerOptions, type GroupMembers, type RecordHeaders
} from '../transport.js'
import { groupProtocols, memberInstanceId, replyAssigner } from './assigner.js'
import type { PlatformaticKafkaOption } from '../options.js'
import { ADMIN_RETRIES, clientOptions, CONSUMER_RETRIES } from './options.js'
import { explainConnectionFailure } from './connection-errors.js'
import { brokerErrorName, partitionKey } from './produce-errors.js'

/** The library's consumer as this folder makes it: header names as strings, the rest as Buffers. */
export type LibraryConsumer = Consumer<Buffer, Buffer, string, Buffer>
type LibraryMessage = Message<Buffer, Buffer, string, Buffer>
type LibraryStream = MessagesStream<Buffer, Buffer, string, Buffer>

/**
 * Group timings as kafkajs's defaults, under the user's: the library's own (session 60 s,
 * rebalance 102 s) would make a dead member hold its partitions twice as long, and members of
 * both libraries in one group should behave alike.
 */
const GROUP_DEFAULTS = { sessionTimeout: 30_000, rebalanceTimeout: 60_000, heartbeatInterval: 3_000 }
/** Records read off the stream before they are handed over, at most. */
const MAX_READ = 10_000
/** How long after a failure the consumer tries again (a new stream, a rejoin, a failed batch). */
const RECOVERY_DELAY_MS = 1000

/** The library's consumer options for a group consumer, a new object every time. */
export function consumerOptions (option: PlatformaticKafkaOption, options: GroupConsumerOptions): ConsumerOptions<Buffer, Buffer, string, Buffer> {
  const { settings } = options
  const group = {
    sessionTimeout: settings.sessionTimeout ?? GROUP_DEFAULTS.sessionTimeout,
    rebalanceTimeout: settings.rebalanceTimeout ?? GROUP_DEFAULTS.rebalanceTimeout,
    heartbeatInterval: settings.heartbeatInterval ?? GROUP_DEFAULTS.heartbeatInterval
  }
  // The library's constructor refuses these combinations with an error naming its own options.
  if (group.rebalanceTimeout < group.sessionTimeout) {
    throw new errors.INVALID_OPTION('consumer.rebalanceTimeout', `@platformatic/kafka needs it at least sessionTimeout (${group.sessionTimeout} ms)`)
  }
  if (group.heartbeatInterval > group.sessionTimeout) {
    throw new errors.INVALID_OPTION('consumer.heartbeatInterval', `@platformatic/kafka needs it at most sessionTimeout (${group.sessionTimeout} ms)`)
  }
  const extra = option.platformatic ?? {}
  return {
    ...clientOptions(option, CONSUMER_RETRIES),
    groupId: options.groupId,
    ...group,
    protocols: groupProtocols(options.instanceId),
    partitionAssigner: replyAssigner,
    // The library commits after every fetch by default; commits here follow `options.commits`.
    autocommit: false,
    maxWaitTime: settings.maxWaitTimeInMs ?? CONSUMER_DEFAULTS.maxWaitTimeInMs,
    ...(extra.maxBytes === undefined ? {} : { maxBytes: extra.maxBytes }),
    ...(extra.maxBytesPerPartition === undefined ? {} : { maxBytesPerPartition: extra.maxBytesPerPartition }),
    ...(extra.highWaterMark === undefined ? {} : { highWaterMark: extra.highWaterMark }),
    deserializers: { headerKey: (data?: Buffer) => data?.toString() ?? '' }
  }
}

/**
 * A @platformatic/kafka consumer in its group, as the transport's GroupConsumer. The library
 * delivers records one by one through a stream that fetches ahead (up to its highWaterMark);
 * what one read of the stream yields is handed over partition by partition, one batch at a time.
 */
export class PlatformaticGroupConsumer implements GroupConsumer {
  readonly #consumer: LibraryConsumer
  readonly #option: PlatformaticKafkaOption
  readonly #options: GroupConsumerOptions
  readonly #log: Log
  readonly #onJoin: Array<() => void> = []
  readonly #lookups = new Set<Promise<unknown>>()
  readonly #joined: Promise<void>
  #resolveJoined: () => void = () => {}
  #onBatch: ((batch: ConsumedBatch) => Promise<void>) | undefined
  #stream: LibraryStream | undefined
  #admin: Admin | undefined
  #healthy = false
  #stalled = false
  #stopping = false
  #closed = false
  #stopped: Promise<void> | undefined
  /** The drain of the stream under way, and whether records arrived since it last read. */
  #draining: Promise<void> | undefined
  #more = false
  #recovery: NodeJS.Timeout | undefined
  #rejoin: NodeJS.Timeout | undefined
  /**
   * Per partition, the offset after the last record handled (`handled`) or taken (`manual`). After
   * every join the library fetches again from the committed offsets, while records fetched before
   * the join are still in its stream: records below this mark were handed over already.
   */
  readonly #handedOver = new Map<string, bigint>()
  /** `handled`: offsets to commit, per partition; and when the last commit started. */
  readonly #toCommit = new Map<string, { topic: string, partition: number, offset: bigint }>()
  #committer: NodeJS.Timeout | undefined
  #committing: Promise<void> | undefined
  #lastCommit = 0

  constructor (client: LibraryConsumer, option: PlatformaticKafkaOption, options: GroupConsumerOptions, log: Log) {
    this.#consumer = client
    this.#option = option
    this.#options = options
    this.#log = log
    this.#joined = new Promise(resolve => { this.#resolveJoined = resolve })
    client.on('consumer:group:join', payload => this.#joinedGroup(payload))
    client.on('consumer:group:leave', () => { this.#healthy = false })
    client.on('consumer:heartbeat:stalled', ({ stalledFor, lastError }) => {
      this.#stalled = true
      this.#healthy = false
      this.#log.warn({ err: lastError, stalledFor, groupId: options.groupId }, 'consumer heartbeats stalled')
    })
    client.on('consumer:heartbeat:end', () => {
      if (!this.#stalled) return
      this.#stalled = false
      this.#healthy = !this.#stopping
    })
    // The library emits 'error' when a rejoin after a failed heartbeat gave up: it then sends no
    // heartbeat again by itself. Unheard, that 'error' would crash the process.
    client.on('error', (err: Error) => {
      if (this.#gone()) return
      this.#healthy = false
      this.#log.error({ err, groupId: options.groupId }, 'consumer could not rejoin its group')
      this.#scheduleRejoin()
    })
  }

  /** The library's consumer, for the transport's bookkeeping. */
  get client (): LibraryConsumer {
    return this.#consumer
  }

  /** The stream the consumer reads now, if any (for the transport's bookkeeping). */
  get stream (): LibraryStream | undefined {
    return this.#stream
  }

  /** The admin client of members(), once made (for the transport's bookkeeping). */
  get admin (): Admin | undefined {
    return this.#admin
  }

  get healthy (): boolean {
    return this.#healthy
  }

  partitions (topic: string): readonly number[] {
    if (this.#stopping) return []
    return this.#consumer.assignments?.find(assignment => assignment.topic === topic)?.partitions ?? []
  }

  onJoin (listener: () => void): void {
    this.#onJoin.push(listener)
  }

  async start (onBatch: (batch: ConsumedBatch) => Promise<void>): Promise<void> {
    this.#onBatch = onBatch
    // consume() joins the group first, then creates the stream.
    const stream = await this.#consume().catch((err: unknown) => {
      const code = brokerErrorName(err)
      throw code !== undefined && CONSUMER_AUTHORIZATION_ERRORS.has(code) ? consumerNotAuthorized(code, this.#options.groupId, this.#options.topics) : explainConnectionFailure(err)
    })
    this.#attach(stream)
    await this.#joined
  }

  async members (): Promise<GroupMembers> {
    // A lookup after close would open connections that nothing closes.
    if (this.#closed) throw new Error('the consumer is closed')
    const { groupId } = this.#options
    this.#admin ??= new Admin(clientOptions(this.#option, ADMIN_RETRIES))
    const lookup = this.#admin.describeGroups({ groups: [groupId] })
    this.#lookups.add(lookup)
    const groups = await lookup.finally(() => this.#lookups.delete(lookup))
    const group = groups.get(groupId)
    if (group === undefined) return { stable: false, instanceIds: [] }
    // The library decodes each member's subscription (version, topics, user data), kafkajs's members' too.
    const instanceIds = [...group.members.values()].map(member => memberInstanceId(member.metadata?.metadata)).filter(id => id !== undefined)
    return { stable: group.state === 'Stable' || group.state === 'STABLE', instanceIds }
  }

  async commit (offsets: CommitOffset[]): Promise<void> {
    if (offsets.length === 0) return
    // The leader epoch is not known here; -1 lets the broker skip its check (KIP-320).
    await this.#consumer.commit({ offsets: offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: BigInt(offset), leaderEpoch: -1 })) })
  }

  /**
   * Stops fetching (the stream is closed, the records it had read ahead are dropped) and waits for
   * the batch in hand. The member stays in its group, so that commit() still works, until close().
   */
  stop (): Promise<void> {
    this.#stopped ??= this.#stop()
    return this.#stopped
  }

  async #stop (): Promise<void> {
    this.#stopping = true
    this.#healthy = false
    clearTimeout(this.#recovery)
    clearTimeout(this.#rejoin)
    const stream = this.#stream
    this.#stream = undefined
    if (stream !== undefined) await closeStream(stream, this.#log)
    await this.#draining
    clearTimeout(this.#committer)
    if (this.#options.commits === 'handled') await this.#commitHandled()
  }

  /** Leaves the group (the library closes its streams first) and disconnects. */
  async close (): Promise<void> {
    this.#closed = true
    await this.stop()
    await Promise.allSettled(this.#lookups)
    // Leaving first ends the membership before the consumer closes: @platformatic/kafka 2.12.1's
    // close() alone lets a join still in flight (a rejoin after a coordinator's loss) complete and
    // schedule heartbeats that nothing stops, and the process never exits.
    await new Promise<void>(resolve => this.#consumer.leaveGroup(true, err => {
      if (err) this.#log.debug({ err, groupId: this.#options.groupId }, 'could not leave the group before closing')
      resolve()
    }))
    await Promise.allSettled([
      this.#admin?.close(),
      // force: a stream made again just now (see #recover) is closed with the consumer.
      this.#consumer.close(true)
    ])
  }

  /** Opens a stream on the group's topics, from the committed offsets. */
  async #consume (): Promise<LibraryStream> {
    const { topics, fromBeginning } = this.#options
    return this.#consumer.consume({ topics, mode: 'committed', fallbackMode: fromBeginning ? 'earliest' : 'latest' })
  }

  #attach (stream: LibraryStream): void {
    if (this.#gone()) {
      closeStream(stream, this.#log).catch(() => {})
      return
    }
    this.#stream = stream
    stream.on('readable', () => this.#wake())
    // A fetch that failed CONSUMER_RETRIES times destroys the stream: it is made again.
    stream.on('error', (err: Error) => this.#log.warn({ err, groupId: this.#options.groupId }, 'consumer stream failed'))
    stream.once('close', () => {
      if (this.#stream !== stream) return
      this.#stream = undefined
      if (!this.#gone()) this.#recover()
    })
    this.#wake()
  }

  /** Stopping, or the library's consumer was closed (by the transport's close()): nothing to recover. */
  #gone (): boolean {
    if (this.#consumer.closed) this.#healthy = false
    return this.#stopping || this.#consumer.closed
  }

  #recover (): void {
    clearTimeout(this.#recovery)
    this.#recovery = setTimeout(() => {
      if (this.#gone()) return
      this.#consume().then(stream => this.#attach(stream), (err: Error) => {
        this.#log.warn({ err, groupId: this.#options.groupId }, 'could not consume again')
        this.#recover()
      })
    }, RECOVERY_DELAY_MS)
  }

  #scheduleRejoin (): void {
    clearTimeout(this.#rejoin)
    this.#rejoin = setTimeout(() => {
      if (this.#gone()) return
      this.#consumer.joinGroup({}).catch(() => {}) // a failure comes back as 'error'
    }, RECOVERY_DELAY_MS)
  }

  #joinedGroup (payload: ConsumerGroupJoinPayload): void {
    this.#healthy = !this.#stopping
    this.#stalled = false
    const owned = new Set((payload.assignments ?? []).flatMap(({ topic, partitions }) => partitions.map(partition => partitionKey(topic, partition))))
    for (const key of this.#handedOver.keys()) if (!owned.has(key)) this.#handedOver.delete(key)
    for (const key of this.#toCommit.keys()) if (!owned.has(key)) this.#toCommit.delete(key)
    this.#log.debug({ groupId: this.#options.groupId, generationId: payload.generationId, assignments: payload.assignments }, 'consumer joined its group')
    this.#resolveJoined()
    for (const listener of this.#onJoin) listener()
  }

  #owns (topic: string, partition: number): boolean {
    return !this.#stopping && this.#consumer.assignments?.some(a => a.topic === topic && a.partitions.includes(partition)) === true
  }

  #wake (): void {
    this.#more = true
    if (this.#draining !== undefined) return
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined
      if (this.#more && !this.#stopping) this.#wake()
    })
  }

  async #drain (): Promise<void> {
    while (this.#more && !this.#stopping) {
      this.#more = false
      const stream = this.#stream
      if (stream === undefined) return
      const messages: LibraryMessage[] = []
      for (let message: LibraryMessage | null; messages.length < MAX_READ && (message = stream.read() as LibraryMessage | null) !== null;) messages.push(message)
      if (messages.length === 0) continue
      this.#more = true // there may be more: read again after these
      for (const records of byPartition(messages)) {
        if (this.#stopping) return
        await this.#handOver(records)
      }
    }
  }

  /** Hands one partition's records over; a handler that failed gets them again while the partition is ours. */
  async #handOver (messages: LibraryMessage[]): Promise<void> {
    const { topic, partition } = messages[0]
    const key = partitionKey(topic, partition)
    const from = this.#handedOver.get(key)
    const fresh = from === undefined ? messages : messages.filter(message => message.offset >= from)
    if (fresh.length === 0) return
    // The library may deliver records of a partition just taken away (a fetch in flight, or read ahead).
    if (!this.#owns(topic, partition)) {
      this.#log.debug({ groupId: this.#options.groupId, topic, partition, records: fresh.length }, 'records of a partition no longer held dropped')
      return
    }
    const last = fresh[fresh.length - 1].offset
    const batch: ConsumedBatch = {
      topic,
      partition,
      records: fresh.map(consumedRecord),
      lastOffset: last.toString(),
      stillOwned: () => this.#owns(topic, partition),
      taken: offset => {
        const next = BigInt(offset) + 1n
        if ((this.#handedOver.get(key) ?? -1n) < next) this.#handedOver.set(key, next)
      },
      // Heartbeats run on the library's own timer, whatever the handler does.
      heartbeat: async () => {}
    }
    for (;;) {
      try {
        await this.#onBatch!(batch)
        break
      } catch (err) {
        // As kafkajs does with a failing eachBatch: the batch again, later (nothing was committed).
        this.#log.warn({ err, topic, partition, groupId: this.#options.groupId }, 'consumer batch handler failed; trying again')
        await new Promise(resolve => setTimeout(resolve, RECOVERY_DELAY_MS))
        if (!this.#owns(topic, partition)) return
      }
    }
    if (this.#options.commits !== 'handled') return
    this.#handedOver.set(key, last + 1n)
    this.#toCommit.set(key, { topic, partition, offset: last + 1n })
    this.#scheduleCommit()
  }

  /** `handled`: commits what was handled, at most every COMMIT_INTERVAL_MS, one commit at a time. */
  #scheduleCommit (): void {
    if (this.#committer !== undefined || this.#committing !== undefined || this.#stopping) return
    const wait = Math.max(0, this.#lastCommit + COMMIT_INTERVAL_MS - Date.now())
    this.#committer = setTimeout(() => {
      this.#committer = undefined
      this.#commitHandled().catch(() => {})
    }, wait)
  }

  async #commitHandled (): Promise<void> {
    await this.#committing
    const offsets = [...this.#toCommit.values()].filter(({ topic, partition }) => this.#stopping || this.#owns(topic, partition))
    this.#toCommit.clear()
    if (offsets.length === 0) return
    this.#lastCommit = Date.now()
    const committing = this.#consumer.commit({ offsets: offsets.map(offset => ({ ...offset, leaderEpoch: -1 })) }).catch((err: Error) => {
      this.#log.warn({ err, groupId: this.#options.groupId }, 'could not commit consumed offsets')
      // Tried again with the next commit, unless a later offset of the partition replaced it.
      for (const offset of offsets) {
        const key = partitionKey(offset.topic, offset.partition)
        if (!this.#toCommit.has(key)) this.#toCommit.set(key, offset)
      }
    })
    this.#committing = committing
    await committing
    this.#committing = undefined
    if (this.#toCommit.size > 0) this.#scheduleCommit()
  }
}

/** Closes a stream; the library waits for a commit in flight, and reports errors it may keep. */
async function closeStream (stream: LibraryStream, log: Log): Promise<void> {
  try {
    await stream.close()
  } catch (err) {
    log.debug({ err }, 'consumer stream closed with an error')
  }
}

/** The records of each partition, in order, partitions in the order they first appear. */
function byPartition (messages: LibraryMessage[]): LibraryMessage[][] {
  const groups = new Map<string, LibraryMessage[]>()
  for (const message of messages) {
    const key = partitionKey(message.topic, message.partition)
    const group = groups.get(key)
    if (group === undefined) groups.set(key, [message])
    else group.push(message)
  }
  return [...groups.values()]
}

function consumedRecord (message: LibraryMessage): ConsumedRecord {
  const headers: RecordHeaders = {}
  // headerEntries keeps repeated headers (the `headers` Map keeps the last): a list, as kafkajs gives.
  for (const [name, value] of message.headerEntries) {
    // A header without a value (null on the wire) reads as absent, or is left out of a list.
    const existing = headers[name]
    if (existing === undefined) headers[name] = value ?? undefined
    else if (value === undefined || value === null) continue
    else if (Array.isArray(existing)) existing.push(value)
    else headers[name] = [existing, value]
  }
  return {
    offset: message.offset.toString(),
    timestamp: message.timestamp.toString(),
    key: message.key ?? null,
    value: message.value ?? null,
    headers
  }
}
