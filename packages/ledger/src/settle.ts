import { createHash } from 'node:crypto'
import { InvalidConfigError, PbShardReturn } from '@fleetmesh/protocol'
import { SAMPLE_RATE } from './constants.js'
import { InvalidShardReturnError } from './errors.js'
import type { VerifiedEvidence } from './evidence.js'
import type { Ledger } from './index.js'
import type { VerifiedReceipt } from './receipt.js'
import type { PbReceipt } from '@fleetmesh/protocol'

/**
 * Settling a job at its requester: check every worker-signed receipt
 * against the lease it answers, re-run a sample of shards on other
 * workers, compare outputs, take the majority of three on a mismatch,
 * countersign what is accepted and report evidence against the minority.
 */

/** One completed shard replica (the market's `ShardResult` fits). */
export interface ShardOutcome {
  shardIndex: number
  replica: number
  /** worker PeerId string */
  worker: string
  leaseId: string
  units: number
  pricePerUnit: number
  /** the lease handler's bytes: an encoded ShardReturn (see Ledger.shardReturn) */
  result: Uint8Array
}

/** A re-run the settle helper asks for. */
export interface RerunRequest {
  /** the original job */
  jobId: string
  shardIndex: number
  units: number
  modelCid: string
  /** 1 for the second worker, 2 for the third */
  attempt: number
  /** workers that must not run it (PeerId strings) */
  exclude: string[]
  signal?: AbortSignal
}

/** Runs one shard again on a worker not in `exclude`; resolves with its outcome (throw if none could run it). */
export type RerunFn = (req: RerunRequest) => Promise<ShardOutcome>

/** Options of {@link settleJob}. */
export interface SettleOptions {
  /** share of shards re-run on a second worker, 0..1 @default SAMPLE_RATE (0.05) */
  sampleRate?: number
  /** runs a shard again on another worker; required when sampleRate > 0 */
  rerun?: RerunFn
  /**
   * compares two outputs (ShardReturn.output) when their digests differ,
   * e.g. decoded tensors with {@link tensorsClose}; true counts as agreement
   * @default none: digests decide
   */
  compare?: (a: Uint8Array, b: Uint8Array) => boolean
  /** once a worker is caught in this job, re-run all its other shards too @default true */
  escalate?: boolean
  /** sampling seed @default the ledger's secret `sampleSeed` */
  seed?: string
  signal?: AbortSignal
}

/** A shard result that was not countersigned. */
export interface RejectedShard {
  shardIndex: number
  replica: number
  worker: string
  /** why: bad receipt, minority output, no majority, … */
  reason: string
}

/** What {@link settleJob} did. */
export interface SettleResult {
  jobId: string
  /** countersigned receipts (the job's and the verifiers' that agreed) */
  accepted: VerifiedReceipt[]
  rejected: RejectedShard[]
  /** evidence reported against minority workers */
  evidence: VerifiedEvidence[]
  /** shards that were re-run */
  verified: number[]
  /** accepted output of each shard index (replica 0 unless it was rejected) */
  outputs: Map<number, Uint8Array>
}

/** Job id of the `attempt`-th re-run of a shard: `<jobId>/verify/<shardIndex>/<attempt>`. */
export function verificationJobId (jobId: string, shardIndex: number, attempt: number): string {
  return `${jobId}/verify/${shardIndex}/${attempt}`
}

/** The original job and shard of a re-run's job id, or undefined (workers use it to find the shard's input). */
export function parseVerificationJobId (jobId: string): { jobId: string, shardIndex: number, attempt: number } | undefined {
  const m = /^(.*)\/verify\/(\d+)\/(\d+)$/.exec(jobId)
  if (m == null) return undefined
  return { jobId: m[1] as string, shardIndex: Number(m[2]), attempt: Number(m[3]) }
}

/** True if shard `shardIndex` of `jobId` is in the sample: sha2-256(seed/jobId/shard) read as a fraction below `rate`. */
export function isSampled (jobId: string, shardIndex: number, rate: number, seed: string): boolean {
  if (rate >= 1) return true
  if (rate <= 0) return false
  const h = createHash('sha256').update(`${seed}/${jobId}/${shardIndex}`).digest()
  return h.readUInt32BE(0) / 0x100000000 < rate
}

/** Decodes a lease handler's bytes. @throws InvalidShardReturnError */
export function decodeShardReturn (bytes: Uint8Array): { receipt: PbReceipt, output: Uint8Array } {
  let r: PbShardReturn
  try {
    r = PbShardReturn.decode(bytes)
  } catch (err: any) {
    throw new InvalidShardReturnError(`shard result is not a ShardReturn: ${err?.message ?? err}`)
  }
  if (r.receipt == null) throw new InvalidShardReturnError('shard result carries no receipt')
  return { receipt: r.receipt, output: r.output }
}

interface Checked {
  outcome: ShardOutcome
  receipt: PbReceipt
  info: VerifiedReceipt
  output: Uint8Array
}

/**
 * Checks a shard outcome: its ShardReturn decodes, its receipt is signed by
 * the worker for this requester and matches the lease (job, shard,
 * replica, units, price, lease id).
 *
 * @throws InvalidShardReturnError, or the receipt's verification error
 */
