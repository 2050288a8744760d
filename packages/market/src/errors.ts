import { FleetmeshError } from '@fleetmesh/protocol'
import type { NoBidsReason, Refusal } from './no-bids.js'
import type { ValidationAction } from '@fleetmesh/protocol'

/**
 * Errors of the market service. Branch on `err.name` or `err.code`, never
 * on `instanceof`.
 */

/** What could not be placed when a job failed. */
export interface UnplacedShard {
  shardIndex: number
  replica: number
  /** why: no eligible bid, all bidders lost, not completed in time */
  reason: string
}

/**
 * A job did not complete: at its deadline (`at: 'deadline'`), or because a
 * shard that lost its lease found no other worker within the placement
 * timeout (`at: 'placement'`). `unplaced` names each shard that was not
 * done and why (`leased to <worker>, not completed in time`, or the reason
 * its last lease was lost and why it was not placed again).
 */
export class JobFailedError extends FleetmeshError {
  override readonly name = 'JobFailedError'
  readonly code = 'ERR_JOB_FAILED'
  readonly jobId: string
  readonly unplaced: UnplacedShard[]
  /** what ended the job */
  readonly at: 'deadline' | 'placement'

  constructor (jobId: string, unplaced: UnplacedShard[], at: 'deadline' | 'placement' = 'deadline') {
    const list = unplaced.slice(0, 10).map(u => `shard ${u.shardIndex}${u.replica > 0 ? `/${u.replica}` : ''} (${u.reason})`).join(', ')
    const running = unplaced.length > 0 && unplaced.every(u => u.reason.startsWith('leased to '))
    const advice = running ? 'give it a later deadline or smaller shards' : 'raise maxPricePerUnit, lower minReputation, or give it a later deadline'
    super(`job ${jobId} failed ${at === 'deadline' ? 'at its deadline' : 'to place its shards again'}: ${unplaced.length} shard(s) not completed: ${list}${unplaced.length > 10 ? ', …' : ''}; ${advice}`)
    this.jobId = jobId
    this.unplaced = unplaced
    this.at = at
  }
}

/** Fields of a {@link NoBidsError}. */
export interface NoBidsErrorInit {
  jobId: string
  reason: NoBidsReason
  /** what to change, from `explainNoBids` */
  message: string
  /** the job's region */
  region: string
  /** the job's maximum price, credits per compute unit */
  maxPricePerUnit: number
  /** the lowest price a worker asked, credits per compute unit, when one was over the maximum */
  lowestAsk?: number
  /** each worker's refusal (at most one per worker) */
  refusals: Refusal[]
}

/**
 * A job found no worker for a shard: every worker of its region refused
 * (right after the bid window), or a shard was still unplaced
 * `placementTimeoutMs` after the first bid window. `reason` says why
 * (`no-workers`, `funds`, `price`, `reputation`, `jurisdiction`, `limits`, `busy`, `unknown`) and
 * the message names what to change, e.g. `lowest ask 1.0 > maxPricePerUnit 0.5`.
 */
export class NoBidsError extends FleetmeshError {
  override readonly name = 'NoBidsError'
  readonly code = 'ERR_NO_BIDS'
  readonly jobId: string
  readonly reason: NoBidsReason
  readonly region: string
  readonly maxPricePerUnit: number
  readonly lowestAsk?: number
  readonly refusals: Refusal[]

  constructor (init: NoBidsErrorInit) {
    super(`job ${init.jobId} found no worker: ${init.message}`)
    this.jobId = init.jobId
    this.reason = init.reason
    this.region = init.region
    this.maxPricePerUnit = init.maxPricePerUnit
    if (init.lowestAsk != null) this.lowestAsk = init.lowestAsk
    this.refusals = init.refusals
  }
}

/**
 * A job was cancelled (by `cancel()`, its abort signal, or the service
 * stopping); `reason` is the reason given (`cancel(jobId, reason)`, the
 * message of the signal's reason, or `the requester stopped`).
 */
export class JobCancelledError extends FleetmeshError {
  override readonly name = 'JobCancelledError'
  readonly code = 'ERR_JOB_CANCELLED'
  readonly jobId: string
  readonly reason: string
  constructor (jobId: string, reason: string) {
    super(`job ${jobId} was cancelled: ${reason}`)
    this.jobId = jobId
    this.reason = reason
  }
}

/** A market message names a job this node does not run (it ended, or never ran here); ignored without a penalty. */
export class UnknownJobError extends FleetmeshError {
  override readonly name = 'UnknownJobError'
  readonly code = 'ERR_UNKNOWN_JOB'
  override readonly action: ValidationAction = 'ignore'
}

/** A job spec is invalid (no shards, bad price, deadline in the past, …). */
export class InvalidJobError extends FleetmeshError {
  override readonly name = 'InvalidJobError'
  readonly code = 'ERR_INVALID_JOB'
}

/** The market service is not started. */
export class MarketNotStartedError extends FleetmeshError {
  override readonly name = 'MarketNotStartedError'
  readonly code = 'ERR_MARKET_NOT_STARTED'
}

/** A direct market exchange failed (no answer, stream error, bad answer). */
export class DirectExchangeError extends FleetmeshError {
  override readonly name = 'DirectExchangeError'
  readonly code = 'ERR_DIRECT_EXCHANGE'
}

/**
 * A peer went over its budget for a request type (see `MarketInit.budgets`).
 * Gossip over the budget is ignored (an honest forwarder may pass it on);
 * a direct message over the budget is refused with this code, and the
 * sender's exchange throws this error: slow down and try again later.
 */
export class RateLimitedError extends FleetmeshError {
  override readonly name = 'RateLimitedError'
  readonly code = 'ERR_RATE_LIMITED'
  override readonly action = 'ignore'
}

/** A market gossip message is not signed by its gossip author (gossipsub StrictSign); rejected. */
export class UnsignedGossipError extends FleetmeshError {
  override readonly name = 'UnsignedGossipError'
  readonly code = 'ERR_UNSIGNED_GOSSIP'
}
