import { bidsTopic, offersTopic } from '@fleetmesh/protocol'

/** Gossipsub topic score parameters of one topic (the subset the market sets). */
export interface MarketTopicScoreParams {
  topicWeight: number
  timeInMeshWeight: number
  timeInMeshQuantum: number
  timeInMeshCap: number
  firstMessageDeliveriesWeight: number
  firstMessageDeliveriesDecay: number
  firstMessageDeliveriesCap: number
  meshMessageDeliveriesWeight: number
  meshMessageDeliveriesDecay: number
  meshMessageDeliveriesCap: number
  meshMessageDeliveriesThreshold: number
  meshMessageDeliveriesWindow: number
  meshMessageDeliveriesActivation: number
  meshFailurePenaltyWeight: number
  meshFailurePenaltyDecay: number
  invalidMessageDeliveriesWeight: number
  invalidMessageDeliveriesDecay: number
}

/**
 * Recommended gossipsub topic score parameters for the offers and bids
 * topics of `regions`. Only invalid deliveries count (P4): each rejected
 * message adds 1 to the sender's counter, which decays by 10 % per decay
 * interval; the penalty is `-10 × counter²`. Mesh-delivery terms are off:
 * offers and bids are bursty and a quiet worker is not a bad one.
 * Pass them as `gossip: { scoreParams: { topics: marketTopicScoreParams(['u33d']) } }`.
 *
 * @throws InvalidRegionError for a region that is not a geohash prefix
 */
export function marketTopicScoreParams (regions: string[]): Record<string, MarketTopicScoreParams> {
  const params: MarketTopicScoreParams = {
    topicWeight: 1,
    timeInMeshWeight: 0,
    timeInMeshQuantum: 1000,
    timeInMeshCap: 1,
    firstMessageDeliveriesWeight: 0,
    firstMessageDeliveriesDecay: 0.5,
    firstMessageDeliveriesCap: 1,
    meshMessageDeliveriesWeight: 0,
    meshMessageDeliveriesDecay: 0.5,
    meshMessageDeliveriesCap: 1,
    meshMessageDeliveriesThreshold: 1,
    meshMessageDeliveriesWindow: 10,
    meshMessageDeliveriesActivation: 5000,
    meshFailurePenaltyWeight: 0,
    meshFailurePenaltyDecay: 0.5,
    invalidMessageDeliveriesWeight: -10,
    invalidMessageDeliveriesDecay: 0.9
  }
  const out: Record<string, MarketTopicScoreParams> = {}
  for (const r of regions) {
    out[offersTopic(r)] = { ...params }
    out[bidsTopic(r)] = { ...params }
  }
  return out
}
