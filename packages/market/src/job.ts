import { randomUUID } from 'node:crypto'
import { assertJurisdiction, assertRegion, JobMode, MAX_JOB_DEADLINE_MS, MAX_SHARDS } from '@fleetmesh/protocol'
import { JOB_DEADLINE_MS, PLACEMENT_TIMEOUT_MS } from './constants.js'
import { InvalidJobError } from './errors.js'
import { checkOfferInputs } from './messages.js'
import type { AuctionBid, AuctionTerms } from './auction.js'
import type { UnplacedShard } from './errors.js'
import type { JobInput, JobResult, JobSpec, JobState, LeaseState, ShardResult } from './index.js'
import type { Refusal } from './no-bids.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * A job as its requester runs it (requester.ts), and {@link createJob},
 * which validates a job spec into one.
 */

/** One shard replica of a job. */
export interface Slot {
  shardIndex: number
  replica: number
  units: number
  lease?: RequesterLease
  done?: ShardResult
  /** the planner's latest reason this slot could not be placed */
  lastReason?: string
  /** how its latest lease ended without completing (`lease to <worker> lost: <reason>`) */
  lost?: string
}

/** A lease of a job, at the requester. */
export interface RequesterLease {
  leaseId: string
  job: Job
  slot: Slot
  worker: PeerId
  workerStr: string
  pricePerUnit: number
  state: LeaseState
  lastHeartbeat: number
}

export interface Job {
  id: string
  region: string
  modelCid: string
  mode: JobMode
  redundancy: number
  bidWindowMs: number
  /** acceptable bids that end the bid window early (JobSpec.minBids) */
  minBids: number
  /** bids asked of the region per offer round before re-offers double it (JobSpec.bidsWanted; undefined: `bidsWantedFor`'s default, 0: every worker bids) */
  bidsWanted?: number
  /** the bid sample the first offer stated, and the bidders heard for it (the requester learns the region's workers from them) */
  sample?: { bidsWanted: number, regionWorkers: number, bidders: Set<string> }
  placementTimeoutMs: number
  spread: boolean
  modelBytes?: number
  maxFrameBytes?: number
  /** data residency: only workers certified in this jurisdiction ('' for none) */
  jurisdiction: string
  /** a stateful session's job (JobSpec.session) */
  session: boolean
  inputs: JobInput[]
  terms: AuctionTerms
  slots: Slot[]
  bids: Map<string, AuctionBid>
  bidders: Map<string, PeerId>
  /** each bidder's own multiaddrs, from its bid (`Bid.addrs`): dialled to award a bidder whose bid came through a relaying station */
  bidAddrs: Map<string, Multiaddr[]>
  rtts: Map<string, number>
  /** bidders dialled during the bid window because they would win (dialLikelyWinners), PeerId strings */
  predialled: Set<string>
  /** workers that lost, declined or released a lease of this job */
  excluded: Set<string>
  /** at most one refusal per worker (NoBid, or a bid the requester refused) */
  refusals: Map<string, Refusal>
  state: JobState
  round: number
  reawards: number
  reoffers: number
  submittedAt: number
  awardedAt?: number
  placing: boolean
  placeAgain: boolean
  /** the job's maximum cost is set aside in the ledger (`MarketLedger.commit`, at the first award) */
  committed: boolean
  /** the first bid window is over: placement (and its timeout) has begun */
  placementStarted: boolean
  /** the requester needs no more of the job placed (`Market.finishPlacement`): open slots are dropped, lost ones too */
  placementFinished: boolean
  deadlineTimer?: ReturnType<typeof setTimeout>
  /** runs while a slot is unplaced; fires the placement failure */
  placementTimer?: ReturnType<typeof setTimeout>
  /** ms since the epoch: when a shard of the job last completed (0: none yet) */
  progressAt: number
  /** ends the current wait for bids early (first bid window or re-offer round: enough bids came, or a completed shard freed capacity) */
  wake?: AbortController
  abort: AbortController
  resolve: (r: JobResult) => void
  reject: (err: Error) => void
}

