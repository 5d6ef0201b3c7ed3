import type { ChainableCommander, Redis } from 'ioredis'
import { isCluster, type RedisClient } from './client.js'
import { keySlot } from './key-slot.js'

/** Where a command can go: the client itself or a pipeline of it. */
export type Commands = RedisClient | ChainableCommander
/** One command's result in a pipeline: its error or its value. */
export type Result = [Error | null, unknown]

/** A slot that moves answers these for a while; a command sent again on its own follows the redirect. */
const REDIRECTED = /^(MOVED|ASK|TRYAGAIN) /

/**
 * Runs `count` commands in one pipeline. On a cluster, ioredis retries a pipeline only when every
 * command got the same redirect; a command redirected alone (its slot moving) is sent again on its
 * own, and the client follows the redirect.
 */
export async function pipelined (client: RedisClient, count: number, command: (target: Commands, i: number) => unknown): Promise<Result[]> {
  const pipeline = client.pipeline()
  for (let i = 0; i < count; i++) command(pipeline, i)
  const results = (await pipeline.exec()) ?? []
  return await Promise.all(results.map(async ([err, value], i): Promise<Result> => {
    if (err === null || !REDIRECTED.test(err.message)) return [err, value]
    try {
      return [null, await command(client, i)]
    } catch (again) {
      return [again as Error, null]
    }
  }))
}

/**
 * An error that says the node serving a slot cannot take the command now (down, failing over,
 * the cluster reconfiguring), as opposed to one about the command itself (an ACL refusal, say).
 */
/**
 * A Redis error fit to log or throw on: its name, message and code, without what ioredis attaches
 * to it (`command`, with the command's arguments: a reply's payload, for a refused hand-over SET).
 */
export function withoutCommand (err: unknown): Error {
  if (!(err instanceof Error) || !('command' in err || 'previousErrors' in err)) return err instanceof Error ? err : new Error(String(err))
  const plain = new Error(err.message)
  plain.name = err.name
  const { code } = err as { code?: unknown }
  if (typeof code === 'string') Object.assign(plain, { code })
  const name = (err as { command?: { name?: unknown } }).command?.name
  if (typeof name === 'string') Object.assign(plain, { command: name })
  plain.stack = `${err.name}: ${err.message}${err.stack?.slice(err.stack.indexOf('\n')) ?? ''}`
  return plain
}

/** Whether Redis refused a command, key or channel to the user (an ACL). */
export function isNoPerm (err: Error): boolean {
  return /^NOPERM\b/.test(err.message)
}

export function nodeUnavailable (err: Error): boolean {
  if (err.name !== 'ReplyError') return true // connection closed, refused, too many redirections
  return /^(CLUSTERDOWN|TRYAGAIN|MOVED|ASK|LOADING|MASTERDOWN) /.test(err.message)
}

/** `host:port` of a node. */
export function nodeName (node: Redis): string {
  return `${node.options.host}:${node.options.port}`
}

/** Indexes of `keys` grouped by the node that serves their slot: all in one group on a single server. */
export function byNode (client: RedisClient, keys: string[]): number[][] {
  if (!isCluster(client)) return [keys.map((_key, i) => i)]
  const groups = new Map<string, number[]>()
  keys.forEach((key, i) => {
    const node = client.slots[keySlot(key)]?.[0] ?? ''
    const group = groups.get(node)
    if (group === undefined) groups.set(node, [i])
    else group.push(i)
  })
  return [...groups.values()]
}
