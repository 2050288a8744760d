import { createHash } from 'node:crypto'
import { BIDS_WANTED_PER_SLOT, MAX_BIDS_WANTED, MIN_BIDS_WANTED } from './constants.js'

/**
 * Bid sampling, as pure functions: a requester asks a region for about
 * `bidsWanted` bids and states how many of the region's workers it
 * expects to bid (`regionWorkers`); each worker that would bid draws a
 * number from a hash of the offer and its own PeerId and bids only if the
 * draw falls below `bidsWanted / regionWorkers`. So an offer to a region
 * of hundreds of workers brings tens of bids, not hundreds: each bid is
 * validated and relayed by every station of the region, and the
 * requester's own award path (the accepts, the award streams) waits
 * behind that work (bench/scale at 200 nodes: 99 bids a job, heard 0.9–2 s
 * after the offer).
 *
 * The draw is deterministic: anyone can check that a bidder was drawn,
 * and a worker draws again only in a new offer round. A worker that
 * refuses (NoBid) does so whatever its draw, so "every worker refused"
 * still means what it says; a worker not drawn stays silent.
 */

/** What of an offer the draw reads. */
export interface BidSample {
  jobId: string
  /** offer round (0, then +1 per re-offer) */
  round: number
  /** bids the requester wants (absent or 0: every worker bids) */
  bidsWanted?: number
  /** the requester's estimate of the region's workers that would bid (absent or 0: every worker bids) */
  regionWorkers?: number
}

/** The share of would-be bidders an offer asks to bid, 0..1 (1: every one). */
export function bidShare (sample: Pick<BidSample, 'bidsWanted' | 'regionWorkers'>): number {
  const wanted = sample.bidsWanted ?? 0
  const workers = sample.regionWorkers ?? 0
  if (wanted <= 0 || workers <= 0 || wanted >= workers) return 1
  return wanted / workers
}

/**
 * A worker's draw for an offer round, uniform in [0, 1): the first 48 bits
 * of SHA-256(`jobId`, NUL, `round`, NUL, `bidder`) over 2^48.
 *
 * @param bidder - the worker's PeerId string
 */
export function bidDraw (jobId: string, round: number, bidder: string): number {
  const digest = createHash('sha256').update(`${jobId}\u0000${round}\u0000${bidder}`).digest()
  return digest.readUIntBE(0, 6) / 2 ** 48
}

/** Whether `bidder` (a PeerId string) is drawn to bid on the offer: its {@link bidDraw} is below {@link bidShare}. */
export function bidDrawn (sample: BidSample, bidder: string): boolean {
  const share = bidShare(sample)
  return share >= 1 || bidDraw(sample.jobId, sample.round, bidder) < share
}

/**
 * The bids a requester asks for in an offer round: `spec` if given (0:
 * every worker bids), else `max(MIN_BIDS_WANTED, BIDS_WANTED_PER_SLOT ×
 * openSlots)`; doubled for each re-offer round (a round with too few bids
 * widens the next), at most MAX_BIDS_WANTED.
 *
 * @param openSlots - shard replicas the round places
 * @param round - offer round (0 for the first offer)
 * @param spec - `JobSpec.bidsWanted`
 */
export function bidsWantedFor (openSlots: number, round: number, spec?: number): number {
  if (spec === 0) return 0
  const base = spec ?? Math.max(MIN_BIDS_WANTED, BIDS_WANTED_PER_SLOT * Math.max(1, openSlots))
  return Math.min(MAX_BIDS_WANTED, Math.round(base * 2 ** Math.min(16, Math.max(0, round))))
}

/**
 * The requester's estimate of a region's workers that would bid, after an
 * offer stated `sample` and brought `bids` bidders: `bids / share` (each
 * would-be bidder was drawn with that share), rounded up; undefined when
 * nothing was heard (no estimate).
 */
export function estimateRegionWorkers (sample: Pick<BidSample, 'bidsWanted' | 'regionWorkers'>, bids: number): number | undefined {
  if (bids <= 0) return undefined
  return Math.ceil(bids / bidShare(sample))
}
