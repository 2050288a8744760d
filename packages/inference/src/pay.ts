import { decodeReceipt, decodeShardReturn, microBatchJobId } from '@fleetmesh/ledger'
import { InferenceError } from './errors.js'
import type { InferenceService } from './inference.js'
import type { HeldReceipt, Verification } from './job.js'
import type { Ledger, RejectedShard, SettleResult, VerifiedReceipt } from '@fleetmesh/ledger'
import type { JobResult } from '@fleetmesh/market'

/**
 * Settling a job at its requester: a worker is paid for the micro-batches
 * whose outputs the requester accepted, and for the spot checks it ran
 * that agreed with them. Each such micro-batch receipt (job
 * `<jobId>/mb/<seq>`, see `microBatchJobId`) is checked against the lease
 * it came under and countersigned; that moves `items × price per item`
 * credits. So a lease that was lost or drained after delivering k
 * micro-batches is paid for exactly k, work re-run elsewhere because it
 * failed a check is paid nothing, and a straggler's late duplicate is
 * paid nothing (its output was not the one accepted).
 *
 * Lease receipts (what a completed lease's handler returned) are checked
 * but not countersigned: the micro-batch receipts already pay for that
 * work. A caught worker's lease receipt is rejected, and mismatch evidence
 * is reported against it.
 */

/** Why a micro-batch receipt does not match what the requester holds, or undefined if it does. */
function mismatchOf (r: VerifiedReceipt, h: HeldReceipt, jobId: string): string | undefined {
  if (r.worker !== h.worker) return `worker ${r.worker}, not ${h.worker}`
  if (r.jobId !== microBatchJobId(jobId, h.seq)) return `job ${r.jobId}, not ${microBatchJobId(jobId, h.seq)}`
  if (r.shardIndex !== h.stage || r.replica !== 0) return `shard ${r.shardIndex}/${r.replica}, not stage ${h.stage}`
  if (r.leaseId !== h.leaseId) return `lease ${r.leaseId}, not ${h.leaseId}`
  if (r.units !== h.items) return `units ${r.units}, not the micro-batch's ${h.items} items`
  if (r.pricePerUnit !== h.pricePerItem) return `price ${r.pricePerUnit} per item, not the lease's ${h.pricePerItem}`
  return undefined
}

/**
 * Countersigns the micro-batch receipts of a job (see the module docs).
 * A receipt that does not verify or does not match its lease is rejected
 * (shardIndex = its stage, replica 0), never paid.
 */
export async function payMicroBatches (ledger: Ledger, jobId: string, held: HeldReceipt[]): Promise<{ accepted: VerifiedReceipt[], rejected: RejectedShard[] }> {
  const accepted: VerifiedReceipt[] = []
  const rejected: RejectedShard[] = []
  const seen = new Set<string>()
  for (const h of [...held].sort((a, b) => a.seq - b.seq || a.stage - b.stage || (a.worker < b.worker ? -1 : 1))) {
    // one worker is paid once per micro-batch and stage
    const key = `${h.seq}/${h.stage}/${h.worker}`
    if (seen.has(key)) continue
    seen.add(key)
    try {
      const receipt = decodeReceipt(h.bytes)
      const info = await ledger.checkWorkerReceipt(receipt)
      const bad = mismatchOf(info, h, jobId)
      if (bad != null) throw new InferenceError(`micro-batch ${h.seq} receipt names ${bad}`)
      accepted.push(await ledger.countersign(receipt))
    } catch (err: any) {
      rejected.push({ shardIndex: h.stage, replica: 0, worker: h.worker, reason: `${err?.code ?? err?.name ?? 'ERR_INVALID'}: ${err?.message ?? err}` })
    }
  }
  return { accepted, rejected }
}

/**
 * Records in the ledger, before the job's outputs are served, the
 * micro-batch receipts {@link settle} will countersign (the accepted
 * outputs' and agreeing spot checks', none of a caught worker): a
 * requester killed from then on countersigns them when it restarts
 * (`Ledger.holdSettlement`).
 */
export async function holdJobSettlement (svc: InferenceService, jobId: string, v: Verification): Promise<void> {
  const ledger = svc.ledger
  if (ledger == null) return
  const receipts = []
  for (const h of v.accepted) {
    if (v.caught.has(h.worker)) continue
    try { receipts.push(decodeReceipt(h.bytes)) } catch {}
  }
  await ledger.holdSettlement(jobId, receipts)
}

/**
 * Settles a finished job in the ledger: pays the accepted micro-batches
 * ({@link payMicroBatches}), checks the lease receipts (a caught worker's
 * is rejected with why) and reports mismatch evidence.
 *
 * @throws InferenceError if this node runs no ledger
 */
export async function settle (svc: InferenceService, job: JobResult, v: Verification): Promise<SettleResult> {
  const ledger = svc.ledger
  if (ledger == null) throw new InferenceError('this node runs no ledger, so it cannot settle jobs')
  let paid: Awaited<ReturnType<typeof payMicroBatches>>
  try {
    paid = await payMicroBatches(ledger, job.jobId, v.accepted.filter(h => !v.caught.has(h.worker)))
    // every held receipt is now countersigned or refused: the durable record goes (a crash before this resumes it)
    await ledger.endSettlement(job.jobId)
  } finally {
    // what the job set aside and did not spend is free again
    ledger.release(job.jobId)
  }
  const res: SettleResult = { jobId: job.jobId, accepted: paid.accepted, rejected: paid.rejected, evidence: [], verified: [...v.checked].sort((a, b) => a - b), outputs: new Map() }
  for (const s of job.shards) {
    const caught = v.caught.get(s.worker)
    if (caught != null) {
      res.rejected.push({ shardIndex: s.shardIndex, replica: s.replica, worker: s.worker, reason: caught.reason })
      continue
    }
    try {
      const { receipt, output } = decodeShardReturn(s.result)
      const info = await ledger.checkWorkerReceipt(receipt)
      if (info.worker !== s.worker || info.jobId !== job.jobId || info.shardIndex !== s.shardIndex || info.replica !== s.replica) throw new InferenceError(`lease receipt names worker ${info.worker}, job ${info.jobId}, shard ${info.shardIndex}/${info.replica}: not the lease's`)
      res.outputs.set(s.shardIndex, output)
    } catch (err: any) {
      res.rejected.push({ shardIndex: s.shardIndex, replica: s.replica, worker: s.worker, reason: `${err?.code ?? err?.name ?? 'ERR_INVALID'}: ${err?.message ?? err}` })
    }
  }
  for (const m of v.mismatches) {
    try {
      res.evidence.push(await ledger.reportMismatch(decodeReceipt(m.accused), [decodeReceipt(m.witnesses[0]), decodeReceipt(m.witnesses[1])]))
    } catch (err: any) {
      // e.g. the witnesses' quantised digests straddle a rounding step: the rejection stands, the evidence would not verify
      svc.log('mismatch evidence for job %s not reported - %s', job.jobId, err?.message ?? err)
    }
  }
  return res
}
