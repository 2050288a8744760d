import { MISMATCH_WEIGHT } from './constants.js'
import { baseJobId, parseMicroBatchJobId } from './micro-batch.js'
import { slotKey } from './receipt.js'
import { parseVerificationJobId } from './settle.js'
import type { ReputationReport } from './balances.js'
import type { VerifiedEvidence } from './evidence.js'
import type { VerifiedReceipt } from './receipt.js'
import type { CheckEvent, VerificationRecord } from './verification.js'

/**
 * Reputation and verification records of a ledger's entry set, kept as
 * entries arrive (the pure `computeReputation` and `verificationRecords`
 * of the set, which a property test holds them to).
 *
 * A requester reads a bidder's reputation on every bid and a worker's
 * verification rate on every result it accepts; derived from the whole set
 * after each new entry, each read after a receipt walked every receipt the
 * node holds (bench/adversary's requester: 9 of its 63 s of CPU, growing
 * with the ledger). Here each receipt updates the counts it changes:
 *
 * - reputation: the paid jobs per worker (a paying receipt's worker,
 *   requester and base job; told by the funds index which receipts pay),
 *   a worker's slots seen with two different receipts (equivocation), and
 *   the evidence against it;
 * - verification: the check events a receipt proves with those it meets
 *   in its slot (a micro-batch's spot check, a re-run of a shard), kept per
 *   worker in order and folded into the worker's record; an event that
 *   sorts before the worker's last one refolds that worker's events.
 */
export class RecordIndex {
  private readonly mismatchWeight: number
  /** `<worker>|<requester>/<base job>` → paying receipts of that job */
  private readonly paidJobs = new Map<string, number>()
  /** worker → distinct paid jobs */
  private readonly good = new Map<string, number>()
  /** `<worker>|<slot>` → the first receipt id seen there */
  private readonly slotIds = new Map<string, string>()
  private readonly equivocators = new Set<string>()
  /** worker → ids of its receipts that mismatch evidence proves wrong */
  private readonly mismatched = new Map<string, Set<string>>()
  /** `<requester>/<jobId>/<shard>` → countersigned receipts that are not re-runs */
  private readonly bySlot = new Map<string, VerifiedReceipt[]>()
  /** `<requester>/<base job>/<shard>` → countersigned re-run receipts */
  private readonly reruns = new Map<string, VerifiedReceipt[]>()
  /** keys of the check events found so far */
  private readonly seen = new Set<string>()
  /** worker → its check events in order, and its record folded from them (undefined: to refold) */
  private readonly checks = new Map<string, { events: CheckEvent[], record?: VerificationRecord, wrong: Set<string> }>()

  /** @param mismatchWeight - weight of one mismatch against one paid job @default MISMATCH_WEIGHT (10) */
  constructor (mismatchWeight: number = MISMATCH_WEIGHT) {
    this.mismatchWeight = mismatchWeight
  }

  /** Takes a receipt of the set in (any receipt; `paid` and `unpaid` say which receipts pay). */
  addReceipt (r: VerifiedReceipt): void {
    const slot = `${r.worker}|${slotKey(r)}`
    const first = this.slotIds.get(slot)
    if (first == null) this.slotIds.set(slot, r.id)
    else if (first !== r.id) this.equivocators.add(r.worker)
    if (!r.countersigned) return
    const v = parseVerificationJobId(r.jobId)
    if (v != null) {
      const key = `${r.requester}/${v.jobId}/${v.shardIndex}`
      push(this.reruns, key, r)
      for (const o of this.bySlot.get(key) ?? []) if (agree(o, r)) this.check(`${o.id}/${r.id}`, { worker: o.worker, ok: true, at: r.finishedAt, proof: r.id, checked: o.id })
      return
    }
    const key = `${r.requester}/${r.jobId}/${r.shardIndex}`
    const list = push(this.bySlot, key, r)
    if (parseMicroBatchJobId(r.jobId) != null) {
      for (const b of list) {
        if (b === r || !agree(r, b)) continue
        const at = Math.max(r.finishedAt, b.finishedAt)
        this.check(`${r.id}/${b.id}`, { worker: r.worker, ok: true, at, proof: b.id, checked: r.id })
        this.check(`${b.id}/${r.id}`, { worker: b.worker, ok: true, at, proof: r.id, checked: b.id })
      }
    }
    for (const rr of this.reruns.get(key) ?? []) if (agree(r, rr)) this.check(`${r.id}/${rr.id}`, { worker: r.worker, ok: true, at: rr.finishedAt, proof: rr.id, checked: r.id })
  }

