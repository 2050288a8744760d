import type { LeaseState } from './index.js'
import type { MarketErrorCode, MarketValidationVerdict } from './messages.js'
import type { CounterGroup, Metrics } from '@libp2p/interface'

/**
 * The market's metrics, registered through `components.metrics` when the
 * node has a metrics implementation (optional: without one every call is a
 * no-op). Counters only, `_total`, labels from fixed enums:
 *
 * - `fleetmesh_market_offers_total{event}`: `published` (requester), `received` (worker, validated)
 * - `fleetmesh_market_bids_total{event}`: `sent` (worker), `received` (requester, entered or refused), `refused` (requester: price, reputation, table full)
 * - `fleetmesh_market_awards_total{event}`: `sent` (requester), `accepted`, `declined` (worker)
 * - `fleetmesh_market_leases_ended_total{reason}`: a terminal LeaseState (either side)
 * - `fleetmesh_market_gossip_validation_total{outcome}`: `<offers|bids>:<accept|ignore|reject>:<code>`, code one of MARKET_ERROR_CODES or OK
 * - `fleetmesh_market_direct_refused_total{code}`: inbound direct messages refused, by MARKET_ERROR_CODES code
 */
export class MarketMetrics {
  private readonly offers?: CounterGroup
  private readonly bids?: CounterGroup
  private readonly awards?: CounterGroup
  private readonly leasesEnded?: CounterGroup
  private readonly gossip?: CounterGroup
  private readonly direct?: CounterGroup

  constructor (metrics?: Metrics) {
    if (metrics == null) return
    this.offers = metrics.registerCounterGroup('fleetmesh_market_offers_total', { label: 'event', help: 'job offers published by this requester or received by this worker' })
    this.bids = metrics.registerCounterGroup('fleetmesh_market_bids_total', { label: 'event', help: 'bids sent by this worker, received or refused by this requester' })
    this.awards = metrics.registerCounterGroup('fleetmesh_market_awards_total', { label: 'event', help: 'awards sent by this requester, accepted or declined by this worker' })
    this.leasesEnded = metrics.registerCounterGroup('fleetmesh_market_leases_ended_total', { label: 'reason', help: 'leases that ended, by final state' })
    this.gossip = metrics.registerCounterGroup('fleetmesh_market_gossip_validation_total', { label: 'outcome', help: 'market gossip validation results, by topic kind, verdict and error code' })
    this.direct = metrics.registerCounterGroup('fleetmesh_market_direct_refused_total', { label: 'code', help: 'inbound direct market messages refused, by error code' })
  }

  offer (event: 'published' | 'received'): void { this.offers?.increment({ [event]: true }) }
  bid (event: 'sent' | 'received' | 'refused'): void { this.bids?.increment({ [event]: true }) }
  award (event: 'sent' | 'accepted' | 'declined'): void { this.awards?.increment({ [event]: true }) }
  leaseEnded (state: LeaseState): void { this.leasesEnded?.increment({ [state]: true }) }
  gossipValidation (kind: 'offer' | 'bid', verdict: MarketValidationVerdict, code: MarketErrorCode | 'OK'): void {
    this.gossip?.increment({ [`${kind === 'offer' ? 'offers' : 'bids'}:${verdict}:${code}`]: true })
  }

  directRefused (code: MarketErrorCode): void { this.direct?.increment({ [code]: true }) }
}
