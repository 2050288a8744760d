/**
 * The worker's own bounds on a lease it accepts, whatever the award asks:
 * a pure function over plain data (see worker.ts).
 */

/** A worker's lease limits, ms. Plain data. */
export interface LeaseLimits {
  /** longest heartbeat timeout granted (`WorkerInit.maxLeaseTimeoutMs`) */
  maxLeaseTimeoutMs: number
  /** longest total life of a lease from its award (`WorkerInit.maxLeaseLifeMs`) */
  maxLeaseLifeMs: number
  /** heartbeat timeout when the award states none (the worker's `MarketInit.leaseTimeoutMs`) */
  defaultLeaseTimeoutMs: number
}

/** What an award asks, as far as the bounds go. */
export interface LeaseAsk {
  /** heartbeat timeout asked, ms (0: none stated) */
  leaseTimeoutMs: number
  /** the award's deadline, ms since the epoch */
  deadline: number
  /** the deadline of the job's offer the worker bid on, ms since the epoch */
  offerDeadline: number
}

/** The lease the worker grants: its heartbeat timeout and the time it ends at the latest. */
export interface LeaseBounds {
  /** the lease ends when no heartbeat came for this long, ms */
  timeoutMs: number
  /** ms since the epoch: the lease ends then whatever happens (the earliest of the award's deadline, the offer's deadline and `now + maxLeaseLifeMs`) */
  endsAt: number
}

/**
 * Bounds a lease by the worker's limits at `now` (ms since the epoch).
 *
 * @returns the bounds, or a decline reason when the lease would end before it starts
 */
export function boundLease (ask: LeaseAsk, limits: LeaseLimits, now: number): LeaseBounds | { decline: string } {
  const asked = ask.leaseTimeoutMs > 0 ? ask.leaseTimeoutMs : limits.defaultLeaseTimeoutMs
  const timeoutMs = Math.max(1, Math.min(asked, limits.maxLeaseTimeoutMs))
  const endsAt = Math.min(ask.deadline, ask.offerDeadline, now + limits.maxLeaseLifeMs)
  if (!(endsAt > now)) return { decline: `the lease would end before it starts (deadline ${Math.min(ask.deadline, ask.offerDeadline)} has passed)` }
  return { timeoutMs, endsAt }
}

/** A held lease as {@link leaseExpiry} sees it. Plain data, times in ms since the epoch. */
export interface LeaseLiveness {
  /** when the lease was accepted, or its last heartbeat came */
  lastHeartbeat: number
  /** heartbeats received so far */
  heartbeats: number
  /** the heartbeat timeout granted, ms */
  timeoutMs: number
  /** the lease ends then at the latest */
  endsAt: number
}

/**
 * Why a held lease ends at `now` (ms since the epoch), or undefined while
 * it lives: no heartbeat for its timeout (before the first heartbeat, for
 * `firstHeartbeatMs` if that is shorter), or past the end of its life.
 * `abandoned` is true when the lease never had a heartbeat.
 *
 * @param firstHeartbeatMs - longest wait for the first heartbeat, ms (FIRST_HEARTBEAT_TIMEOUT_MS)
 */
export function leaseExpiry (lease: LeaseLiveness, firstHeartbeatMs: number, now: number): { reason: string, abandoned: boolean } | undefined {
  const silent = now - lease.lastHeartbeat
  const limit = lease.heartbeats === 0 ? Math.min(lease.timeoutMs, firstHeartbeatMs) : lease.timeoutMs
  if (silent > limit) {
    return lease.heartbeats === 0
      ? { reason: `requester gone: no heartbeat since the award ${silent} ms ago (first heartbeat due within ${limit} ms)`, abandoned: true }
      : { reason: `requester gone: no heartbeat for ${silent} ms (timeout ${limit} ms)`, abandoned: false }
  }
  if (now >= lease.endsAt) return { reason: `expired: the lease's life ended at ${new Date(lease.endsAt).toISOString()}`, abandoned: false }
  return undefined
}

/**
 * How long this node's event loop was held between two runs of a
 * periodic timer (a synchronous load of a large model, a process the OS
 * did not schedule): the time since the previous run past one interval,
 * once that is a whole interval or more (timer jitter is not counted).
 * Lease timers add it to each lease's last heartbeat: a node that did not
 * run could not read the heartbeats or answers waiting on its sockets, so
 * that time is not the peer's silence. A peer that stays silent once the
 * loop runs again still expires its lease one timeout later.
 */
export class LoopStall {
  private last?: number

  /** @param intervalMs - the timer's interval, ms */
  constructor (private readonly intervalMs: number) {}

  /** The ms the loop was held before this run at `now` (ms since the epoch), 0 for none. */
  held (now: number): number {
    const late = this.last == null ? 0 : now - this.last - this.intervalMs
    this.last = now
    return late >= this.intervalMs ? late : 0
  }

  /** Forgets the last run: the next `held` is 0 (the timer was stopped in between, not stalled). */
  reset (): void {
    this.last = undefined
  }
}
