/**
 * @internal
 * What the plugin and the responder need of a Kafka client, in the project's own types. Each client
 * library is one folder beside this file that implements it (kafkajs/); nothing else under plugin/
 * imports a Kafka library.
 */
import { errors } from '../errors.js'

/** Record headers as consumed: text or bytes, a list when a header repeats. */
export type RecordHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>

/** A record to produce. */
export interface OutgoingRecord {
  /** Record key (the partitioner chooses the partition by it when `partition` is unset). */
  key?: string | null
  value: string | Buffer | null
  headers: Record<string, string | Buffer>
  /** The partition to write; unset: the partitioner chooses. */
  partition?: number
}

/** A consumed record. */
export interface ConsumedRecord {
  offset: string
  /** Epoch ms, as the broker or the producer set it. */
  timestamp: string
  key: Buffer | null
  value: Buffer | null
  headers: RecordHeaders
}

/** Runs a function in some context (a trace context): see RecordProducer.send(). */
export type SendScope = <T>(fn: () => T) => T

/**
 * Why a record could not be produced, in four classes:
 * - `tooLarge`: the broker refused the record as larger than it takes;
 * - `topicMissing`: the topic does not exist (and is not created), or its name is invalid;
 * - `notAuthorized`: the client may not write the topic;
 * - `retriable`: anything else (broker unreachable, timeouts): the same record may pass later.
 */
export type ProduceErrorKind = 'tooLarge' | 'topicMissing' | 'notAuthorized' | 'retriable'

/** A record that could not be produced. `brokerCode` is the broker's error name, when it gave one. */
export class ProduceError extends Error {
  readonly kind: ProduceErrorKind
  readonly brokerCode: string | undefined

  constructor (kind: ProduceErrorKind, brokerCode: string | undefined, cause: unknown) {
    super(`could not produce the record (${brokerCode ?? kind})`, { cause })
    this.name = 'ProduceError'
    this.kind = kind
    this.brokerCode = brokerCode
  }
}

/** Options of a producer. */
export interface ProducerOptions {
  /** Most bytes (values, keys, headers) one coalesced send carries; a single record may exceed it. */
  maxBatchBytes: number
  /**
   * A record asking for a partition its topic does not have goes to the partition the partitioner
   * chooses instead (true), rather than failing (false). The responder's replies set it: a caller's
   * reply partition hint may be stale.
   */
  ignoreMissingPartition?: boolean
  /**
   * Whether a send to a topic that does not exist asks the broker to create it (default false: the
   * send fails, as with a broker that creates no topics). The plugin sets its `createTopics`.
   */
  createTopics?: boolean
}

/**
 * A producer with acks from every in-sync replica. Concurrent sends are coalesced into few produce
 * requests, and each record fails alone: a record too large or a topic missing fails its own sends
 * only.
 */
export interface RecordProducer {
  connect: () => Promise<void>
  /**
   * Resolves once the broker acknowledged the record; rejects with a ProduceError. A `scope` runs
   * the library's send of this record inside it (for an instrumentation that takes its parent span
   * from the active context).
   */
  send: (topic: string, record: OutgoingRecord, scope?: SendScope) => Promise<void>
  /** Resolves once nothing is queued or in flight: wait for it before close(). */
  idle: () => Promise<void>
  close: () => Promise<void>
  /**
   * True when an OpenTelemetry instrumentation of the library wraps this producer: it then starts
   * its own span per record, a child of the context active at the send, and writes its own
   * `traceparent` into the record's headers.
   */
  readonly instrumented: boolean
}

/** Consumer settings that mean the same with every library. */
export interface ConsumerSettings {
  sessionTimeout?: number
  rebalanceTimeout?: number
  heartbeatInterval?: number
  /** How long a fetch waits for records on an idle partition. */
  maxWaitTimeInMs?: number
}

/** Options of a group consumer. */
export interface GroupConsumerOptions {
  groupId: string
  topics: string[]
  /** Where a group without committed offsets starts: the beginning (true) or the end. */
  fromBeginning: boolean
  /**
   * This member's instance id, announced in its group metadata so that every member can tell
   * which instances are in the group (members()); partitions are then spread round-robin by the
   * project's own assignment. Unset: the library's default assignment.
   */
  instanceId?: string
  /**
   * `handled`: a batch counts as consumed once its handler resolved, and its offsets are committed
   * (at most every COMMIT_INTERVAL_MS). `manual`: the owner marks records taken and commits them
   * with commit().
   */
  commits: 'handled' | 'manual'
  settings: ConsumerSettings
}