/** Requester defaults a job spec falls back on. */
export interface JobDefaults {
  /** ms since the epoch */
  now: number
  /** the requester's region (a job's default region) */
  region: string
  /** ms */
  bidWindowMs: number
}

const positiveBytes = (what: string, n: number | undefined): void => {
  if (n != null && !(Number.isSafeInteger(n) && n > 0)) throw new InvalidJobError(`${what} ${n} is not a positive whole number of bytes`)
}

/**
 * Validates a job spec and builds the job (state `bidding`, round 0, one
 * slot per shard replica).
 *
 * @throws InvalidJobError naming the bad field
 */
export function createJob (spec: JobSpec, defaults: JobDefaults): Job {
  const { now } = defaults
  const bad = (msg: string): never => { throw new InvalidJobError(msg) }
  if (typeof spec.modelCid !== 'string' || spec.modelCid.length === 0) bad('modelCid is empty')
  if (!Array.isArray(spec.shardUnits) || spec.shardUnits.length === 0 || spec.shardUnits.length > MAX_SHARDS) bad(`shardUnits must list 1..${MAX_SHARDS} shard sizes`)
  for (const u of spec.shardUnits) if (!Number.isSafeInteger(u) || u <= 0) bad(`shard size ${u} is not a positive integer of compute units`)
  if (!Number.isFinite(spec.maxPricePerUnit) || spec.maxPricePerUnit <= 0) bad(`maxPricePerUnit ${spec.maxPricePerUnit} is not a positive number of credits`)
  const deadline = spec.deadline ?? now + JOB_DEADLINE_MS
  if (!Number.isFinite(deadline) || deadline <= now) bad(`deadline ${deadline} is not in the future`)
  if (deadline > now + MAX_JOB_DEADLINE_MS) bad(`deadline ${deadline} is more than MAX_JOB_DEADLINE_MS (${MAX_JOB_DEADLINE_MS} ms) away; split the job or give it an earlier deadline`)
  const redundancy = spec.redundancy ?? 1
  if (!Number.isInteger(redundancy) || redundancy < 1 || redundancy > 16) bad(`redundancy ${redundancy} is not 1..16`)
  const minReputation = spec.minReputation ?? 0
  if (!(minReputation >= 0 && minReputation <= 1)) bad(`minReputation ${minReputation} is not 0..1`)
  let region = defaults.region
  try { region = assertRegion(spec.region ?? defaults.region) } catch (err: any) { bad(err.message) }
  const bidWindowMs = spec.bidWindowMs ?? defaults.bidWindowMs
  if (!(bidWindowMs >= 0 && bidWindowMs <= 60_000)) bad(`bidWindowMs ${bidWindowMs} is not 0..60000`)
  const minBids = spec.minBids ?? spec.shardUnits.length
  if (!(Number.isInteger(minBids) && minBids >= 1)) bad(`minBids ${minBids} is not a whole number of bids >= 1`)
  if (spec.bidsWanted != null && !(Number.isInteger(spec.bidsWanted) && spec.bidsWanted >= 0)) bad(`bidsWanted ${spec.bidsWanted} is not a whole number of bids >= 0`)
  const placementTimeoutMs = spec.placementTimeoutMs ?? PLACEMENT_TIMEOUT_MS
  if (!(Number.isFinite(placementTimeoutMs) && placementTimeoutMs >= 0)) bad(`placementTimeoutMs ${placementTimeoutMs} is not a non-negative number of ms`)
  positiveBytes('modelBytes', spec.modelBytes)
  positiveBytes('maxFrameBytes', spec.maxFrameBytes)
  const inputs = spec.inputs ?? []
  if (!Array.isArray(inputs)) bad('inputs must be a list of { name, dtype, dims }')
  try { checkOfferInputs('job', inputs) } catch (err: any) { bad(err.message) }
  let jurisdiction = ''
  try { jurisdiction = assertJurisdiction(spec.jurisdiction ?? '') } catch (err: any) { bad(err.message) }
  const slots: Slot[] = []
  spec.shardUnits.forEach((units, shardIndex) => {
    for (let replica = 0; replica < redundancy; replica++) slots.push({ shardIndex, replica, units })
  })
  const job: Job = {
    id: spec.jobId ?? randomUUID(),
    region,
    modelCid: spec.modelCid,
    mode: spec.mode === 'pipeline' ? JobMode.PIPELINE : JobMode.DATA,
    redundancy,
    bidWindowMs,
    minBids,
    placementTimeoutMs,
    spread: spec.spread === true,
    jurisdiction,
    session: spec.session === true,
    inputs: inputs.map(i => ({ name: i.name, dtype: i.dtype, dims: [...i.dims] })),
    terms: { shardUnits: [...spec.shardUnits], maxPricePerUnit: spec.maxPricePerUnit, minReputation, deadline, submittedAt: now, region },
    slots,
    bids: new Map(),
    bidders: new Map(),
    bidAddrs: new Map(),
    rtts: new Map(),
    predialled: new Set(),
    excluded: new Set(),
    refusals: new Map(),
    state: 'bidding',
    round: 0,
    reawards: 0,
    reoffers: 0,
    submittedAt: now,
    placing: false,
    placeAgain: false,
    placementStarted: false,
    placementFinished: false,
    committed: false,
    progressAt: 0,
    abort: new AbortController(),
    resolve: () => {},
    reject: () => {}
  }
  if (spec.modelBytes != null) job.modelBytes = spec.modelBytes
  if (spec.bidsWanted != null) job.bidsWanted = spec.bidsWanted
  if (spec.maxFrameBytes != null) job.maxFrameBytes = spec.maxFrameBytes
  return job
}

