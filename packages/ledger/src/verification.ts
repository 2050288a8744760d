import { InvalidConfigError } from '@fleetmesh/protocol'
import { VERIFICATION_FLOOR_RATE, VERIFICATION_MISMATCH_PENALTY, VERIFICATION_TRUST_AFTER, VERIFICATION_UNTRUSTED_RATE } from './constants.js'
import { parseMicroBatchJobId } from './micro-batch.js'
import { parseVerificationJobId } from './settle.js'
import type { VerifiedEvidence } from './evidence.js'
import type { VerifiedReceipt } from './receipt.js'

/**
 * Adaptive verification, after BOINC's adaptive replication: a requester
 * re-runs a secret sample of each worker's micro-batches (or shards) on
 * another worker, at a rate that depends on the worker's record of
 * verified results.
 *
 * - A worker with fewer than `trustAfter` consecutive verified results
 *   (new, or caught recently) is checked at `untrustedRate` (1: every
 *   result).
 * - Once trusted, the rate falls as `trustAfter / consecutive` — each
 *   further verified result makes the next check less likely — down to
 *   `floorRate`, which never reaches 0: a long-trusted worker that starts
 *   cheating is still caught.
 * - Any mismatch resets `consecutive` to 0 (the rate jumps back to
 *   `untrustedRate`) and raises the bar for trust again:
 *   `trustAfter × mismatchPenalty^min(mismatches, 4)` consecutive results.
 *
 * The record is a pure function of the ledger's entries
 * ({@link verificationRecords}), so every node that holds the same set
 * derives the same rate for a worker. Which results are checked stays
 * secret: {@link isSampled} hashes the requester's secret seed with the
 * job and the micro-batch, so a worker knows its rate (it is public) but
 * not which of its micro-batches are re-run.
 */

/** A worker's record of verified results. */
export interface VerificationRecord {
  /** PeerId string */
  worker: string
  /** verified results (checks its output passed), all time */
  verified: number
  /** verified results since its last mismatch (or ever, if none) */
  consecutive: number
  /** distinct results of it proven wrong */
  mismatches: number
  /** ms since the epoch of the last mismatch, undefined if none */
  lastMismatchAt?: number
}

/** Parameters of {@link verificationRate}. Plain data. */
export interface VerificationPolicy {
  /** consecutive verified results before a worker is trusted @default VERIFICATION_TRUST_AFTER (10) */
  trustAfter?: number
  /** rate of a worker that is not (or no longer) trusted, 0..1 @default VERIFICATION_UNTRUSTED_RATE (1) */
  untrustedRate?: number
  /** lowest rate of a long-trusted worker, 0..1 @default VERIFICATION_FLOOR_RATE (0.04) */
  floorRate?: number
  /** factor on `trustAfter` per past mismatch (at most 4 counted) @default VERIFICATION_MISMATCH_PENALTY (2) */
  mismatchPenalty?: number
}

/** One result of a worker that a check passed or failed, as the ledger proves it. */
export interface CheckEvent {
  /** PeerId string of the worker whose result was checked */
  worker: string
  /** true: the check agreed; false: mismatch evidence */
  ok: boolean
  /** ms since the epoch (the verifier receipt's finish time, or the accused receipt's) */
  at: number
  /** id of the entry that proves it (a verifier receipt or evidence) */
  proof: string
  /** id of the checked receipt */
  checked: string
}

