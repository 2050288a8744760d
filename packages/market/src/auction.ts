import { LATENCY_WEIGHT, PRICE_WEIGHT, REPUTATION_WEIGHT, UNKNOWN_RTT_MS } from './constants.js'

/**
 * The requester's auction, as pure functions over plain data: eligibility,
 * scoring, and the placement of open shard slots on bids. Used for the
 * first award and, unchanged, for every re-award. No clocks, no network:
 * `now` is an argument, and equal inputs give equal plans.
 *
 * ## Score (lower is better)
 *
 * For a bid `b` on a shard of `u` compute units, in a job with maximum price
 * `maxPricePerUnit` and time budget `T = deadline - submittedAt` (ms):
 *
 * ```
 * cost      = b.pricePerUnit × u                            (credits)
 * latencyMs = b.setupMs + b.msPerUnit × u + rttMs           (ms; rttMs = measured RTT, or unknownRttMs)
 * score     = wPrice      × cost / (maxPricePerUnit × u)    (0..1: share of the max cost)
 *           + wLatency    × latencyMs / T                   (share of the job's time budget)
 *           + wReputation × (1 − reputation)                (reputation 0..1)
 * ```
 *
 * Weights default to 1 (PRICE_WEIGHT, LATENCY_WEIGHT, REPUTATION_WEIGHT).
 * Ties are broken by the bidder's PeerId string, ascending.
 *
 * ## Placement
 *
 * A job has `shards × redundancy` slots. Open slots are placed largest
 * shard first (then by shard index, then replica). Each goes to the
 * lowest-scoring eligible bid whose bidder still has capacity (its bid's
 * `capacity` minus the slots of this job it holds or was just given) and
 * holds no other replica of the same shard. A bid is eligible if it asks at
 * most `maxPricePerUnit`, the bidder's reputation is at least
 * `minReputation`, the bid has not expired, the bidder is certified for the
 * offer's region, and the bidder is not excluded from the job (it lost,
 * declined or released a lease of it).
 */

/** The requester's terms of a job, as the auction needs them. */
export interface AuctionTerms {
  /** compute units of each shard (index = shard index) */
  shardUnits: number[]
  /** credits per compute unit, at most */
  maxPricePerUnit: number
  /** 0..1 */
  minReputation: number
  /** ms since the epoch */
  deadline: number
  /** ms since the epoch: when the job was submitted (start of its time budget) */
  submittedAt: number
  /** the offer's region; bidders must be certified for it */
  region: string
}

/** A received bid, with what the requester knows about the bidder. */
export interface AuctionBid {
  /** bidder PeerId string */
  bidder: string
  /** credits per compute unit */
  pricePerUnit: number
  /** estimated ms per compute unit */
  msPerUnit: number
  /** estimated fixed ms before the first unit */
  setupMs: number
  /** slots of this job the bidder can hold at once */
  capacity: number
  modelCached: boolean
  role: 'vehicle' | 'station'
  /** the region of the bidder's certificate */
  region: string
  /** measured RTT to the bidder, ms; undefined if not measured */
  rttMs?: number
  /** bidder reputation, 0..1 */
  reputation: number
  /** ms since the epoch */
  expiresAt: number
}

/** Weights of the score terms. */
export interface ScoreWeights {
  /** @default PRICE_WEIGHT (1) */
  price: number
  /** @default LATENCY_WEIGHT (1) */
  latency: number
  /** @default REPUTATION_WEIGHT (1) */
  reputation: number
}

/** The default weights. */
export const DEFAULT_WEIGHTS: Readonly<ScoreWeights> = Object.freeze({ price: PRICE_WEIGHT, latency: LATENCY_WEIGHT, reputation: REPUTATION_WEIGHT })

/** Options of {@link scoreBid}. */
export interface ScoreOptions {
  weights?: Partial<ScoreWeights>
  /** RTT assumed when a bid has none, ms @default UNKNOWN_RTT_MS (500) */
  unknownRttMs?: number
}

/**
 * Scores a bid for a shard of `units` compute units (formula in the module
 * docs); lower is better.
 */
export function scoreBid (terms: AuctionTerms, bid: AuctionBid, units: number, options: ScoreOptions = {}): number {
  const w = { ...DEFAULT_WEIGHTS, ...options.weights }
  const rtt = bid.rttMs ?? options.unknownRttMs ?? UNKNOWN_RTT_MS
  const budget = Math.max(1, terms.deadline - terms.submittedAt)
  const cost = bid.pricePerUnit * units
  const latencyMs = bid.setupMs + bid.msPerUnit * units + rtt
  return w.price * cost / (terms.maxPricePerUnit * units) +
    w.latency * latencyMs / budget +
    w.reputation * (1 - bid.reputation)
}

