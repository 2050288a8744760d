import { MICRO_PER_CREDIT, MISMATCH_WEIGHT } from './constants.js'
import { baseJobId, parseMicroBatchJobId } from './micro-batch.js'
import { slotKey } from './receipt.js'
import type { VerifiedEvidence } from './evidence.js'
import type { VerifiedReceipt } from './receipt.js'

/**
 * Balances, earnings and reputation are pure functions of a set of
 * verified ledger entries: two nodes holding the same set compute the same
 * numbers, whatever order they learnt the entries in. Amounts are summed
 * as integers of micro-credits (1e-6 credit), so the sum is exact and
 * order-free; a receipt moves `round(units × pricePerUnit × 1e6)`
 * micro-credits from its requester to its worker.
 *
 * Only countersigned receipts count. If one (requester, job, shard,
 * replica) has several countersigned receipts, only the one with the
 * smallest id moves credits (a requester cannot pay a slot twice by
 * mistake, and every node picks the same one). A micro-batch receipt
 * (job `<jobId>/mb/<seq>`, see `microBatchJobId`) is keyed by its slot and
 * its worker: the worker whose output was accepted and the one whose spot
 * check agreed with it are each paid once.
 */

/** Credits of one account. */
export interface Balance {
  /** PeerId string or owner account */
  account: string
  /** net credits (earned − spent) */
  credits: number
  /** credits earned as a worker */
  earned: number
  /** credits spent as a requester */
  spent: number
  /** countersigned receipts as worker */
  receiptsAsWorker: number
  /** countersigned receipts as requester */
  receiptsAsRequester: number
}

/** The balance sheet of a receipt set. */
export interface Balances {
  /** by PeerId string */
  peers: Record<string, Balance>
  /** by vehicle owner account (from the certificates in the receipts) */
  owners: Record<string, Balance>
  /** countersigned receipts counted */
  receipts: number
}

/** One worker's earnings on one UTC day. */
export interface EarningsDay {
  /** UTC day, YYYY-MM-DD, of the receipts' finish time */
  day: string
  /** distinct jobs */
  jobs: number
  /** shards (receipts) */
  shards: number
  computeUnits: number
  /** ms */
  computeMs: number
  credits: number
}

/** Earnings report of one worker. */
export interface EarningsReport {
  worker: string
  days: EarningsDay[]
  total: Omit<EarningsDay, 'day'>
}

/** Reputation of a worker and where it comes from. */
export interface ReputationReport {
  peer: string
  /** 0..1 */
  reputation: number
  /** jobs (per requester) the worker was paid for: countersigned receipts as worker, counted once per job */
  good: number
  /** distinct proven output mismatches */
  mismatches: number
  /** true if the worker signed two different receipts for one shard */
  equivocated: boolean
}

/** Micro-credits a receipt moves. */
export function receiptAmount (r: Pick<VerifiedReceipt, 'units' | 'pricePerUnit'>): number {
  return Math.round(r.units * r.pricePerUnit * MICRO_PER_CREDIT)
}

/** The key under which a receipt pays at most once: its slot, and for a micro-batch receipt also its worker. */
export function payingKey (r: Pick<VerifiedReceipt, 'requester' | 'jobId' | 'shardIndex' | 'replica' | 'worker'>): string {
  return parseMicroBatchJobId(r.jobId) != null ? `${slotKey(r)}/${r.worker}` : slotKey(r)
}

/**
 * The receipts that move credits: countersigned, one per paying key
 * ({@link payingKey}: slot, or slot and worker for micro-batch receipts;
 * smallest id), sorted by id.
 */