function policyOf (policy: VerificationPolicy): Required<VerificationPolicy> {
  const p = {
    trustAfter: policy.trustAfter ?? VERIFICATION_TRUST_AFTER,
    untrustedRate: policy.untrustedRate ?? VERIFICATION_UNTRUSTED_RATE,
    floorRate: policy.floorRate ?? VERIFICATION_FLOOR_RATE,
    mismatchPenalty: policy.mismatchPenalty ?? VERIFICATION_MISMATCH_PENALTY
  }
  const rate = (x: number): boolean => Number.isFinite(x) && x >= 0 && x <= 1
  if (!(Number.isInteger(p.trustAfter) && p.trustAfter >= 1)) throw new InvalidConfigError(`verification trustAfter ${p.trustAfter} is not a positive integer`)
  if (!rate(p.untrustedRate) || !rate(p.floorRate)) throw new InvalidConfigError(`verification rates must be 0..1 (untrusted ${p.untrustedRate}, floor ${p.floorRate})`)
  if (p.floorRate > p.untrustedRate) throw new InvalidConfigError(`verification floorRate ${p.floorRate} is above untrustedRate ${p.untrustedRate}`)
  if (!(Number.isFinite(p.mismatchPenalty) && p.mismatchPenalty >= 1)) throw new InvalidConfigError(`verification mismatchPenalty ${p.mismatchPenalty} is not ≥ 1`)
  return p
}

/** Consecutive verified results a worker with `mismatches` past mismatches needs to be trusted. */
export function trustThreshold (mismatches: number, policy: VerificationPolicy = {}): number {
  const p = policyOf(policy)
  return Math.ceil(p.trustAfter * p.mismatchPenalty ** Math.min(Math.max(0, mismatches), 4))
}

/**
 * The share of a worker's results to re-run, 0..1 (see the module docs).
 *
 * @param record - the worker's record; a worker with no record is new (rate `untrustedRate`)
 * @throws InvalidConfigError on a policy out of range
 */
export function verificationRate (record: Pick<VerificationRecord, 'consecutive' | 'mismatches'> | undefined, policy: VerificationPolicy = {}): number {
  const p = policyOf(policy)
  const consecutive = record?.consecutive ?? 0
  const threshold = trustThreshold(record?.mismatches ?? 0, p)
  if (consecutive < threshold) return p.untrustedRate
  return Math.max(p.floorRate, Math.min(p.untrustedRate, threshold / consecutive))
}

/**
 * The check events a set of entries proves, oldest first:
 *
 * - a countersigned receipt of a re-run (job id `<jobId>/verify/<shard>/<attempt>`,
 *   see `verificationJobId`) is a passed check of every other worker whose
 *   countersigned receipt for (requester, jobId, shard) has the same input
 *   and output digest (the requester countersigns a re-run only when it agreed);
 * - two countersigned micro-batch receipts (job `<jobId>/mb/<seq>`, see
 *   `microBatchJobId`) of one slot from two workers with the same input and
 *   output digest are a spot check that passed: a passed check of each
 *   worker, proved by the other's receipt (the requester countersigns a
 *   spot-check run only when it agreed);
 * - mismatch evidence is a failed check of the accused worker.
 */
