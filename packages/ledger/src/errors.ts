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