async function checkOutcome (ledger: Ledger, o: ShardOutcome, expectJob: string, expectShard: number, expectReplica: number): Promise<Checked> {
  const { receipt, output } = decodeShardReturn(o.result)
  const info = await ledger.checkWorkerReceipt(receipt)
  const bad = (what: string): never => { throw new InvalidShardReturnError(`receipt ${what} does not match the lease`) }
  if (info.worker !== o.worker) bad(`worker ${info.worker}`)
  if (info.jobId !== expectJob) bad(`job ${info.jobId}`)
  if (info.shardIndex !== expectShard || info.replica !== expectReplica) bad(`shard ${info.shardIndex}/${info.replica}`)
  if (info.units !== o.units) bad(`units ${info.units}`)
  if (info.pricePerUnit !== o.pricePerUnit) bad(`price ${info.pricePerUnit}`)
  if (o.leaseId !== '' && info.leaseId !== o.leaseId) bad(`lease ${info.leaseId}`)
  return { outcome: o, receipt, info, output }
}

/**
 * Records the receipts of a job whose results the requester accepted
 * (`Ledger.holdSettlement`: durable, resumed after a crash), before its
 * outputs are served; outcomes whose receipt does not check are left out
 * (settlement rejects them).
 *
 * @param job - `{ jobId, shards }` (the market's JobResult fits), the shards accepted
 */
export async function holdSettlement (ledger: Ledger, job: { jobId: string, shards: ShardOutcome[] }): Promise<void> {
  const receipts: PbReceipt[] = []
  for (const o of job.shards) {
    try {
      receipts.push((await checkOutcome(ledger, o, job.jobId, o.shardIndex, o.replica)).receipt)
    } catch {}
  }
  await ledger.holdSettlement(job.jobId, receipts)
}

/** A market with `submit` (the @fleetmesh/market service fits). */
export interface RerunMarket {
  submit(spec: { jobId?: string, modelCid: string, shardUnits: number[], maxPricePerUnit: number, redundancy?: number, minReputation?: number, deadline?: number, bidWindowMs?: number, region?: string }, options?: { signal?: AbortSignal }): Promise<{ shards: ShardOutcome[] }>
}

/**
 * A {@link RerunFn} on the market: submits a one-shard job
 * `<jobId>/verify/<shard>/<attempt>` with redundancy `exclude.length + 1`
 * (the market gives each replica a distinct worker, so at least one is not
 * excluded) and returns the first replica from a worker not excluded.
 * The market has no per-job exclusion list; the extra replicas are the
 * price of that.
 */
export function marketRerun (market: RerunMarket, terms: { maxPricePerUnit: number, minReputation?: number, deadlineMs?: number, bidWindowMs?: number, region?: string }): RerunFn {
  return async (req) => {
    const res = await market.submit({
      jobId: verificationJobId(req.jobId, req.shardIndex, req.attempt),
      modelCid: req.modelCid,
      shardUnits: [req.units],
      maxPricePerUnit: terms.maxPricePerUnit,
      redundancy: req.exclude.length + 1,
      minReputation: terms.minReputation,
      deadline: terms.deadlineMs != null ? Date.now() + terms.deadlineMs : undefined,
      bidWindowMs: terms.bidWindowMs,
      region: terms.region
    }, { signal: req.signal })
    const pick = res.shards.find(s => !req.exclude.includes(s.worker))
    if (pick == null) throw new InvalidShardReturnError(`re-run of ${req.jobId} shard ${req.shardIndex} found no worker outside ${req.exclude.join(', ')}`)
    return pick
  }
}

/**
 * Settles a completed job (see the module docs), then ends the job's
 * commitment (`Ledger.release`), settled or not. Without re-runs
 * (`sampleRate` 0) the receipts are recorded first (`holdSettlement`,
 * unless the caller did) and the record is dropped once every receipt is
 * countersigned or refused; a settlement cut short (a crash, a payment
 * refused for funds) stays recorded and is resumed.
 *
 * @param ledger - the requester's ledger
 * @param job - `{ jobId, shards }` (the market's JobResult fits)
 * @returns what was countersigned, rejected and reported
 */
