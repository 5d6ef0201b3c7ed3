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

export interface UpResult {
  kafkaBrokers: string[]
  redisUrl: string
  kafka: ServerInfo
  redis: ServerInfo & { keyspaceEvents: { before: string, after: string, changed: boolean } }
}

export interface StatusResult {
  kafkaBrokers: string[]
  redisUrl: string
  kafka: ServerInfo & { running: boolean, clusterId?: string }
  redis: ServerInfo & { running: boolean }
}

export type DownResult = Record<'kafka' | 'redis', { action: 'none' | 'stopped' | 'killed', pid?: number, address?: string }>

interface Options { log?: (line: string) => void }

export function up (options?: Options): Promise<UpResult>
export function down (options?: Options): Promise<DownResult>
export function restartKafka (options?: Options & { pauseMs?: number }): Promise<ServerInfo>
export function status (): Promise<StatusResult>
