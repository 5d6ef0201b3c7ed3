import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'

/** A Redis Cluster the plugin creates (and closes) from its nodes' URLs. */
export interface ClusterOption {
  /** Startup nodes as `redis://[user:password@]host:port` (or `rediss://` for TLS). */
  cluster: string[]
  /** ioredis Cluster options (natMap, dnsLookup, redisOptions, ...). */
  options?: ClusterOptions
}

/** A single Redis server the plugin creates (and closes) from its URL and ioredis options (`tls`, ...). */
export interface ServerOption {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  url: string
  /** ioredis options: `tls: { ca }` for a private CA, `username`, `password`, ... */
  options?: RedisOptions
}

/** How the plugin reaches Redis: a URL, a URL with options, a client you own (Redis or Cluster), or a cluster's nodes. */
export type RedisOption = string | ServerOption | Redis | Cluster | ClusterOption

/** Whether `option` is `{ url, options? }`. */
export function isServerOption (option: unknown): option is ServerOption {
  return typeof option === 'object' && option !== null && typeof (option as ServerOption).url === 'string' &&
    typeof (option as Partial<Redis>).duplicate !== 'function'
}

/** The command client: a single server's or a cluster's. */
export type RedisClient = Redis | Cluster

/**
 * Whether `client` is an ioredis Cluster. By shape, not instanceof: the application may hold
 * another copy of ioredis than the plugin's.
 */
export function isCluster (client: unknown): client is Cluster {
  const c = client as Partial<Cluster> | null
  return c?.isCluster === true && typeof c.nodes === 'function' && Array.isArray(c.slots)
}

/** Whether `option` is `{ cluster: [...] }`. */
export function isClusterOption (option: unknown): option is ClusterOption {
  return typeof option === 'object' && option !== null && Array.isArray((option as ClusterOption).cluster)
}

/** A client for `option`, and whether the plugin owns it (created it, so closes it). Not connected yet. */
export function createClient (option: RedisOption): { client: RedisClient, owned: boolean } {
  if (typeof option === 'string') return { client: new Redis(option, { lazyConnect: true }), owned: true }
  if (isClusterOption(option)) return { client: clusterFromUrls(option), owned: true }
  if (isServerOption(option)) return { client: new Redis(option.url, { ...option.options, lazyConnect: true }), owned: true }
  return { client: option, owned: false }
}

function clusterFromUrls ({ cluster, options = {} }: ClusterOption): Cluster {
  const urls = cluster.map(url => new URL(url))
  const withCredentials = urls.find(url => url.password !== '' || url.username !== '')
  const redisOptions: NonNullable<ClusterOptions['redisOptions']> = {}
  if (withCredentials !== undefined) {
    if (withCredentials.username !== '') redisOptions.username = decodeURIComponent(withCredentials.username)
    redisOptions.password = decodeURIComponent(withCredentials.password)
  }
  if (urls.some(url => url.protocol === 'rediss:')) redisOptions.tls = {}
  const nodes = urls.map(url => ({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 6379) }))
  return new Cluster(nodes, { ...options, lazyConnect: true, redisOptions: { ...redisOptions, ...options.redisOptions } })
}

/**
 * Resolves once the client is ready (connecting it if nobody has yet). A first connection that
 * fails rejects with the reason (a TLS certificate refused, a wrong password, a refused port), not
 * ioredis's bare "Connection is closed.".
 */
export async function connected (client: RedisClient): Promise<void> {
  if (client.status === 'ready') return
  if (client.status === 'wait') {
    let reason: Error | undefined
    const onError = (err: Error) => { reason ??= err }
    client.on('error', onError)
    try {
      await client.connect()
    } catch (err) {
      const cause = reason ?? (err as Error)
      throw new Error(`could not connect to Redis: ${cause.message}`, { cause })
    } finally {
      client.off('error', onError)
    }
    return
  }
  await new Promise<void>((resolve, reject) => {
    const onReady = () => { client.off('end', onEnd); resolve() }
    const onEnd = () => { client.off('ready', onReady); reject(new Error('Redis connection ended before it was ready')) }
    client.once('ready', onReady)
    client.once('end', onEnd)
  })
}