/** Why a bid cannot win, or undefined if it is eligible at `now` (ms). */
export function ineligibility (terms: AuctionTerms, bid: AuctionBid, now: number): string | undefined {
  if (bid.pricePerUnit > terms.maxPricePerUnit) return 'over max price'
  if (bid.reputation < terms.minReputation) return 'below min reputation'
  if (bid.expiresAt < now) return 'bid expired'
  if (bid.region !== terms.region) return 'other region'
  if (bid.capacity < 1) return 'no capacity'
  return undefined
}

/** A slot (shard replica) to place. */
export interface OpenSlot {
  shardIndex: number
  replica: number
}

/** Input of {@link planAwards}. */
export interface PlanInput {
  terms: AuctionTerms
  /** the bids, at most one per bidder (the latest) */
  bids: AuctionBid[]
  /** the slots to place now */
  open: OpenSlot[]
  /** slots of this job each bidder holds now (active leases), by bidder */
  held?: Record<string, number>
  /** for each shard index, the bidders that hold or completed a replica of it */
  shardHolders?: Record<number, string[]>
  /** bidders that may not be awarded this job */
  excluded?: string[]
  /** ms since the epoch */
  now: number
  score?: ScoreOptions
  /**
   * spread shards over bidders: a bidder holding fewer slots of this job
   * wins over a better-scoring one holding more (data- and pipeline-parallel
   * jobs want one shard per worker; a worker still takes more when no other
   * bidder has room)
   *
   * @default false
   */
  spread?: boolean
}

/** One award decided by {@link planAwards}. */
export interface PlannedAward extends OpenSlot {
  bidder: string
  units: number
  pricePerUnit: number
  score: number
}

/** The result of {@link planAwards}. */
export interface AwardPlan {
  awards: PlannedAward[]
  /** slots no bid could take, each with the reason */
  unplaced: Array<OpenSlot & { reason: string }>
}

/** Ranks bids for a shard of `units`: eligible ones, best first (lowest score, then PeerId). */
export function rankBids (terms: AuctionTerms, bids: AuctionBid[], units: number, now: number, options: ScoreOptions = {}): Array<{ bid: AuctionBid, score: number }> {
  return bids.filter(b => ineligibility(terms, b, now) == null)
    .map(bid => ({ bid, score: scoreBid(terms, bid, units, options) }))
    .sort((a, b) => a.score - b.score || (a.bid.bidder < b.bid.bidder ? -1 : a.bid.bidder > b.bid.bidder ? 1 : 0))
}

/**
 * Places open slots on bids (rules in the module docs). Deterministic:
 * equal inputs give equal plans, whatever the order of `bids` and `open`.
 */
export function planAwards (input: PlanInput): AwardPlan {
  const { terms, now } = input
  const excluded = new Set(input.excluded ?? [])
  const reasons = new Map<string, number>()
  const eligible: AuctionBid[] = []
  for (const bid of input.bids) {
    const why = excluded.has(bid.bidder) ? 'bidder excluded (lost a lease of this job)' : ineligibility(terms, bid, now)
    if (why != null) reasons.set(why, (reasons.get(why) ?? 0) + 1)
    else eligible.push(bid)
  }
  const used = new Map<string, number>(Object.entries(input.held ?? {}))
  const holders = new Map<number, Set<string>>()
  for (const [k, v] of Object.entries(input.shardHolders ?? {})) holders.set(Number(k), new Set(v))

  const slots = [...input.open].sort((a, b) => {
    const ua = terms.shardUnits[a.shardIndex] ?? 0
    const ub = terms.shardUnits[b.shardIndex] ?? 0
    return ub - ua || a.shardIndex - b.shardIndex || a.replica - b.replica
  })
  const plan: AwardPlan = { awards: [], unplaced: [] }
  for (const slot of slots) {
    const units = terms.shardUnits[slot.shardIndex]
    if (units == null) {
      plan.unplaced.push({ ...slot, reason: 'no such shard' })
      continue
    }
    const onShard = holders.get(slot.shardIndex) ?? new Set<string>()
    let best: { bid: AuctionBid, score: number } | undefined
    let full = 0
    for (const bid of eligible) {
      if (onShard.has(bid.bidder)) continue
      if ((used.get(bid.bidder) ?? 0) >= bid.capacity) { full++; continue }
      const score = scoreBid(terms, bid, units, input.score)
      const load = input.spread === true ? (used.get(bid.bidder) ?? 0) : 0
      const bestLoad = best != null && input.spread === true ? (used.get(best.bid.bidder) ?? 0) : 0
      if (best == null || load < bestLoad || (load === bestLoad && (score < best.score || (score === best.score && bid.bidder < best.bid.bidder)))) best = { bid, score }
    }
    if (best == null) {
      let reason: string
      if (input.bids.length === 0) reason = 'no bids'
      else if (eligible.length === 0) reason = `no eligible bid (${[...reasons].map(([r, n]) => `${n}× ${r}`).join(', ')})`
      else if (full > 0) reason = 'every eligible bidder is at capacity or holds a replica of this shard'
      else reason = 'every eligible bidder holds a replica of this shard'
      plan.unplaced.push({ ...slot, reason })
      continue
    }
    used.set(best.bid.bidder, (used.get(best.bid.bidder) ?? 0) + 1)
    onShard.add(best.bid.bidder)
    holders.set(slot.shardIndex, onShard)
    plan.awards.push({ ...slot, bidder: best.bid.bidder, units, pricePerUnit: best.bid.pricePerUnit, score: best.score })
  }
  return plan
}

