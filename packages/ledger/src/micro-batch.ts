import { parseVerificationJobId } from './settle.js'

/**
 * Micro-batch receipts: a worker signs one receipt per micro-batch it
 * runs, job id `<jobId>/mb/<seq>`, shard index = the pipeline stage it ran
 * (0 in data-parallel), replica 0, units = the micro-batch's items and
 * price = what one item of its lease costs. The requester countersigns the
 * receipts of the outputs it accepted (and of spot-check runs that agreed
 * with them), so a worker is paid for what it delivered, whether or not
 * its lease later completed, and never for output that failed a check.
 *
 * Two workers may each be paid once for the same micro-batch (a result
 * and its spot check): their receipts share a slot, so the balance
 * derivation keys micro-batch receipts by slot and worker.
 */

/** Job id of the receipt for micro-batch `seq` of `jobId`: `<jobId>/mb/<seq>`. */
export function microBatchJobId (jobId: string, seq: number): string {
  return `${jobId}/mb/${seq}`
}

/** The job and micro-batch of a micro-batch receipt's job id, or undefined if it is not one. */
export function parseMicroBatchJobId (jobId: string): { jobId: string, seq: number } | undefined {
  const m = /^(.*)\/mb\/(\d+)$/.exec(jobId)
  if (m == null) return undefined
  return { jobId: m[1] as string, seq: Number(m[2]) }
}

/** The job a receipt counts against: its job id without a `/mb/<seq>` or `/verify/<shard>/<attempt>` suffix. */
export function baseJobId (jobId: string): string {
  const mb = parseMicroBatchJobId(jobId)
  if (mb != null) return mb.jobId
  return parseVerificationJobId(jobId)?.jobId ?? jobId
}

/**
 * Credits per item of a micro-batch receipt, from its lease's terms: in
 * data-parallel a compute unit is one item, so the lease's price per unit;
 * a pipeline stage's lease covers `units` compute units over the job's
 * `jobItems` items, so `pricePerUnit × units / jobItems` (the lease's
 * price per unit when `jobItems` is 0, unknown). Worker and requester
 * compute it with this one function, so the signed price and the price the
 * requester expects are the same number.
 */
export function microBatchPricePerItem (lease: { units: number, pricePerUnit: number }, mode: 'data' | 'pipeline', jobItems: number): number {
  if (mode === 'data' || !(jobItems > 0)) return lease.pricePerUnit
  return lease.pricePerUnit * lease.units / jobItems
}
