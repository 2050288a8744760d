import { BASE_PRICE_PER_UNIT, LOAD_FACTOR, POWER_PER_LEASE_KW } from './constants.js'
import type { AvailabilityDecision } from './availability.js'
import type { NoBidCode } from './no-bids.js'

/**
 * The worker's side of the market, as pure functions: what to ask, how many
 * shards to offer, and whether to bid at all. Each worker decides for
 * itself; nothing here talks to the network.
 */

/** Price policy: `price = basePricePerUnit × (1 + loadFactor × load)`, load = held leases / max concurrent leases (0..1). Plain data. */
export interface PricePolicy {
  /** credits per compute unit when idle @default BASE_PRICE_PER_UNIT (1) */
  basePricePerUnit?: number
  /** price rise at full load, as a fraction of the base price @default LOAD_FACTOR (0.5) */
  loadFactor?: number
}

/** Site power budget of a station. Plain data. */
export interface PowerBudget {
  /** power the site may spend on compute, kW */
  siteBudgetKw: number
  /** draw of one running shard, kW @default POWER_PER_LEASE_KW (0.5) */
  perLeaseKw?: number
  /** other load on the site budget now (chargers, cooling), kW @default 0 */
  siteLoadKw?: number
}

/** The asking price, credits per compute unit, at `load` (0..1). */
export function priceFor (policy: PricePolicy, load: number): number {
  const base = policy.basePricePerUnit ?? BASE_PRICE_PER_UNIT
  const factor = policy.loadFactor ?? LOAD_FACTOR
  return base * (1 + factor * Math.min(1, Math.max(0, load)))
}

/** How many more shards fit in the site power budget with `held` shards running. */
export function powerCapacity (budget: PowerBudget, held: number): number {
  const per = budget.perLeaseKw ?? POWER_PER_LEASE_KW
  if (per <= 0) return Number.MAX_SAFE_INTEGER
  const spare = budget.siteBudgetKw - (budget.siteLoadKw ?? 0) - held * per
  return Math.max(0, Math.floor(spare / per + 1e-9))
}

/** A worker's throughput estimate for a model (from the runtime's measured profile). */
export interface ThroughputEstimate {
  /** ms per compute unit */
  msPerUnit: number
  /** ms before the first unit (fetch and load if not cached) */
  setupMs: number
  /** the model is in the local cache */
  modelCached: boolean
}

/** The offer, as the worker policy sees it. */
export interface OfferView {
  jobId: string
  region: string
  /** units of the shards still open */
  openShardUnits: number[]
  /** credits per unit */
  maxPricePerUnit: number
  /** ms since the epoch */
  deadline: number
  minReputation: number
  /** data residency the offer requires ('' or undefined: none) */
  jurisdiction?: string
}

/** The worker's situation when an offer arrives. */
export interface WorkerSituation {
  /** the worker's certified region */
  region: string
  /** the jurisdiction its certificate names ('' if none) */
  jurisdiction?: string
  /** leases held now (all jobs) */
  held: number
  /** most leases at once */
  maxConcurrent: number
  /** leases the offer's requester holds here now @default 0 */
  heldByRequester?: number
  /** most leases one requester may hold here at once (`ceil(REQUESTER_LEASE_SHARE × maxConcurrent)`) @default maxConcurrent */
  maxPerRequester?: number
  pricing: PricePolicy
  /** stations: the site power budget */
  power?: PowerBudget
  /** vehicles: the availability decision for the current state */
  availability?: AvailabilityDecision
  /** true while the worker drains (stopping, or a vehicle leaving its allowed state) */
  draining?: boolean
  /** the worker's own reputation, 0..1 */
  reputation: number
  estimate: ThroughputEstimate
}

/**
 * The decision of {@link decideBid}. A refusal carries its code: a
 * {@link NoBidCode} the worker tells the requester, or `REGION` /
 * `NO_OPEN_SHARDS`, which concern no requester of this region; `PRICE`
 * refusals carry the ask.
 */
export type BidDecision =
  | { bid: true, pricePerUnit: number, capacity: number, msPerUnit: number, setupMs: number, modelCached: boolean }
  | { bid: false, reason: string, code: NoBidCode | 'REGION' | 'NO_OPEN_SHARDS', askPricePerUnit?: number }