export function payingReceipts (receipts: Iterable<VerifiedReceipt>): VerifiedReceipt[] {
  const bySlot = new Map<string, VerifiedReceipt>()
  for (const r of receipts) {
    if (!r.countersigned) continue
    const k = payingKey(r)
    const prev = bySlot.get(k)
    if (prev == null || r.id < prev.id) bySlot.set(k, r)
  }
  return [...bySlot.values()].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

function account (map: Record<string, { micro: number, earned: number, spent: number, w: number, r: number }>, key: string): { micro: number, earned: number, spent: number, w: number, r: number } {
  let a = map[key]
  if (a == null) { a = { micro: 0, earned: 0, spent: 0, w: 0, r: 0 }; map[key] = a }
  return a
}

function toBalances (map: Record<string, { micro: number, earned: number, spent: number, w: number, r: number }>): Record<string, Balance> {
  const out: Record<string, Balance> = {}
  for (const key of Object.keys(map).sort()) {
    const a = map[key] as { micro: number, earned: number, spent: number, w: number, r: number }
    out[key] = { account: key, credits: a.micro / MICRO_PER_CREDIT, earned: a.earned / MICRO_PER_CREDIT, spent: a.spent / MICRO_PER_CREDIT, receiptsAsWorker: a.w, receiptsAsRequester: a.r }
  }
  return out
}

/**
 * Credits per PeerId and per owner account. Workers earn, requesters pay;
 * a worker certificate's `owner` (vehicles) earns the same amount, a
 * requester certificate's `owner` pays it.
 */
export function computeBalances (receipts: Iterable<VerifiedReceipt>): Balances {
  const peers: Record<string, { micro: number, earned: number, spent: number, w: number, r: number }> = {}
  const owners: Record<string, { micro: number, earned: number, spent: number, w: number, r: number }> = {}
  const paying = payingReceipts(receipts)
  for (const r of paying) {
    const amount = receiptAmount(r)
    const w = account(peers, r.worker)
    w.micro += amount; w.earned += amount; w.w++
    const q = account(peers, r.requester)
    q.micro -= amount; q.spent += amount; q.r++
    if (r.workerOwner !== '') { const o = account(owners, r.workerOwner); o.micro += amount; o.earned += amount; o.w++ }
    if (r.requesterOwner !== '') { const o = account(owners, r.requesterOwner); o.micro -= amount; o.spent += amount; o.r++ }
  }
  return { peers: toBalances(peers), owners: toBalances(owners), receipts: paying.length }
}

/** Earnings of `worker` per UTC day of the receipts' finish time, oldest first. */
export function computeEarnings (receipts: Iterable<VerifiedReceipt>, worker: string): EarningsReport {
  const days = new Map<string, { jobs: Set<string>, shards: number, units: number, ms: number, micro: number }>()
  const allJobs = new Set<string>()
  let shards = 0; let units = 0; let ms = 0; let micro = 0
  for (const r of payingReceipts(receipts)) {
    if (r.worker !== worker) continue
    const day = new Date(r.finishedAt).toISOString().slice(0, 10)
    let d = days.get(day)
    if (d == null) { d = { jobs: new Set(), shards: 0, units: 0, ms: 0, micro: 0 }; days.set(day, d) }
    const amount = receiptAmount(r)
    d.jobs.add(`${r.requester}/${r.jobId}`); d.shards++; d.units += r.units; d.ms += r.computeMs; d.micro += amount
    allJobs.add(`${r.requester}/${r.jobId}`); shards++; units += r.units; ms += r.computeMs; micro += amount
  }
  return {
    worker,
    days: [...days.entries()].sort(([a], [b]) => a < b ? -1 : 1).map(([day, d]) => ({ day, jobs: d.jobs.size, shards: d.shards, computeUnits: d.units, computeMs: d.ms, credits: d.micro / MICRO_PER_CREDIT })),
    total: { jobs: allJobs.size, shards, computeUnits: units, computeMs: ms, credits: micro / MICRO_PER_CREDIT }
  }
}

/** Options of {@link computeReputation}. */
export interface ReputationOptions {
  /** weight of one mismatch against one countersigned receipt @default MISMATCH_WEIGHT (10) */
  mismatchWeight?: number
}

/**
 * Reputation of every worker named in the set, 0..1:
 *
 * `reputation = 0` if the worker equivocated (signed two different
 * receipts for one shard — found in evidence or among the receipts
 * themselves), else `(good + 1) / (good + 1 + mismatchWeight × mismatches)`
 * where `good` counts the jobs it was paid for (distinct requester and
 * job among its paying receipts; a job's micro-batch receipts and re-runs
 * count as that job, `baseJobId`, so a job weighs the same however finely
 * it was paid) and `mismatches` the distinct receipts of it that mismatch
 * evidence proves wrong.
 *
 * A new worker has 1 (no evidence against it); one proven mismatch
 * weighs as much as `mismatchWeight` good receipts, so a worker caught
 * once after 5 good receipts has 6/16 = 0.375. Known limit: good receipts
 * from colluding requesters inflate `good`; the fleet authority's
 * certificates bound how many identities a cheater controls.
 */
export function computeReputation (receipts: Iterable<VerifiedReceipt>, evidence: Iterable<VerifiedEvidence>, options: ReputationOptions = {}): Map<string, ReputationReport> {
  const weight = options.mismatchWeight ?? MISMATCH_WEIGHT
  const out = new Map<string, ReputationReport>()
  const get = (peer: string): ReputationReport => {
    let r = out.get(peer)
    if (r == null) { r = { peer, reputation: 1, good: 0, mismatches: 0, equivocated: false }; out.set(peer, r) }
    return r
  }
  const all = [...receipts]
  const paidJobs = new Set<string>()
  for (const r of payingReceipts(all)) {
    const job = `${r.worker}|${r.requester}/${baseJobId(r.jobId)}`
    if (paidJobs.has(job)) continue
    paidJobs.add(job)
    get(r.worker).good++
  }
  // equivocation among countersigned receipts: one worker, one slot, two bodies
  const seen = new Map<string, string>()
  for (const r of all) {
    const k = `${r.worker}|${slotKey(r)}`
    const prev = seen.get(k)
    if (prev != null && prev !== r.id) get(r.worker).equivocated = true
    seen.set(k, r.id)
  }
  const mismatched = new Map<string, Set<string>>()
  for (const e of evidence) {
    if (e.kind === 'equivocation') { get(e.accused).equivocated = true; continue }
    let s = mismatched.get(e.accused)
    if (s == null) { s = new Set(); mismatched.set(e.accused, s) }
    s.add(e.accusedReceipt)
  }
  for (const [peer, s] of mismatched) get(peer).mismatches = s.size
  for (const r of out.values()) {
    r.reputation = r.equivocated ? 0 : (r.good + 1) / (r.good + 1 + weight * r.mismatches)
  }
  return out
}