export async function settleJob (ledger: Ledger, job: { jobId: string, shards: ShardOutcome[] }, options: SettleOptions = {}): Promise<SettleResult> {
  const rate = options.sampleRate ?? SAMPLE_RATE
  if (!(rate >= 0 && rate <= 1)) throw new InvalidConfigError(`sampleRate ${rate} is not 0..1`)
  if (rate > 0 && options.rerun == null) throw new InvalidConfigError('settleJob needs a rerun function when sampleRate > 0')
  const seed = options.seed ?? ledger.sampleSeed
  const result: SettleResult = { jobId: job.jobId, accepted: [], rejected: [], evidence: [], verified: [], outputs: new Map() }
  const reject = (o: ShardOutcome, reason: string): void => { result.rejected.push({ shardIndex: o.shardIndex, replica: o.replica, worker: o.worker, reason }) }

  const check = async (o: ShardOutcome, expectJob: string, expectShard: number, expectReplica: number): Promise<Checked> => checkOutcome(ledger, o, expectJob, expectShard, expectReplica)

  const agree = (a: Checked, b: Checked): boolean =>
    a.info.outputDigest === b.info.outputDigest || (options.compare?.(a.output, b.output) ?? false)

  const checked: Checked[] = []
  for (const o of job.shards) {
    try {
      checked.push(await check(o, job.jobId, o.shardIndex, o.replica))
    } catch (err: any) {
      reject(o, `${err?.code ?? 'ERR_INVALID'}: ${err?.message ?? err}`)
    }
  }

  const caught = new Set<string>()
  const countersign = async (c: Checked): Promise<void> => {
    result.accepted.push(await ledger.countersign(c.receipt))
  }

  /** Verifies one shard; returns the accepted Checked (or undefined). */
  const verify = async (c: Checked): Promise<Checked | undefined> => {
    result.verified.push(c.info.shardIndex)
    const rerun = options.rerun as RerunFn
    const runOn = async (attempt: number, exclude: string[]): Promise<Checked | undefined> => {
      try {
        const o = await rerun({ jobId: job.jobId, shardIndex: c.info.shardIndex, units: c.info.units, modelCid: c.info.modelCid, attempt, exclude, signal: options.signal })
        if (exclude.includes(o.worker)) throw new InvalidShardReturnError(`re-run came back from excluded worker ${o.worker}`)
        const v = await check(o, verificationJobId(job.jobId, c.info.shardIndex, attempt), 0, o.replica)
        if (v.info.modelCid !== c.info.modelCid || v.info.inputDigest !== c.info.inputDigest) throw new InvalidShardReturnError('re-run receipt names another model or input')
        return v
      } catch {
        return undefined
      }
    }
    const second = await runOn(1, [c.info.worker])
    if (second == null) {
      // no second opinion could be had: accept the original (sampling is a deterrent, not a gate)
      await countersign(c)
      return c
    }
    if (agree(c, second)) {
      await countersign(c)
      await countersign(second)
      return c
    }
    const third = await runOn(2, [c.info.worker, second.info.worker])
    if (third == null) {
      reject(c.outcome, 'outputs of two workers disagree and no third worker could decide')
      return undefined
    }
    const minorityOf = (bad: Checked, good: [Checked, Checked]): Checked => {
      caught.add(bad.info.worker)
      if (bad !== c) reject({ ...bad.outcome, shardIndex: c.info.shardIndex }, `verifier in the minority on shard ${c.info.shardIndex}`)
      return good[0]
    }
    let loser: Checked | undefined
    let witnesses: [Checked, Checked] | undefined
    if (agree(second, third) && !agree(c, third)) { loser = c; witnesses = [second, third] } else if (agree(c, third)) { loser = second; witnesses = [c, third] }
    if (loser == null || witnesses == null) {
      reject(c.outcome, 'three workers gave three different outputs')
      return undefined
    }
    const winner = minorityOf(loser, witnesses)
    if (loser === c) reject(c.outcome, 'output disagrees with two other workers')
    for (const w of witnesses) await countersign(w)
    if (witnesses[0].info.outputDigest === witnesses[1].info.outputDigest && loser.info.outputDigest !== witnesses[0].info.outputDigest) {
      result.evidence.push(await ledger.reportMismatch(loser.receipt, [witnesses[0].receipt, witnesses[1].receipt]))
    }
    return winner
  }

  const sampled = checked.filter(c => isSampled(job.jobId, c.info.shardIndex, rate, seed))
  const rest = checked.filter(c => !sampled.includes(c))
  const settleOne = async (c: Checked, doVerify: boolean): Promise<void> => {
    const accepted = doVerify ? await verify(c) : (await countersign(c), c)
    if (accepted != null && (c.info.replica === 0 || !result.outputs.has(c.info.shardIndex))) result.outputs.set(c.info.shardIndex, accepted.output)
  }
  try {
    // without re-runs every result is accepted as it is: record them first, so a crash from here on loses no payment
    if (rate === 0 && !ledger.pendingSettlements().some(p => p.jobId === job.jobId)) await ledger.holdSettlement(job.jobId, checked.map(c => c.receipt))
    await Promise.all(sampled.map(async c => settleOne(c, true)))
    const escalate = options.escalate ?? true
    await Promise.all(rest.map(async c => settleOne(c, escalate && caught.has(c.info.worker))))
    const accepted = new Set(result.accepted.map(r => r.id))
    const refused = checked.filter(c => !accepted.has(c.info.id)).map(c => ({
      id: c.info.id,
      reason: result.rejected.find(r => r.shardIndex === c.info.shardIndex && r.replica === c.info.replica && r.worker === c.info.worker)?.reason ?? 'not accepted at settlement'
    }))
    await ledger.endSettlement(job.jobId, refused)
  } finally {
    // the job (and its re-runs) paid what it owes: what it set aside and did not spend is free again
    ledger.release(job.jobId)
  }
  return result
}
