// Types for stack.mjs, so TypeScript tests and setup scripts can import it.

export interface ServerInfo {
  /** The address probed: KAFKA_BROKERS joined with commas, or REDIS_URL. */
  address: string
  /** 'stack' when `up()` started the server (and `down()` will stop it); 'external' when it was found running. */
  owner: 'stack' | 'external'
  action: 'started' | 'reused' | null
  pid?: number
  log?: string
}

/** One node of the stack's Kafka cluster (`--cluster`). */
export interface KafkaClusterNode {
  id: number
  address: string
  controller: string
  running: boolean
  owner: 'stack' | 'external'
  pid?: number
  log?: string
}

export interface KafkaClusterInfo {
  brokers: string[]
  nodes: KafkaClusterNode[]
}

/** One node of the stack's Redis Cluster (127.0.0.1:7001..7006). */
export interface RedisClusterNode {
  address: string
  running: boolean
  role?: 'master' | 'slave'
  owner: 'stack' | 'external'
  pid?: number
}

export interface UpResult {
  kafkaBrokers: string[]
  redisUrl: string
  kafka: ServerInfo
  redis: ServerInfo & { keyspaceEvents: { before: string, after: string, changed: boolean } }
  /** With `cluster: true` only. */
  kafkaCluster?: KafkaClusterInfo & { action: 'started' | 'reused' }
  /** With `cluster`: the Redis Cluster. */
  redisCluster?: { action: 'started' | 'restarted' | 'reused', nodes: RedisClusterNode[] }
  /** With `secure`: the SASL_SSL broker with ACLs (stack/kafka-secure.mjs). */
  kafkaSecure?: ServerInfo & { settings: SecureSettings }
}

/** How a client reaches the secure broker: stack/.run/kafka-secure/secure.json. */
export interface SecureSettings {
  address: string
  /** The PEM file of the CA that signed the broker's certificate. */
  caFile: string
  /** Each SCRAM user's password: admin (a super user), reply-app, reply-worker, outsider. */
  users: Record<'admin' | 'reply-app' | 'reply-worker' | 'outsider', string>
}

export interface StatusResult {
  kafkaBrokers: string[]
  redisUrl: string
  kafka: ServerInfo & { running: boolean, clusterId?: string }
  redis: ServerInfo & { running: boolean }
  kafkaCluster: KafkaClusterInfo & { clusterId?: string, controller?: number }
  redisCluster: { nodes: RedisClusterNode[] }
}

type Stopped = { action: 'none' | 'stopped' | 'killed', pid?: number, address?: string }
export type DownResult = Record<'kafka' | 'kafka-no-auto-create' | 'kafka-secure' | 'redis', Stopped> & {
  kafkaCluster: Array<Stopped & { id: number }>
  redisCluster: Array<{ action: 'stopped' | 'killed', pid: number, address: string }>
}

interface Options { log?: (line: string) => void }

export function up (options?: Options & { cluster?: boolean, secure?: boolean }): Promise<UpResult>
export function killKafkaClusterNode (id: number, options?: Options): Promise<{ id: number, address: string, pid: number, killedAt: number }>
export function restartKafkaClusterNode (id: number, options?: Options): Promise<{ id: number, address: string, pid: number, startedAt: number, readyAt: number }>
export function upNoAutoCreate (options?: Options): Promise<{ kafkaBrokers: string[], kafka: ServerInfo }>
export function down (options?: Options): Promise<DownResult>
export function restartKafka (options?: Options & { pauseMs?: number }): Promise<ServerInfo>
export function status (): Promise<StatusResult>
export function upRedisClusterOnly (options?: Options): Promise<NonNullable<UpResult['redisCluster']>>
export function downRedisClusterOnly (options?: Options): Promise<DownResult['redisCluster']>
export function killRedisClusterNode (port: number | string): Promise<{ killedAt: number }>
export function startRedisClusterNode (port: number | string, options?: Options): Promise<{ readyAt: number }>