/** Records of one partition, as fetched. */
export interface ConsumedBatch {
  topic: string
  partition: number
  records: ConsumedRecord[]
  /** The offset of the batch's last record. */
  lastOffset: string
  /**
   * False once the partition was taken from this member or the consumer is stopping: leave the
   * rest of the batch, its next owner fetches it again.
   */
  stillOwned: () => boolean
  /** With manual commits: the record was taken, a batch left early resumes after it. */
  taken: (offset: string) => void
  /** Tells the group this member is alive while a long batch is worked on. */
  heartbeat: () => Promise<void>
}

/** The members of a group, by the instance ids they announced. */
export interface GroupMembers {
  /** False while the group rebalances: the list may be partial then. */
  stable: boolean
  instanceIds: string[]
}

/** The offset to commit for a partition: the offset of the next record to consume. */
export interface CommitOffset {
  topic: string
  partition: number
  offset: string
}

/** One member of a consumer group. */
export interface GroupConsumer {
  /** True once the member has joined its group, until it stops or crashes. */
  readonly healthy: boolean
  /** This member's partitions of `topic` since the last rebalance. */
  partitions: (topic: string) => readonly number[]
  /** Called after every (re)join of the group, when membership or assignment may have changed. */
  onJoin: (listener: () => void) => void
  /** Connects, subscribes and resolves once this member has joined the group. */
  start: (onBatch: (batch: ConsumedBatch) => Promise<void>) => Promise<void>
  /** The group's members (a describe-group request). */
  members: () => Promise<GroupMembers>
  commit: (offsets: CommitOffset[]) => Promise<void>
  /** Stops fetching; the batch in hand is finished. */
  stop: () => Promise<void>
  /** Leaves the group (a prompt rebalance for the others) and disconnects. */
  close: () => Promise<void>
}

/** How to make sure a topic exists. */
export interface TopicSpec {
  topic: string
  /** Create it when it is missing (false: a missing topic is reported, not created). */
  create: boolean
  partitions: number
  /** -1: the broker's default. */
  replicationFactor: number
}

/** A connection to one Kafka cluster through one client library. */
export interface KafkaTransport {
  /** The client library's name. */
  readonly library: string
  producer: (options: ProducerOptions) => RecordProducer
  consumer: (options: GroupConsumerOptions) => GroupConsumer
  /** Whether the topic exists now, after creating it if asked to. */
  /** `unauthorized`: the topic may exist, but the client may not describe it (a Kafka ACL). */
  ensureTopic: (spec: TopicSpec) => Promise<TopicState>
  /**
   * Closes whatever the library left open after its producers and consumers were closed (a client
   * the user passed in is theirs to close); returns how many connections that were.
   */
  close: () => Promise<number>
}

/** Node's codes for a server certificate it does not accept: no retry fixes these. */
export const CERTIFICATE_REFUSED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_UNTRUSTED', 'ERR_TLS_CERT_ALTNAME_INVALID'
])

/** The startup error for a broker certificate Node refused (`code` in CERTIFICATE_REFUSED). */
export function certificateRefused (err: Error & { code?: string }, broker: string | undefined): Error {
  return new Error(`the TLS certificate of the Kafka broker${broker === undefined ? '' : ` ${broker}`} was refused: ${err.message} (${err.code})`, { cause: err })
}

/** What ensureTopic found. */
export type TopicState = 'exists' | 'created' | 'missing' | 'unauthorized'

/** Broker errors by which a group consumer learns it may not read its topics or join its group: its start fails at once. */
export const CONSUMER_AUTHORIZATION_ERRORS = new Set(['GROUP_AUTHORIZATION_FAILED', 'TOPIC_AUTHORIZATION_FAILED'])

/** The startup error for a consumer refused by an ACL, naming what to grant. */
export function consumerNotAuthorized (code: string, groupId: string, topics: string[], how: string = code): Error {
  const what = code === 'GROUP_AUTHORIZATION_FAILED'
    ? `join the consumer group "${groupId}" (${how}): grant it Read on the group`
    : `read the topics ${topics.map(topic => `"${topic}"`).join(', ')} (${code}): grant it Read on them`
  return new errors.NOT_AUTHORIZED(`the Kafka user may not ${what}`)
}

/** How often a group consumer with `commits: 'handled'` commits, at most; the responder commits as often. */
export const COMMIT_INTERVAL_MS = 200

/**
 * Consumer settings the project chooses, under the user's. maxWaitTimeInMs: a consumer's close()
 * waits for the fetch in flight, which on an idle topic lasts maxWaitTimeInMs (kafkajs's default,
 * 5000 ms, made every rolling restart wait up to 5 s). A fetch returns as soon as a record arrives
 * whatever this value, so a shorter wait costs only idle fetches: 2 per second per broker, not 0.2.
 */
export const CONSUMER_DEFAULTS = {
  maxWaitTimeInMs: 500
} as const
