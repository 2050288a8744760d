import { FleetmeshError } from '@fleetmesh/protocol'

/**
 * Errors of the ledger service (the wire-level ones, `InvalidReceiptError`,
 * `NotCountersignedError`, `InvalidEvidenceError`, `EntryFromFutureError`
 * and `ReconcileProtocolError`, live in @fleetmesh/protocol). Branch on
 * `err.name` or `err.code`, never on `instanceof`.
 */

/** The ledger service is not started (its store is closed). */
export class LedgerNotStartedError extends FleetmeshError {
  override readonly name = 'LedgerNotStartedError'
  readonly code = 'ERR_LEDGER_NOT_STARTED'
}

/** A shard result returned by a worker is not a ShardReturn, or its receipt does not match the lease. */
export class InvalidShardReturnError extends FleetmeshError {
  override readonly name = 'InvalidShardReturnError'
  readonly code = 'ERR_INVALID_SHARD_RETURN'
}

/** A credit grant is malformed or not signed by a trusted fleet authority. */
export class InvalidGrantError extends FleetmeshError {
  override readonly name = 'InvalidGrantError'
  readonly code = 'ERR_INVALID_GRANT'
}

/**
 * An account cannot pay: a countersignature (or a commitment) would take
 * its spendable balance below zero. `account`, `needed` and `available`
 * are in credits.
 */
export class InsufficientFundsError extends FleetmeshError {
  override readonly name = 'InsufficientFundsError'
  readonly code = 'ERR_INSUFFICIENT_FUNDS'
  readonly account: string
  readonly needed: number
  readonly available: number

  constructor (account: string, needed: number, available: number, what = 'this payment') {
    super(`${account} cannot pay ${needed} credits for ${what}: ${available} spendable (grants + earned - spent - open commitments); ask the fleet authority for a grant (fleetmesh authority grant)`)
    this.account = account
    this.needed = needed
    this.available = available
  }
}

/** A requester cannot record one more pending settlement (MAX_PENDING_SETTLEMENTS jobs, or MAX_PENDING_RECEIPTS receipts in one). */
export class TooManyPendingSettlementsError extends FleetmeshError {
  override readonly name = 'TooManyPendingSettlementsError'
  readonly code = 'ERR_TOO_MANY_PENDING_SETTLEMENTS'
}
