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
