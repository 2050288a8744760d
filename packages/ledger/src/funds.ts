import { MICRO_PER_CREDIT } from './constants.js'
import { payingReceipts, receiptAmount } from './balances.js'
import { baseJobId } from './micro-batch.js'
import type { VerifiedEntry } from './entry.js'
import type { VerifiedGrant } from './grant.js'
import type { VerifiedReceipt } from './receipt.js'

/**
 * Funding (pure): what an account may still spend.
 *
 * `spendable = unspent grants that have not expired + earned − spent −
 * open commitments`, in credits, derived from the entry set in time
 * order: each payment (a countersigned receipt, at its finish time) draws
 * first on the account's grants that expire soonest, then on its
 * earnings; a grant's credits that are still unspent at its expiry
 * lapse. Earnings never lapse. Two nodes with the same set and the same
 * `now` compute the same number.
 *
 * An account is a PeerId string or an owner account. A device whose
 * certificate names an owner spends from the owner's account: pass both
 * (`[peerId, owner]`); a receipt that names either counts once.
 */

/** An open job of a requester: up to `maxCost` credits are set aside for it until it settles. */
export interface Commitment {
  jobId: string
  /** requester PeerId string */
  requester: string
  /** credits */
  maxCost: number
}

/**
 * What is still set aside for each commitment: maxCost − what the job already paid, at least 0 (micro-credits).
 * A receipt draws on the commitment of its own job id when there is one (a verification re-run the
 * market committed for), else on that of its base job (`baseJobId`: the job a micro-batch receipt
 * `<jobId>/mb/<seq>` or a re-run `<jobId>/verify/…` belongs to).
 */
export function openCommitments (paying: VerifiedReceipt[], commitments: Iterable<Commitment>): number {
  const open = new Map<string, { maxMicro: number, spent: number }>()
  for (const c of commitments) open.set(`${c.requester} ${c.jobId}`, { maxMicro: Math.round(c.maxCost * MICRO_PER_CREDIT), spent: 0 })
  if (open.size === 0) return 0
  for (const r of paying) {
    const own = open.get(`${r.requester} ${r.jobId}`)
    const c = own ?? open.get(`${r.requester} ${baseJobId(r.jobId)}`)
    if (c != null) c.spent += receiptAmount(r)
  }
  let micro = 0
  for (const c of open.values()) micro += Math.max(0, c.maxMicro - c.spent)
  return micro
}

/**
 * Micro-credits an account (or a device and its owner) may spend at `now`,
 * before commitments. Pure.
 */
export function fundsMicro (receipts: Iterable<VerifiedReceipt>, grants: Iterable<VerifiedGrant>, account: string | string[], now: number): number {
  const accounts = new Set(typeof account === 'string' ? [account] : account.filter(a => a !== ''))
  const events: Array<{ at: number, order: number, id: string, micro: number, expiresAt?: number }> = []
  for (const g of grants) if (accounts.has(g.account) && g.issuedAt <= now) events.push({ at: g.issuedAt, order: 0, id: g.id, micro: g.microCredits, expiresAt: g.expiresAt })
  for (const r of payingReceipts(receipts)) {
    const amount = receiptAmount(r)
    const earns = accounts.has(r.worker) || accounts.has(r.workerOwner)
    const pays = accounts.has(r.requester) || accounts.has(r.requesterOwner)
    if (earns && !pays) events.push({ at: r.finishedAt, order: 1, id: r.id, micro: amount })
    if (pays && !earns) events.push({ at: r.finishedAt, order: 2, id: r.id, micro: -amount })
  }
  events.sort((a, b) => a.at - b.at || a.order - b.order || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  // active grants, soonest expiry first
  let buckets: Array<{ left: number, expiresAt: number }> = []
  let free = 0
  const lapse = (t: number): void => { buckets = buckets.filter(b => b.expiresAt > t && b.left > 0) }
  for (const e of events) {
    lapse(e.at)
    if (e.expiresAt != null) {
      buckets.push({ left: e.micro, expiresAt: e.expiresAt })
      buckets.sort((a, b) => a.expiresAt - b.expiresAt)
    } else if (e.micro >= 0) {
      free += e.micro
    } else {
      let owed = -e.micro
      for (const b of buckets) {
        const take = Math.min(b.left, owed)
        b.left -= take
        owed -= take
        if (owed === 0) break
      }
      free -= owed
    }
  }
  lapse(now)
  return buckets.reduce((n, b) => n + b.left, free)
}

/**
 * Credits `account` may spend at `now`: unexpired unspent grants + earned −
 * spent − what `commitments` still set aside (see the module docs).
 *
 * @param entries - verified ledger entries (receipts and grants are read)
 * @param account - a PeerId string or owner account, or a device and its owner
 * @param now - ms since the epoch
 * @param commitments - the account's open jobs
 */
export function spendable (entries: Iterable<VerifiedEntry>, account: string | string[], now: number, commitments: Iterable<Commitment> = []): number {
  const receipts: VerifiedReceipt[] = []
  const grants: VerifiedGrant[] = []
  for (const e of entries) {
    if (e.kind === 'receipt') receipts.push(e.receipt)
    else if (e.kind === 'grant') grants.push(e.grant)
  }
  const paying = payingReceipts(receipts)
  return (fundsMicro(paying, grants, account, now) - openCommitments(paying, commitments)) / MICRO_PER_CREDIT
}
