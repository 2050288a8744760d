import { FleetmeshError } from '@fleetmesh/protocol'

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

/** A job did not complete by its deadline; `unplaced` names each shard that was not done. */
export class JobFailedError extends FleetmeshError {
  override readonly name = 'JobFailedError'
  readonly code = 'ERR_JOB_FAILED'
  readonly jobId: string
  readonly unplaced: UnplacedShard[]

  constructor (jobId: string, unplaced: UnplacedShard[]) {
    const list = unplaced.slice(0, 10).map(u => `shard ${u.shardIndex}${u.replica > 0 ? `/${u.replica}` : ''} (${u.reason})`).join(', ')
    super(`job ${jobId} failed at its deadline: ${unplaced.length} shard(s) not completed: ${list}${unplaced.length > 10 ? ', …' : ''}; raise maxPricePerUnit, lower minReputation, or give it a later deadline`)
    this.jobId = jobId
    this.unplaced = unplaced
  }
}

/** A job was cancelled (by `cancel()`, its abort signal, or the service stopping). */
export class JobCancelledError extends FleetmeshError {
  override readonly name = 'JobCancelledError'
  readonly code = 'ERR_JOB_CANCELLED'
  readonly jobId: string
  constructor (jobId: string, reason: string) {
    super(`job ${jobId} was cancelled: ${reason}`)
    this.jobId = jobId
  }
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