export function checkEvents (receipts: Iterable<VerifiedReceipt>, evidence: Iterable<VerifiedEvidence>): CheckEvent[] {
  const bySlot = new Map<string, VerifiedReceipt[]>()
  const reruns: Array<{ r: VerifiedReceipt, slot: string }> = []
  for (const r of receipts) {
    if (!r.countersigned) continue
    const v = parseVerificationJobId(r.jobId)
    if (v != null) {
      reruns.push({ r, slot: `${r.requester}/${v.jobId}/${v.shardIndex}` })
      continue
    }
    const slot = `${r.requester}/${r.jobId}/${r.shardIndex}`
    let list = bySlot.get(slot)
    if (list == null) { list = []; bySlot.set(slot, list) }
    list.push(r)
  }
  const out: CheckEvent[] = []
  const seen = new Set<string>()
  for (const list of bySlot.values()) {
    if (list.length < 2 || parseMicroBatchJobId((list[0] as VerifiedReceipt).jobId) == null) continue
    for (const a of list) {
      for (const b of list) {
        if (a.worker === b.worker || a.inputDigest !== b.inputDigest || a.outputDigest !== b.outputDigest) continue
        const key = `${a.id}/${b.id}`
        if (seen.has(key)) continue
        seen.add(key)
        out.push({ worker: a.worker, ok: true, at: Math.max(a.finishedAt, b.finishedAt), proof: b.id, checked: a.id })
      }
    }
  }
  for (const { r, slot } of reruns) {
    for (const o of bySlot.get(slot) ?? []) {
      if (o.worker === r.worker || o.inputDigest !== r.inputDigest || o.outputDigest !== r.outputDigest) continue
      const key = `${o.id}/${r.id}`
      if (seen.has(key)) continue
      seen.add(key)
      out.push({ worker: o.worker, ok: true, at: r.finishedAt, proof: r.id, checked: o.id })
    }
  }
  for (const e of evidence) {
    if (e.kind !== 'mismatch') continue
    const accused = e.receipts[0]
    const key = `${e.accusedReceipt}/mismatch`
    if (seen.has(key)) continue
    seen.add(key)
    out.push({ worker: e.accused, ok: false, at: accused?.finishedAt ?? e.issuedAt, proof: e.id, checked: e.accusedReceipt })
  }
  return out.sort((a, b) => a.at - b.at || (a.proof < b.proof ? -1 : a.proof > b.proof ? 1 : 0) || (a.checked < b.checked ? -1 : 1))
}

/**
 * Folds check events (any order; sorted here by time, then proof id) into
 * one record per worker. Pure: the same events give the same records.
 */
export function recordsFromEvents (events: Iterable<CheckEvent>): Map<string, VerificationRecord> {
  const sorted = [...events].sort((a, b) => a.at - b.at || (a.proof < b.proof ? -1 : a.proof > b.proof ? 1 : 0) || (a.checked < b.checked ? -1 : 1))
  const out = new Map<string, VerificationRecord>()
  const wrong = new Map<string, Set<string>>()
  for (const e of sorted) {
    let r = out.get(e.worker)
    if (r == null) { r = { worker: e.worker, verified: 0, consecutive: 0, mismatches: 0 }; out.set(e.worker, r) }
    if (e.ok) {
      r.verified++
      r.consecutive++
    } else {
      let s = wrong.get(e.worker)
      if (s == null) { s = new Set(); wrong.set(e.worker, s) }
      s.add(e.checked)
      r.mismatches = s.size
      r.consecutive = 0
      r.lastMismatchAt = e.at
    }
  }
  return out
}

/** Every worker's verification record from a set of entries ({@link checkEvents} folded by {@link recordsFromEvents}). */
export function verificationRecords (receipts: Iterable<VerifiedReceipt>, evidence: Iterable<VerifiedEvidence>): Map<string, VerificationRecord> {
  return recordsFromEvents(checkEvents(receipts, evidence))
}

/**
 * The chance that a worker cheating on a share `f` of its micro-batches
 * escapes every check over `jobs` jobs of `microBatches` micro-batches
 * each, starting from `record`. A caught worker's record resets (its rate
 * jumps), so escaping means no cheated micro-batch is sampled in any job;
 * honest micro-batches that pass checks lengthen its record (expected
 * value, rounded down), which lowers the rate of later jobs.
 *
 * @param f - share of micro-batches with a wrong output, 0..1
 */
export function cheaterEscapeProbability (init: { f: number, microBatches: number, jobs: number, record?: Pick<VerificationRecord, 'consecutive' | 'mismatches'>, policy?: VerificationPolicy }): number {
  let consecutive = init.record?.consecutive ?? 0
  const mismatches = init.record?.mismatches ?? 0
  let p = 1
  for (let j = 0; j < init.jobs; j++) {
    const rate = verificationRate({ consecutive, mismatches }, init.policy)
    const cheated = init.f * init.microBatches
    p *= (1 - rate) ** cheated
    consecutive += Math.floor(rate * (init.microBatches - cheated))
  }
  return p
}
