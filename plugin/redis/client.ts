import { Cluster, Redis, type ClusterOptions } from 'ioredis'

/** A Redis Cluster the plugin creates (and closes) from its nodes' URLs. */
export interface ClusterOption {
  /** Startup nodes as `redis://[user:password@]host:port` (or `rediss://` for TLS). */
  cluster: string[]
  /** ioredis Cluster options (natMap, dnsLookup, redisOptions, ...). */
  options?: ClusterOptions
}

/** How the plugin reaches Redis: a URL, a client you own (Redis or Cluster), or a cluster's nodes. */
export type RedisOption = string | Redis | Cluster | ClusterOption

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

/** Resolves once the client is ready (connecting it if nobody has yet). */
export async function connected (client: RedisClient): Promise<void> {
  if (client.status === 'ready') return
  if (client.status === 'wait') {
    await client.connect()
    return
  }
  await new Promise<void>((resolve, reject) => {
    const onReady = () => { client.off('end', onEnd); resolve() }
    const onEnd = () => { client.off('ready', onReady); reject(new Error('Redis connection ended before it was ready')) }
    client.once('ready', onReady)
    client.once('end', onEnd)
  })
}
