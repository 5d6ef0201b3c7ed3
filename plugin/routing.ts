import type { DecodedReply } from './reply-record.js'

/** Why a consumed reply goes nowhere. */
export type DropReason =
  /** No well-formed correlation id, or too large. */
  | 'malformed'
  /** A deadline further away than any call may wait: not one of ours, or a forged record. */
  | 'forged'
  /** For an instance that is not in the reply group: nobody would read it. */
  | 'unknownInstance'
  /** Its deadline has passed: its call has had its 504. */
  | 'late'
  /** For a call of this instance that was already answered or cancelled. */
  | 'duplicate'

/** Where one consumed reply goes. */
export type Route =
  /** To a call waiting in this instance: settle it in memory. */
  | { to: 'here', reply: DecodedReply }
  /** To another instance, through the reply store, to live `ttl` ms. */
  | { to: 'store', reply: DecodedReply, ttl: number }
  | { to: 'nowhere', reason: DropReason }

/** What routing knows of this instance and its group at the time of a batch. */
export interface RoutingView {
  instanceId: string
  /** Epoch ms. */
  now: number
  /** The latest deadline a call may have now (maxTimeout ahead, plus clock skew between hosts). */
  latestDeadline: number
  /** ms a stored reply outlives its deadline. */
  replyGrace: number
  /** Whether a call of this instance with this correlation id waits. */
  isPending: (id: string) => boolean
  /** Whether this instance id is a member of the reply group. */
  isMember: (instanceId: string) => boolean
}

/**
 * Where a consumed reply goes: settle here, hand over to its instance through the store, or
 * drop it and say why. Decides without I/O; `reply` is undefined for a record that did not decode.
 */
export function routeReply (reply: DecodedReply | undefined, view: RoutingView): Route {
  if (reply === undefined) return { to: 'nowhere', reason: 'malformed' }
  const { correlation } = reply
  const late = correlation.deadline <= view.now
  if (correlation.instanceId === view.instanceId) {
    if (view.isPending(correlation.id)) return { to: 'here', reply }
    return { to: 'nowhere', reason: late ? 'late' : 'duplicate' }
  }
  if (late) return { to: 'nowhere', reason: 'late' }
  // A forged far-future deadline would keep a key alive for long; an unknown instance never reads it.
  if (correlation.deadline > view.latestDeadline) return { to: 'nowhere', reason: 'forged' }
  if (!view.isMember(correlation.instanceId)) return { to: 'nowhere', reason: 'unknownInstance' }
  return { to: 'store', reply, ttl: correlation.deadline - view.now + view.replyGrace }
}

/**
 * The instance ids a batch would hand replies to that routing cannot place yet (`isMember` says
 * no): the group is asked about each once before the batch is routed.
 */
export function instancesToConfirm (replies: Array<DecodedReply | undefined>, view: RoutingView): Set<string> {
  const unknown = new Set<string>()
  for (const reply of replies) {
    if (reply === undefined) continue
    const { instanceId, deadline } = reply.correlation
    if (instanceId === view.instanceId || deadline <= view.now || deadline > view.latestDeadline) continue
    if (!view.isMember(instanceId)) unknown.add(instanceId)
  }
  return unknown
}

/**
 * Whether a consumed reply is the outcome of a call with an idempotency key, to be stored in the
 * key's record: on time or late, whichever instance waits (or waited) for it. Not when its
 * deadline is further away than any call may wait (forged).
 */
export function storesOutcome (reply: DecodedReply | undefined, view: RoutingView): reply is DecodedReply {
  return reply?.correlation.ref !== undefined && reply.correlation.deadline <= view.latestDeadline
}
