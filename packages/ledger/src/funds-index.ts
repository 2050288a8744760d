import { MAX_FUNDS_WALKS, MICRO_PER_CREDIT } from './constants.js'
import { payingKey, receiptAmount } from './balances.js'
import { compareFundsEvents, fundsEvents, receiptEvent, stepFunds, walkFunds } from './funds.js'
import { baseJobId } from './micro-batch.js'
import type { Commitment, FundsEvent, FundsWalk } from './funds.js'
import type { VerifiedGrant } from './grant.js'
import type { VerifiedReceipt } from './receipt.js'

/**
 * The funding figures of a ledger's entry set, kept as entries arrive, so
 * that a funds check costs what the account's own new entries cost, not
 * the whole history.
 *
 * A worker checks an offer's requester's spendable balance on every offer,
 * and a requester checks its own on every countersignature; computed from
 * the whole set (the pure `fundsMicro` and `openCommitments`), each check
 * walked every receipt the node holds, so it grew with the ledger: at
 * ~10,000 receipts a check took tens of ms, and bench/adversary's honest
 * jobs slowed flood after flood (an offer's bid and each countersignature
 * waited on it).
 *
 * Here the paying receipts (one per paying key, smallest id: the rule of
 * `payingReceipts`) are indexed by the accounts they name and by job, and
 * the funding walk of each account set asked about (a device and its
 * owner) is kept: a receipt or grant that comes later in the walk's order
 * than the walk's last event is stepped in, and so is an earlier receipt
 * where the order does not change the figures (see `step`); anything else
 * (an old receipt from reconciliation across a grant's expiry, a paying
 * receipt replaced by one of smaller id) marks the walk for a full recount
 * at the next check. The walks kept
 * are bounded (MAX_FUNDS_WALKS, least recently asked first out). Every
 * figure equals the pure functions' on the same set (a property test holds
 * them to it).
 */
export class FundsIndex {
  /** paying key → the receipt that pays it */
  private readonly paying = new Map<string, VerifiedReceipt>()
  /** account → its paying receipts (as worker, requester or either's owner) */
  private readonly byAccount = new Map<string, Set<VerifiedReceipt>>()
  /** `<requester> <jobId>` → paying receipts of that exact job id */
  private readonly byJob = new Map<string, Set<VerifiedReceipt>>()
  /** `<requester> <base job id>` → paying receipts whose job id's base it is */
  private readonly byBaseJob = new Map<string, Set<VerifiedReceipt>>()
  /** account → its grants */
  private readonly grants = new Map<string, VerifiedGrant[]>()
  /** requester → the owner account its first receipt that named one names */
  private readonly owners = new Map<string, string>()
  /** the walks kept, by account set (`walkKey`), least recently asked first */
  private readonly walks = new Map<string, Walk>()
  /** account → the keys of the walks that include it */
  private readonly walksOf = new Map<string, Set<string>>()
  private readonly maxWalks: number

  /** @param maxWalks - account sets whose walk is kept @default MAX_FUNDS_WALKS */
  constructor (maxWalks: number = MAX_FUNDS_WALKS) {
    this.maxWalks = maxWalks
  }

  /** Walks kept now (at most `maxWalks`). */
  get walkCount (): number {
    return this.walks.size
  }

  /**
   * Takes a receipt of the set in (any receipt: only countersigned ones
   * pay). Returns what changed among the paying receipts: `paid` the
   * receipt if it now pays its key, `unpaid` the one it replaced there.
   */
  addReceipt (r: VerifiedReceipt): { paid?: VerifiedReceipt, unpaid?: VerifiedReceipt } {
    if (r.requesterOwner !== '' && !this.owners.has(r.requester)) this.owners.set(r.requester, r.requesterOwner)
    if (!r.countersigned) return {}
    const key = payingKey(r)
    const prev = this.paying.get(key)
    if (prev != null && prev.id <= r.id) return {}
    if (prev != null) {
      this.unindex(prev)
      // a receipt that paid is replaced: the walks that counted it start over
      for (const a of accountsOf(prev)) for (const k of this.walksOf.get(a) ?? []) (this.walks.get(k) as Walk).dirty = true
    }
    this.paying.set(key, r)
    for (const a of accountsOf(r)) add(this.byAccount, a, r)
    add(this.byJob, `${r.requester} ${r.jobId}`, r)
    add(this.byBaseJob, `${r.requester} ${baseJobId(r.jobId)}`, r)
    const stepped = new Set<string>()
    for (const a of accountsOf(r)) {
      for (const k of this.walksOf.get(a) ?? []) {
        if (stepped.has(k)) continue
        stepped.add(k)
        const w = this.walks.get(k) as Walk
        const e = receiptEvent(r, w.accounts)
        if (e != null) step(w, e)
      }
    }
    return { paid: r, unpaid: prev }
  }

  /** Takes a grant of the set in. */
  addGrant (g: VerifiedGrant): void {
    let list = this.grants.get(g.account)
    if (list == null) this.grants.set(g.account, list = [])
    list.push(g)
    for (const k of this.walksOf.get(g.account) ?? []) {
      const w = this.walks.get(k) as Walk
      // a grant issued after the walk's time is not in it yet: the walk starts over once that time comes
      if (g.issuedAt > w.at) w.nextGrantAt = Math.min(w.nextGrantAt, g.issuedAt)
      else step(w, { at: g.issuedAt, order: 0, id: g.id, micro: g.microCredits, expiresAt: g.expiresAt })
    }
  }

  /** The owner account named by the first receipt of `requester` that names one; '' if none. */
  ownerOf (requester: string): string {
    return this.owners.get(requester) ?? ''
  }

