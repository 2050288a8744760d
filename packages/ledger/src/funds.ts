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

/** One event of an account's funding walk, micro-credits: a grant (order 0, with its expiry), an earning (1) or a payment (2). */
export interface FundsEvent {
  /** ms since the epoch: a grant's issue time, a receipt's finish time */
  at: number
  order: 0 | 1 | 2
  /** the grant's or receipt's id */
  id: string
  /** credits in (grant, earning) or out (payment, negative), micro-credits */
  micro: number
  /** a grant's expiry, ms since the epoch */
  expiresAt?: number
}

/** Where a funding walk stands: the active grants (soonest expiry first) with what is left of each, and the free (earned) balance, micro-credits. */
export interface FundsWalk {
  buckets: Array<{ left: number, expiresAt: number }>
  free: number
}

/** The walk's order: time, then grants before earnings before payments, then id. */
export function compareFundsEvents (a: FundsEvent, b: FundsEvent): number {
  return a.at - b.at || a.order - b.order || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/**
 * The funding events of `accounts` (a device and its owner count as one):
 * its grants issued by `now`, and its earnings and payments among the
 * paying receipts `paying` (a receipt both paid and earned by them moves
 * nothing), in walk order.
 */
export function fundsEvents (paying: Iterable<VerifiedReceipt>, grants: Iterable<VerifiedGrant>, accounts: ReadonlySet<string>, now: number): FundsEvent[] {
  const events: FundsEvent[] = []
  for (const g of grants) if (accounts.has(g.account) && g.issuedAt <= now) events.push({ at: g.issuedAt, order: 0, id: g.id, micro: g.microCredits, expiresAt: g.expiresAt })
  for (const r of paying) {
    const e = receiptEvent(r, accounts)
    if (e != null) events.push(e)
  }
  return events.sort(compareFundsEvents)
}

/** A paying receipt's event for `accounts`: an earning, a payment, or none (it names them on both sides, or not at all). */
export function receiptEvent (r: VerifiedReceipt, accounts: ReadonlySet<string>): FundsEvent | undefined {
  const earns = accounts.has(r.worker) || accounts.has(r.workerOwner)
  const pays = accounts.has(r.requester) || accounts.has(r.requesterOwner)
  if (earns && !pays) return { at: r.finishedAt, order: 1, id: r.id, micro: receiptAmount(r) }
  if (pays && !earns) return { at: r.finishedAt, order: 2, id: r.id, micro: -receiptAmount(r) }
  return undefined
}

/**
 * Takes the next event (in walk order) into `walk`: grants expired by its
 * time lapse first; a grant opens a bucket, an earning adds to the free
 * balance, a payment draws on the buckets that expire soonest, then on the
 * free balance (which may go negative).
 */
export function stepFunds (walk: FundsWalk, e: FundsEvent): void {
  walk.buckets = walk.buckets.filter(b => b.expiresAt > e.at && b.left > 0)
  if (e.expiresAt != null) {
    walk.buckets.push({ left: e.micro, expiresAt: e.expiresAt })
    walk.buckets.sort((a, b) => a.expiresAt - b.expiresAt)
  } else if (e.micro >= 0) {
    walk.free += e.micro
  } else {
    let owed = -e.micro
    for (const b of walk.buckets) {
      const take = Math.min(b.left, owed)
      b.left -= take
      owed -= take
      if (owed === 0) break
    }
    walk.free -= owed
  }
}

/** What `walk` leaves to spend at `now`: the grants not expired by then, plus the free balance, micro-credits. */
export function walkFunds (walk: FundsWalk, now: number): number {
  let micro = walk.free
  for (const b of walk.buckets) if (b.expiresAt > now && b.left > 0) micro += b.left
  return micro
}

/**
 * Micro-credits an account (or a device and its owner) may spend at `now`,
 * before commitments. Pure.
 */
export function fundsMicro (receipts: Iterable<VerifiedReceipt>, grants: Iterable<VerifiedGrant>, account: string | string[], now: number): number {
  const accounts = new Set(typeof account === 'string' ? [account] : account.filter(a => a !== ''))
  const walk: FundsWalk = { buckets: [], free: 0 }
  for (const e of fundsEvents(payingReceipts(receipts), grants, accounts, now)) stepFunds(walk, e)
  return walkFunds(walk, now)
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
