import { JobMode } from '@fleetmesh/protocol'
import type { OfferRequirements } from './index.js'
import type { JobOffer } from '@fleetmesh/protocol'
import type { PeerId } from '@libp2p/interface'

/** An offer a worker saw, with its requester. */
export interface KnownOffer {
  offer: JobOffer
  requester: PeerId
  requesterStr: string
}

/**
 * The offers a worker knows, by job id (an award is checked against its
 * offer), bounded twice: at most `perRequester` per requester and `max`
 * in all. Past either bound the oldest offer (of that requester, or of
 * anyone) is forgotten, so one requester's flood only displaces its own
 * offers. An offer for a job already known replaces it in place.
 */
export class KnownOffers {
  private readonly byJob = new Map<string, KnownOffer>()
  private readonly byRequester = new Map<string, Set<string>>()
  readonly max: number
  readonly perRequester: number

  /**
   * @param max - offers kept at most, all requesters together
   * @param perRequester - offers kept at most from one requester
   */
  constructor (max: number, perRequester: number) {
    this.max = max
    this.perRequester = perRequester
  }

  /** Keeps `known`; returns the job ids it displaced (forgotten to stay within the bounds). */
  set (known: KnownOffer): string[] {
    const jobId = known.offer.jobId
    const previous = this.byJob.get(jobId)
    if (previous != null && previous.requesterStr !== known.requesterStr) return [] // a job id belongs to its first requester
    const displaced: string[] = []
    if (previous == null) {
      const mine = this.byRequester.get(known.requesterStr) ?? new Set<string>()
      while (mine.size >= this.perRequester) displaced.push(this.forget(mine.values().next().value as string))
      while (this.byJob.size >= this.max) displaced.push(this.forget(this.byJob.keys().next().value as string))
      mine.add(jobId)
      this.byRequester.set(known.requesterStr, mine)
    }
    this.byJob.set(jobId, known)
    return displaced
  }

  get (jobId: string): KnownOffer | undefined {
    return this.byJob.get(jobId)
  }

  /** Forgets the offer of `jobId` (no-op if unknown); returns `jobId`. */
  forget (jobId: string): string {
    const k = this.byJob.get(jobId)
    if (k == null) return jobId
    this.byJob.delete(jobId)
    const mine = this.byRequester.get(k.requesterStr)
    mine?.delete(jobId)
    if (mine?.size === 0) this.byRequester.delete(k.requesterStr)
    return jobId
  }

  /** every known offer, oldest first */
  values (): IterableIterator<KnownOffer> {
    return this.byJob.values()
  }

  /** offers known now */
  get size (): number {
    return this.byJob.size
  }

  /** offers known now from `requester` (PeerId string) */
  countFrom (requester: string): number {
    return this.byRequester.get(requester)?.size ?? 0
  }
}

/** The requirements of an offer, as `canServe` sees them. */
export function requirementsOf (offer: JobOffer, requester: string): OfferRequirements {
  const req: OfferRequirements = { jobId: offer.jobId, requester, modelCid: offer.modelCid, mode: offer.mode === JobMode.PIPELINE ? 'pipeline' : 'data' }
  if (offer.modelBytes != null) req.modelBytes = Number(offer.modelBytes)
  if (offer.maxFrameBytes != null) req.maxFrameBytes = Number(offer.maxFrameBytes)
  if (offer.session === true) req.session = true
  if (offer.inputs.length > 0) req.inputs = offer.inputs.map(i => ({ name: i.name, dtype: i.dtype, dims: [...i.dims] }))
  return req
}
