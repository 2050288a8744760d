import { maxJobCost } from './policy.js'
import type { MarketContext } from './context.js'
import type { Job } from './job.js'

/**
 * A requester's funds for its jobs, through the ledger component
 * (`MarketLedger.commit` / `release`): a job's maximum cost is set aside
 * before its first award, and freed when the job fails or is cancelled. A
 * completed job's commitment ends at its settlement (the ledger's
 * `settleJob` releases it): its receipts draw on it until then.
 */

/**
 * Sets `job`'s maximum cost ({@link maxJobCost}) aside, once.
 *
 * @returns undefined when the job may award (also on a node whose ledger has no `commit`), or the ledger's error (InsufficientFundsError)
 */
export function commitJobFunds (ctx: MarketContext, job: Job): Error | undefined {
  if (job.committed) return undefined
  const ledger = ctx.ledger()
  if (ledger?.commit == null) return undefined
  try {
    ledger.commit(job.id, maxJobCost({ shardUnits: job.terms.shardUnits, maxPricePerUnit: job.terms.maxPricePerUnit, redundancy: job.redundancy }))
    job.committed = true
    return undefined
  } catch (err: any) {
    return err instanceof Error ? err : new Error(String(err))
  }
}

/** Frees what `job` set aside (a failed or cancelled job); nothing if it set nothing aside. */
export function releaseJobFunds (ctx: MarketContext, job: Job): void {
  if (!job.committed) return
  job.committed = false
  ctx.ledger()?.release?.(job.id)
}