/**
 * Whether and what to bid on an offer at `now` (ms): no bid for another
 * region, while draining or unavailable (vehicle policy), below the offer's
 * minimum reputation, without free capacity (concurrency and, for stations,
 * power budget), when the requester already holds its share of the leases, when the policy's price is over the offer's maximum, or
 * when even the smallest open shard cannot finish before the deadline.
 * Capacity offered is the free capacity, at most the number of open shards.
 */
export function decideBid (offer: OfferView, w: WorkerSituation, now: number): BidDecision {
  if (offer.region !== w.region) return { bid: false, code: 'REGION', reason: `offer is for region ${offer.region}, this worker is in ${w.region}` }
  if (offer.jurisdiction != null && offer.jurisdiction !== '' && offer.jurisdiction !== (w.jurisdiction ?? '')) {
    return { bid: false, code: 'JURISDICTION', reason: `the job requires jurisdiction ${offer.jurisdiction}; this worker's certificate names ${w.jurisdiction === '' || w.jurisdiction == null ? 'none' : w.jurisdiction}` }
  }
  if (w.draining === true) return { bid: false, code: 'DRAINING', reason: 'draining' }
  if (w.availability != null && !w.availability.allowed) return { bid: false, code: 'UNAVAILABLE', reason: `unavailable: ${w.availability.reason}` }
  if (w.reputation < offer.minReputation) return { bid: false, code: 'REPUTATION', reason: `reputation ${w.reputation} below the offer's ${offer.minReputation}` }
  let capacity = Math.max(0, w.maxConcurrent - w.held)
  if (capacity === 0) return { bid: false, code: 'BUSY', reason: `at capacity (${w.held}/${w.maxConcurrent} leases)` }
  const perRequester = w.maxPerRequester ?? w.maxConcurrent
  const mine = w.heldByRequester ?? 0
  if (mine >= perRequester) return { bid: false, code: 'REQUESTER_LIMIT', reason: `the requester holds ${mine} of this worker's ${w.maxConcurrent} leases, its most at once (${perRequester}); the rest stay for other requesters` }
  capacity = Math.min(capacity, perRequester - mine)
  if (w.power != null) {
    capacity = Math.min(capacity, powerCapacity(w.power, w.held))
    if (capacity === 0) return { bid: false, code: 'BUSY', reason: `site power budget ${w.power.siteBudgetKw} kW is spent` }
  }
  if (offer.openShardUnits.length === 0) return { bid: false, code: 'NO_OPEN_SHARDS', reason: 'no open shards' }
  capacity = Math.min(capacity, offer.openShardUnits.length)
  const pricePerUnit = priceFor(w.pricing, w.maxConcurrent > 0 ? w.held / w.maxConcurrent : 1)
  if (pricePerUnit > offer.maxPricePerUnit) return { bid: false, code: 'PRICE', reason: `price ${pricePerUnit} over the offer's max ${offer.maxPricePerUnit} per unit`, askPricePerUnit: pricePerUnit }
  const smallest = Math.min(...offer.openShardUnits)
  const eta = w.estimate.setupMs + w.estimate.msPerUnit * smallest
  if (now + eta > offer.deadline) return { bid: false, code: 'DEADLINE', reason: `cannot finish a shard before the deadline (needs ~${Math.round(eta)} ms)` }
  return { bid: true, pricePerUnit, capacity, msPerUnit: w.estimate.msPerUnit, setupMs: w.estimate.setupMs, modelCached: w.estimate.modelCached }
}

/**
 * The most a job can cost its requester, credits: `maxPricePerUnit × Σ
 * shardUnits × redundancy` (every replica of every shard paid at the
 * offer's maximum). A worker checks the requester can afford it before
 * bidding; the requester sets it aside when it awards the first shard.
 */
export function maxJobCost (terms: { shardUnits: readonly number[], maxPricePerUnit: number, redundancy?: number }): number {
  let units = 0
  for (const u of terms.shardUnits) units += u
  return terms.maxPricePerUnit * units * Math.max(1, terms.redundancy ?? 1)
}
