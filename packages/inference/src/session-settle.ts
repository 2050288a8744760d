import { decodeReceipt, decodeShardReturn } from '@fleetmesh/ledger'
import type { Ledger, VerifiedReceipt } from '@fleetmesh/ledger'
import type { JobResult } from '@fleetmesh/market'
import type { PbReceipt } from '@fleetmesh/protocol'
import type { Logger } from '@libp2p/interface'

/** A receipt a stage's worker sent with the error that ended its lease (released after a recoverable error, drained, freed when idle). */
export interface HandedBackReceipt {
  leaseId: string
  /** worker PeerId string */
  worker: string
  stage: number
  /** credits per step the lease was awarded at (unknown: the receipt is refused) */
  pricePerUnit?: number
  /** an encoded Receipt */
  receipt: Uint8Array
}

/** What settling a session did. */
export interface SessionSettlement {
  /** receipts countersigned (durable, then gossiped) */
  accepted: VerifiedReceipt[]
  /** leases whose return carried no acceptable receipt, with why */
  rejected: Array<{ leaseId: string, worker: string, reason: string }>
}

/**
 * Settles a closed session in the ledger: each stage lease that finished
 * returns a ShardReturn whose worker-signed receipt counts the steps that
 * worker ran (units, replays included); a lease that ended without
 * finishing (released after a recoverable error, drained, freed when idle)
 * is paid by the receipt its worker sent with the error that ended it
 * (`handedBack`; one receipt per lease: a lease that also finished is paid
 * by its return). A receipt is countersigned when it names this session,
 * the lease's stage, worker, lease id and price, and counts at most the
 * steps the requester sent to that lease (`sent`); a lease that ran no
 * step returns no receipt and is skipped.
 */
export async function settleSession (ledger: Ledger, job: Pick<JobResult, 'jobId' | 'shards'>, sent: ReadonlyMap<string, number>, handedBack: readonly HandedBackReceipt[], log: Logger): Promise<SessionSettlement> {
  const out: SessionSettlement = { accepted: [], rejected: [] }
  const finished = new Set(job.shards.map(s => s.leaseId))
  const leases: Array<{ leaseId: string, worker: string, shardIndex: number, replica: number, pricePerUnit?: number, receipt: () => PbReceipt | undefined }> = [
    ...job.shards.map(s => ({ ...s, receipt: () => decodeShardReturn(s.result).receipt })),
    ...handedBack.filter(h => !finished.has(h.leaseId)).map(h => ({ leaseId: h.leaseId, worker: h.worker, shardIndex: h.stage, replica: 0, pricePerUnit: h.pricePerUnit, receipt: () => decodeReceipt(h.receipt) }))
  ]
  for (const s of leases) {
    let receipt: PbReceipt | undefined
    try {
      receipt = s.receipt()
      if (receipt == null) throw new Error('no receipt')
    } catch {
      // a lease that ran no step returns its JSON summary only
      continue
    }
    const reject = (reason: string): void => { out.rejected.push({ leaseId: s.leaseId, worker: s.worker, reason }) }
    try {
      const info = await ledger.checkWorkerReceipt(receipt)
      const most = sent.get(s.leaseId) ?? 0
      if (info.worker !== s.worker) { reject(`receipt names worker ${info.worker}`); continue }
      if (info.jobId !== job.jobId || info.shardIndex !== s.shardIndex || info.replica !== s.replica) { reject(`receipt names job ${info.jobId} stage ${info.shardIndex}/${info.replica}`); continue }
      if (info.leaseId !== s.leaseId) { reject(`receipt names lease ${info.leaseId}`); continue }
      if (info.pricePerUnit !== s.pricePerUnit) { reject(`receipt price ${info.pricePerUnit}, the lease's is ${s.pricePerUnit}`); continue }
      if (info.units > most) { reject(`receipt counts ${info.units} steps, ${most} were sent to the lease`); continue }
      out.accepted.push(await ledger.countersign(receipt))
    } catch (err: any) {
      reject(`${err?.code ?? 'ERR_INVALID'}: ${err?.message ?? err}`)
    }
  }
  for (const r of out.rejected) log('session %s: receipt of lease %s (%s) rejected - %s', job.jobId, r.leaseId, r.worker, r.reason)
  return out
}
