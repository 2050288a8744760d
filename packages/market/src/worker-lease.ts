import type { LeaseHandler, WorkerLease } from './index.js'
import type { PeerId } from '@libp2p/interface'

/** A lease this worker holds: what it was awarded, its handler's run and its heartbeat state. */
export interface HeldWorkerLease {
  view: WorkerLease
  requester: PeerId
  handler: LeaseHandler
  controller: AbortController
  lastHeartbeat: number
  /** heartbeats received */
  heartbeats: number
  /** heartbeat timeout granted, ms (capped by the worker) */
  timeoutMs: number
  /** ms since the epoch: the lease ends then at the latest */
  endsAt: number
  startedAt: number
  ended: boolean
  /** the lease handler's run, once started */
  running?: Promise<unknown>
  /** the run is over and its result on its way to the requester: the lease no longer takes a compute slot */
  delivering?: boolean
}

/**
 * Leases that take a compute slot now (of `requester`, a PeerId string, if
 * given): those held, less those whose result is on its way. The requester
 * frees the slot when it reads the result, so its next award can come
 * before this worker has read the requester's ack of it.
 */
export function computingLeases (held: Iterable<HeldWorkerLease>, requester?: string): number {
  let n = 0
  for (const h of held) if (h.delivering !== true && (requester == null || h.view.requester === requester)) n++
  return n
}
