import { decodeShardReturn } from '@fleetmesh/ledger'
import type { Ledger, VerifiedReceipt } from '@fleetmesh/ledger'
import type { JobResult } from '@fleetmesh/market'
import type { Logger } from '@libp2p/interface'

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
 * worker ran (units, replays included). A receipt is countersigned when it
 * names this session, the lease's stage, worker, lease id and price, and
 * counts at most the steps the requester sent to that lease (`sent`); a
 * lease that ran no step returns no receipt and is skipped.
 */
export async function settleSession (ledger: Ledger, job: JobResult, sent: ReadonlyMap<string, number>, log: Logger): Promise<SessionSettlement> {
  const out: SessionSettlement = { accepted: [], rejected: [] }
  for (const s of job.shards) {
    let decoded: ReturnType<typeof decodeShardReturn>
    try {
      decoded = decodeShardReturn(s.result)
      if (decoded.receipt == null) throw new Error('no receipt')
    } catch {
      // a lease that ran no step returns its JSON summary only
      continue
    }
    const reject = (reason: string): void => { out.rejected.push({ leaseId: s.leaseId, worker: s.worker, reason }) }
    try {
      const info = await ledger.checkWorkerReceipt(decoded.receipt)
      const most = sent.get(s.leaseId) ?? 0
      if (info.worker !== s.worker) { reject(`receipt names worker ${info.worker}`); continue }
      if (info.jobId !== job.jobId || info.shardIndex !== s.shardIndex || info.replica !== s.replica) { reject(`receipt names job ${info.jobId} stage ${info.shardIndex}/${info.replica}`); continue }
      if (info.leaseId !== s.leaseId) { reject(`receipt names lease ${info.leaseId}`); continue }
      if (info.pricePerUnit !== s.pricePerUnit) { reject(`receipt price ${info.pricePerUnit}, the lease's is ${s.pricePerUnit}`); continue }
      if (info.units > most) { reject(`receipt counts ${info.units} steps, ${most} were sent to the lease`); continue }
      out.accepted.push(await ledger.countersign(decoded.receipt))
    } catch (err: any) {
      reject(`${err?.code ?? 'ERR_INVALID'}: ${err?.message ?? err}`)
    }
  }
  for (const r of out.rejected) log('session %s: receipt of lease %s (%s) rejected - %s', job.jobId, r.leaseId, r.worker, r.reason)
  return out
}