  /**
   * Micro-credits `accounts` (a device and its owner; '' entries are
   * ignored) may spend at `now` (ms since the epoch), before commitments:
   * the pure `fundsMicro` of the set.
   */
  fundsMicro (accounts: string[], now: number): number {
    const set = new Set(accounts.filter(a => a !== ''))
    const key = [...set].sort().join('\n')
    let w = this.walks.get(key)
    if (w != null) {
      this.walks.delete(key)
      this.walks.set(key, w)
    }
    if (w == null || w.dirty || now >= w.nextGrantAt || now < w.at) w = this.recount(key, set, now)
    return walkFunds(w.walk, now)
  }

  /**
   * Micro-credits still set aside for `commitments`: each one's maxCost less
   * what its job already paid, at least 0 (the pure `openCommitments` of
   * the set: a receipt draws on the commitment of its own job id when there
   * is one, else on that of its base job).
   */
  openCommitments (commitments: Iterable<Commitment>): number {
    const open = new Map<string, Commitment>()
    for (const c of commitments) open.set(`${c.requester} ${c.jobId}`, c)
    let micro = 0
    for (const [key, c] of open) {
      let spent = 0
      for (const r of this.byJob.get(key) ?? []) spent += receiptAmount(r)
      for (const r of this.byBaseJob.get(key) ?? []) if (r.jobId !== c.jobId && !open.has(`${r.requester} ${r.jobId}`)) spent += receiptAmount(r)
      micro += Math.max(0, Math.round(c.maxCost * MICRO_PER_CREDIT) - spent)
    }
    return micro
  }

  /** Walks `set`'s funding from the start at `now` and keeps the walk (evicting the least recently asked past maxWalks). */
  private recount (key: string, set: Set<string>, now: number): Walk {
    const receipts = new Set<VerifiedReceipt>()
    const grants: VerifiedGrant[] = []
    let nextGrantAt = Infinity
    for (const a of set) {
      for (const r of this.byAccount.get(a) ?? []) receipts.add(r)
      for (const g of this.grants.get(a) ?? []) {
        grants.push(g)
        if (g.issuedAt > now) nextGrantAt = Math.min(nextGrantAt, g.issuedAt)
      }
    }
    const w: Walk = { accounts: set, walk: { buckets: [], free: 0 }, dirty: false, at: now, nextGrantAt, lapsedAt: -Infinity }
    for (const e of fundsEvents(receipts, grants, set, now)) step(w, e)
    this.forget(key)
    this.walks.set(key, w)
    for (const a of set) add(this.walksOf, a, key)
    while (this.walks.size > this.maxWalks) this.forget(this.walks.keys().next().value as string)
    return w
  }

  private forget (key: string): void {
    const w = this.walks.get(key)
    if (w == null) return
    this.walks.delete(key)
    for (const a of w.accounts) {
      const keys = this.walksOf.get(a)
      keys?.delete(key)
      if (keys?.size === 0) this.walksOf.delete(a)
    }
  }

  private unindex (r: VerifiedReceipt): void {
    for (const a of accountsOf(r)) remove(this.byAccount, a, r)
    remove(this.byJob, `${r.requester} ${r.jobId}`, r)
    remove(this.byBaseJob, `${r.requester} ${baseJobId(r.jobId)}`, r)
  }
}

/** One account set's funding walk. */
interface Walk {
  accounts: ReadonlySet<string>
  walk: FundsWalk
  /** the last event taken, in walk order */
  last?: FundsEvent
  /** the last grant taken */
  lastGrant?: FundsEvent
  /** the latest expiry of a grant that lapsed with credits left (-Infinity if none): an earlier payment would have drawn on it */
  lapsedAt: number
  /** an event came before `last`, or a counted receipt was replaced: recount at the next check */
  dirty: boolean
  /** the time the walk was counted at: grants issued after it are not in it */
  at: number
  /** the earliest issue time of a grant not in the walk yet (Infinity if none) */
  nextGrantAt: number
}

/**
 * Steps `e` into `w`. An event that comes after the walk's last one is
 * stepped in. An earning or payment that comes earlier is stepped in too
 * when no grant opened and no grant lapsed with credits left since its
 * time: over such a stretch earnings and payments commute (earnings only
 * add to the free balance; payments draw on the same buckets in the same
 * expiry order, whatever their order, and the same total overflows to the
 * free balance) — the common case of two workers' receipts of one job
 * arriving out of their finish order. Anything else marks the walk for a
 * recount.
 */
function step (w: Walk, e: FundsEvent): void {
  if (w.dirty) return
  if (w.last != null && compareFundsEvents(w.last, e) >= 0) {
    const commutes = e.order !== 0 && e.at >= w.lapsedAt && (w.lastGrant == null || compareFundsEvents(w.lastGrant, e) < 0)
    if (!commutes) {
      w.dirty = true
      return
    }
    stepFunds(w.walk, e)
    return
  }
  for (const b of w.walk.buckets) if (b.expiresAt <= e.at && b.left > 0) w.lapsedAt = Math.max(w.lapsedAt, b.expiresAt)
  if (e.order === 0) w.lastGrant = e
  stepFunds(w.walk, e)
  w.last = e
}

function accountsOf (r: VerifiedReceipt): string[] {
  return [r.worker, r.requester, r.workerOwner, r.requesterOwner].filter(a => a !== '')
}

function add<T> (map: Map<string, Set<T>>, key: string, value: T): void {
  let s = map.get(key)
  if (s == null) map.set(key, s = new Set())
  s.add(value)
}

function remove<T> (map: Map<string, Set<T>>, key: string, value: T): void {
  const s = map.get(key)
  s?.delete(value)
  if (s?.size === 0) map.delete(key)
}
