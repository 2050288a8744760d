import { bidsWantedFor, estimateRegionWorkers } from './bid-draw.js'
import { MAX_REGION_ESTIMATES } from './constants.js'
import type { Job } from './job.js'

/**
 * The requester's side of bid sampling (bid-draw.ts): how many workers of
 * a region it expects to bid, learned from the bids its own sampled
 * offers brought, and the sample each offer states. Used by requester.ts.
 */
export class RegionWorkerEstimates {
  /** region -> estimated workers that would bid; oldest region forgotten first past MAX_REGION_ESTIMATES */
  private readonly byRegion = new Map<string, number>()

  /**
   * The estimate for `region`: the learned one, else `admitted` (the
   * region's admitted, connected peers: a first guess that counts only the
   * peers this node knows), else undefined (no sampling).
   */
  get (region: string, admitted: number): number | undefined {
    return this.byRegion.get(region) ?? (admitted > 0 ? admitted : undefined)
  }

  /**
   * Learns from a job that ended: its first offer's sample and the
   * bidders heard for it ({@link estimateRegionWorkers}), averaged with
   * the estimate held (one offer's count is a binomial draw). A job that
   * heard no bid teaches nothing.
   */
  learn (job: Job): void {
    const sample = job.sample
    if (sample == null) return
    const fresh = estimateRegionWorkers(sample, sample.bidders.size)
    if (fresh == null) return
    const old = this.byRegion.get(job.region)
    this.byRegion.delete(job.region)
    this.byRegion.set(job.region, old == null ? fresh : Math.ceil((old + fresh) / 2))
    for (const region of this.byRegion.keys()) {
      if (this.byRegion.size <= MAX_REGION_ESTIMATES) break
      this.byRegion.delete(region)
    }
  }

  /**
   * The sample an offer round of `job` states (`JobOffer.bidsWanted`,
   * `regionWorkers`): `bidsWantedFor` its open slots and round, against
   * this region's estimate; none (every worker bids) when the job asks for
   * every bid or nothing is known of the region. Remembers the first
   * round's sample on the job.
   *
   * @param openSlots - shard replicas the round places
   * @param admitted - admitted, connected peers of the job's region
   */
  sampleFor (job: Job, openSlots: number, admitted: number): { bidsWanted?: number, regionWorkers?: number } {
    const bidsWanted = bidsWantedFor(openSlots, job.round, job.bidsWanted)
    const regionWorkers = this.get(job.region, admitted)
    if (bidsWanted === 0 || regionWorkers == null) return {}
    if (job.round === 0) job.sample = { bidsWanted, regionWorkers, bidders: new Set() }
    return { bidsWanted, regionWorkers }
  }
}