  /** A receipt now pays its slot (the funds index chose it). */
  paid (r: VerifiedReceipt): void {
    const job = `${r.worker}|${r.requester}/${baseJobId(r.jobId)}`
    const n = this.paidJobs.get(job) ?? 0
    this.paidJobs.set(job, n + 1)
    if (n === 0) this.good.set(r.worker, (this.good.get(r.worker) ?? 0) + 1)
  }

  /** A receipt no longer pays its slot (one of smaller id does). */
  unpaid (r: VerifiedReceipt): void {
    const job = `${r.worker}|${r.requester}/${baseJobId(r.jobId)}`
    const n = this.paidJobs.get(job) ?? 0
    if (n > 1) { this.paidJobs.set(job, n - 1); return }
    this.paidJobs.delete(job)
    const g = (this.good.get(r.worker) ?? 1) - 1
    if (g > 0) this.good.set(r.worker, g)
    else this.good.delete(r.worker)
  }

  /** Takes evidence of the set in. */
  addEvidence (e: VerifiedEvidence): void {
    if (e.kind === 'equivocation') {
      this.equivocators.add(e.accused)
      return
    }
    let s = this.mismatched.get(e.accused)
    if (s == null) this.mismatched.set(e.accused, s = new Set())
    s.add(e.accusedReceipt)
    if (e.kind !== 'mismatch') return
    this.check(`${e.accusedReceipt}/mismatch`, { worker: e.accused, ok: false, at: e.receipts[0]?.finishedAt ?? e.issuedAt, proof: e.id, checked: e.accusedReceipt })
  }

  /** `peer`'s reputation (see `computeReputation`). */
  reputation (peer: string): ReputationReport {
    const good = this.good.get(peer) ?? 0
    const mismatches = this.mismatched.get(peer)?.size ?? 0
    const equivocated = this.equivocators.has(peer)
    return { peer, reputation: equivocated ? 0 : (good + 1) / (good + 1 + this.mismatchWeight * mismatches), good, mismatches, equivocated }
  }

  /** `worker`'s verification record (see `verificationRecords`). */
  verification (worker: string): VerificationRecord {
    const c = this.checks.get(worker)
    if (c == null) return { worker, verified: 0, consecutive: 0, mismatches: 0 }
    if (c.record == null) {
      c.record = { worker, verified: 0, consecutive: 0, mismatches: 0 }
      c.wrong = new Set()
      for (const e of c.events) fold(c.record, c.wrong, e)
    }
    return { ...c.record }
  }

  /** Records a check event once (by `key`), in its worker's order. */
  private check (key: string, e: CheckEvent): void {
    if (this.seen.has(key)) return
    this.seen.add(key)
    let c = this.checks.get(e.worker)
    if (c == null) this.checks.set(e.worker, c = { events: [], wrong: new Set() })
    const last = c.events[c.events.length - 1]
    if (last == null || compareChecks(last, e) < 0) {
      c.events.push(e)
      if (c.record != null) fold(c.record, c.wrong, e)
      return
    }
    let i = c.events.length
    while (i > 0 && compareChecks(c.events[i - 1] as CheckEvent, e) > 0) i--
    c.events.splice(i, 0, e)
    c.record = undefined
  }
}

/** The order of `checkEvents`: time, then proof id, then checked id. */
function compareChecks (a: CheckEvent, b: CheckEvent): number {
  return a.at - b.at || (a.proof < b.proof ? -1 : a.proof > b.proof ? 1 : 0) || (a.checked < b.checked ? -1 : a.checked > b.checked ? 1 : 0)
}

/** One step of `recordsFromEvents`. */
function fold (r: VerificationRecord, wrong: Set<string>, e: CheckEvent): void {
  if (e.ok) {
    r.verified++
    r.consecutive++
  } else {
    wrong.add(e.checked)
    r.mismatches = wrong.size
    r.consecutive = 0
    r.lastMismatchAt = e.at
  }
}

/** Two receipts of one slot from different workers with the same input and output. */
function agree (a: VerifiedReceipt, b: VerifiedReceipt): boolean {
  return a.worker !== b.worker && a.inputDigest === b.inputDigest && a.outputDigest === b.outputDigest
}

function push<T> (map: Map<string, T[]>, key: string, value: T): T[] {
  let list = map.get(key)
  if (list == null) map.set(key, list = [])
  list.push(value)
  return list
}