/** Input of {@link shouldAwardEarly}: what {@link planAwards} takes, and what the requester heard so far. */
export interface EarlyAwardInput extends PlanInput {
  /**
   * acceptable bids needed before the bid window ends (see
   * {@link shouldAwardEarly}) @default the job's shard count
   */
  minBids?: number
  /** bidders whose RTT is still being measured (their bid's score is not final yet) */
  pendingRtt?: string[]
  /** the admitted peers of the offer's region (PeerId strings), the requester left out */
  regionPeers?: string[]
  /** workers that answered the offer with a refusal (NoBid, or a bid refused for price or reputation) */
  refused?: string[]
}

/** Result of {@link shouldAwardEarly}. */
export interface EarlyAwardDecision {
  /** award now instead of waiting out the bid window */
  award: boolean
  /** `enough-bids`: minBids acceptable bids place every open slot; `all-answered`: every region peer bid or refused, no more answers are coming; `waiting`: neither */
  reason: 'enough-bids' | 'all-answered' | 'waiting'
  /** acceptable bids held now */
  acceptable: number
}

/**
 * Whether a requester may award before its bid window ends. Pure.
 *
 * A bid is *acceptable* (better than the requester's reserve) when it is
 * eligible ({@link ineligibility}: asks at most `maxPricePerUnit`, its
 * bidder's reputation is at least `minReputation`, unexpired, certified
 * for the offer's region, capacity ≥ 1) and its bidder is not excluded
 * from the job. While the RTT of a bidder is still being measured
 * (`pendingRtt`), no early award is made: its score is not final.
 *
 * Award early when either
 * - `enough-bids`: at least `minBids` acceptable bids (default: the shard
 *   count), and {@link planAwards} over them places every open slot; or
 * - `all-answered`: every region peer not excluded from the job has bid or
 *   refused (`regionPeers`, at least one): waiting cannot bring another
 *   bid, so the plan is what the window's end would give.
 *
 * The bid window stays the upper bound; the awards themselves are then
 * planned by {@link planAwards} as ever (same score, same tie-break).
 */
export function shouldAwardEarly (input: EarlyAwardInput): EarlyAwardDecision {
  const excluded = new Set(input.excluded ?? [])
  const pending = new Set(input.pendingRtt ?? [])
  const acceptable = input.bids.filter(b => !excluded.has(b.bidder) && ineligibility(input.terms, b, input.now) == null)
  const decision = (award: boolean, reason: EarlyAwardDecision['reason']): EarlyAwardDecision => ({ award, reason, acceptable: acceptable.length })
  if (input.bids.some(b => pending.has(b.bidder))) return decision(false, 'waiting')
  const minBids = input.minBids ?? input.terms.shardUnits.length
  if (acceptable.length >= minBids && acceptable.length > 0 && planAwards({ ...input, bids: acceptable }).unplaced.length === 0) return decision(true, 'enough-bids')
  const peers = (input.regionPeers ?? []).filter(p => !excluded.has(p))
  if (peers.length > 0) {
    const answered = new Set([...input.bids.map(b => b.bidder), ...(input.refused ?? [])])
    if (peers.every(p => answered.has(p))) return decision(true, 'all-answered')
  }
  return decision(false, 'waiting')
}