/** A slot with neither a live lease nor a result: the placement's to fill. */
export function isOpen (s: Slot): boolean {
  return s.done == null && s.lease == null
}

/** Each slot of `job` not done and why: still leased, lost (and why not placed again: `notPlacedAgain`, or the planner's last reason), or the planner's reason. */
export function unplacedShards (job: Job, notPlacedAgain?: string): UnplacedShard[] {
  return job.slots.filter(s => s.done == null).map(s => ({
    shardIndex: s.shardIndex,
    replica: s.replica,
    reason: s.lease != null
      ? `leased to ${s.lease.workerStr}, not completed in time`
      : s.lost != null
        ? `${s.lost}; not placed again: ${notPlacedAgain ?? s.lastReason ?? 'no other bid'}`
        : (s.lastReason ?? 'no bids')
  }))
}

/** True while a usable bidder of the job holds one of its live leases: the job is progressing and more capacity will come. */
export function waitingForCapacity (job: Job): boolean {
  return job.slots.some(s => s.lease != null && job.bids.has(s.lease.workerStr) && !job.excluded.has(s.lease.workerStr))
}

/** One line of `Market.jobs`: a job's id, state, offer round, region, slots and slots done. */
export interface JobSummary { jobId: string, state: JobState, round: number, region: string, slots: number, done: number }

/** A job's {@link JobSummary}. Pure. */
export function jobSummary (j: Job): JobSummary {
  return { jobId: j.id, state: j.state, round: j.round, region: j.region, slots: j.slots.length, done: j.slots.filter(s => s.done != null).length }
}

/**
 * What each bidder of `job` holds of it: its live leases (by bidder), and
 * for each shard index the bidders that hold or completed a replica of it
 * (`PlanInput.held`, `PlanInput.shardHolders`). Pure.
 */
export function holdings (job: Job): { held: Record<string, number>, shardHolders: Record<number, string[]> } {
  const held: Record<string, number> = {}
  const shardHolders: Record<number, string[]> = {}
  for (const s of job.slots) {
    const who = s.lease?.workerStr ?? s.done?.worker
    if (who == null) continue
    ;(shardHolders[s.shardIndex] ??= []).push(who)
    if (s.lease != null) held[who] = (held[who] ?? 0) + 1
  }
  return { held, shardHolders }
}
