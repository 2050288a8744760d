import { MICRO_PER_CREDIT, payingReceipts, receiptAmount } from '@fleetmesh/ledger'
import { MAX_ENDED_LEASES } from './constants.js'
import type { VerifiedReceipt } from '@fleetmesh/ledger'
import type { HeldLease, LeaseEvent } from '@fleetmesh/market'

/**
 * Views the dashboard needs that neither the ledger nor the market keep in
 * this shape: earnings per UTC day per vehicle owner (pure, over the
 * ledger's receipts) and this worker's own leases (held now, and the
 * recently ended ones with the reason a lost lease ended).
 */

/** One owner's earnings on one UTC day (`GET /api/v1/earnings/owners`). */
export interface OwnerEarningsDay {
  /** owner account from the worker certificates */
  owner: string
  /** UTC day, YYYY-MM-DD, of the receipts' finish time */
  day: string
  /** credits earned that day */
  credits: number
  /** shards (paying receipts) */
  shards: number
}

/**
 * Earnings per vehicle owner per UTC day from the paying receipts
 * (countersigned, one per slot: the ledger's rule), newest day first, then
 * by owner. Pure.
 */
export function ownerEarningsByDay (receipts: Iterable<VerifiedReceipt>): OwnerEarningsDay[] {
  const days = new Map<string, { owner: string, day: string, micro: number, shards: number }>()
  for (const r of payingReceipts(receipts)) {
    if (r.workerOwner === '') continue
    const day = new Date(r.finishedAt).toISOString().slice(0, 10)
    const key = `${day}\u0000${r.workerOwner}`
    const d = days.get(key) ?? { owner: r.workerOwner, day, micro: 0, shards: 0 }
    d.micro += receiptAmount(r)
    d.shards++
    days.set(key, d)
  }
  return [...days.values()]
    .sort((a, b) => a.day < b.day ? 1 : a.day > b.day ? -1 : a.owner.localeCompare(b.owner))
    .map(d => ({ owner: d.owner, day: d.day, credits: d.micro / MICRO_PER_CREDIT, shards: d.shards }))
}

/** A lease of this node as a worker (`GET /api/v1/leases`). */
export interface WorkerLeaseView {
  leaseId: string
  jobId: string
  /** requester PeerId string */
  requester: string
  /** shard (data) or stage (pipeline) index, and how many the job has */
  shardIndex: number
  shardCount: number
  mode: 'data' | 'pipeline'
  /** `active` while held; else how it ended (`completed`, `lost`, `released`, `expired`, `cancelled`, `declined`) */
  state: string
  /** why a lease that did not complete ended (`disconnected`, `released: drained: driving`, …) */
  reason?: string
  /** ms since the epoch */
  startedAt: number
  /** ms since the epoch, once ended */
  endedAt?: number
  /** the lease's deadline, ms since the epoch (held leases) */
  deadline?: number
  /** compute units of the shard */
  units: number
  /** credits per unit the requester pays */
  pricePerUnit: number
  /** credits the lease pays when its receipt is countersigned (units × price) */
  credits: number
  /** true once the requester countersigned this lease's receipt (the credits are earned) */
  earned: boolean
}

interface Started { startedAt: number, lease?: HeldLease }

/**
 * Follows the market's worker-side lease events: remembers each held
 * lease's terms while it runs (the market forgets them when it ends) and
 * the newest {@link MAX_ENDED_LEASES} ended leases with their reason.
 */
export class WorkerLeaseLog {
  private readonly running = new Map<string, Started>()
  private readonly ended: WorkerLeaseView[] = []
  private readonly held: () => HeldLease[]
  private readonly max: number

  /**
   * @param held - the market's `heldLeases()`
   * @param max - ended leases kept @default MAX_ENDED_LEASES
   */
  constructor (held: () => HeldLease[], max = MAX_ENDED_LEASES) {
    this.held = held
    this.max = max
  }

  /** Handles one `lease` event of the market (requester-side events are ignored). Returns the ended lease's view, if it ended. */
  onLease (e: LeaseEvent): WorkerLeaseView | undefined {
    if (e.side !== 'worker') return undefined
    if (e.state === 'awarded' || e.state === 'active') {
      const known = this.running.get(e.leaseId)
      const lease = this.held().find(l => l.leaseId === e.leaseId) ?? known?.lease
      this.running.set(e.leaseId, { startedAt: known?.startedAt ?? e.at, lease })
      return undefined
    }
    const started = this.running.get(e.leaseId)
    this.running.delete(e.leaseId)
    const lease = started?.lease
    const view: WorkerLeaseView = {
      leaseId: e.leaseId,
      jobId: e.jobId,
      requester: e.requester,
      shardIndex: e.shardIndex,
      shardCount: lease?.shardCount ?? 0,
      mode: lease?.mode ?? 'data',
      state: e.state,
      ...(e.reason != null ? { reason: e.reason } : {}),
      startedAt: started?.startedAt ?? lease?.startedAt ?? e.at,
      endedAt: e.at,
      units: lease?.units ?? 0,
      pricePerUnit: lease?.pricePerUnit ?? 0,
      credits: (lease?.units ?? 0) * (lease?.pricePerUnit ?? 0),
      earned: false
    }
    this.ended.unshift(view)
    if (this.ended.length > this.max) this.ended.length = this.max
    return view
  }

  /**
   * Held leases (from the market, newest first) and the ended ones (newest
   * first); `countersigned` names the lease ids whose receipt the ledger
   * holds countersigned.
   */
  views (countersigned: ReadonlySet<string> = new Set()): { held: WorkerLeaseView[], ended: WorkerLeaseView[] } {
    const held = this.held().map((l): WorkerLeaseView => ({
      leaseId: l.leaseId,
      jobId: l.jobId,
      requester: l.requester,
      shardIndex: l.shardIndex,
      shardCount: l.shardCount,
      mode: l.mode,
      state: 'active',
      startedAt: l.startedAt,
      deadline: l.deadline,
      units: l.units,
      pricePerUnit: l.pricePerUnit,
      credits: l.units * l.pricePerUnit,
      earned: false
    })).sort((a, b) => b.startedAt - a.startedAt)
    return { held, ended: this.ended.map(v => ({ ...v, earned: countersigned.has(v.leaseId) })) }
  }
}
