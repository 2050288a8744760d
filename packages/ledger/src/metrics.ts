import type { Balances } from './balances.js'
import type { Metrics, CounterGroup } from '@libp2p/interface'

/**
 * The ledger's own Prometheus metrics, registered through libp2p's
 * `components.metrics` (so an embedder that gives libp2p a metrics
 * implementation gets them too). Base units, `_total` only on counters,
 * label values from fixed sets.
 */
export interface LedgerMetrics {
  /** entries stored by kind: `fleetmesh_ledger_receipts_stored_total{source}`, `fleetmesh_ledger_evidence_stored_total{source}`, `fleetmesh_ledger_grants_stored_total{source}` */
  stored: Record<'receipt' | 'evidence' | 'grant', CounterGroup<'local' | 'gossip' | 'reconcile'>>
  /** `fleetmesh_ledger_gossip_validation_total{result}`: accept, ignore, reject */
  gossipValidation: CounterGroup<'accept' | 'ignore' | 'reject'>
  /** `fleetmesh_ledger_gossip_rejected_total{code}`: the verification error code of each refused entry */
  gossipRejected: CounterGroup
  /** `fleetmesh_ledger_reconcile_sessions_total{role}`: initiator, responder */
  reconcileSessions: CounterGroup<'initiator' | 'responder'>
}

/**
 * Registers the ledger's metrics. Credits are calculated at scrape time from
 * the balances (the paying receipts only, so a verification re-run is not
 * paid twice): `fleetmesh_ledger_credits_earned_total`,
 * `fleetmesh_ledger_credits_spent_total` (this node, in credits) and
 * `fleetmesh_ledger_receipts` (countersigned receipts that move credits, a gauge).
 *
 * @param self - this node's PeerId string
 * @param balances - the ledger's current balances
 */
export function registerLedgerMetrics (metrics: Metrics, self: string, balances: () => Balances): LedgerMetrics {
  metrics.registerCounter('fleetmesh_ledger_credits_earned_total', { help: 'credits this node earned as a worker, from countersigned receipts', calculate: () => balances().peers[self]?.earned ?? 0 })
  metrics.registerCounter('fleetmesh_ledger_credits_spent_total', { help: 'credits this node spent as a requester, from countersigned receipts', calculate: () => balances().peers[self]?.spent ?? 0 })
  metrics.registerMetric('fleetmesh_ledger_receipts', { help: 'countersigned receipts that move credits, in the whole ledger', calculate: () => balances().receipts })
  return {
    stored: {
      receipt: metrics.registerCounterGroup('fleetmesh_ledger_receipts_stored_total', { label: 'source', help: 'countersigned receipts stored, by source (local, gossip, reconcile)' }) as CounterGroup<'local' | 'gossip' | 'reconcile'>,
      evidence: metrics.registerCounterGroup('fleetmesh_ledger_evidence_stored_total', { label: 'source', help: 'evidence entries stored, by source (local, gossip, reconcile)' }) as CounterGroup<'local' | 'gossip' | 'reconcile'>,
      grant: metrics.registerCounterGroup('fleetmesh_ledger_grants_stored_total', { label: 'source', help: 'credit grants stored, by source (local, gossip, reconcile)' }) as CounterGroup<'local' | 'gossip' | 'reconcile'>
    },
    gossipValidation: metrics.registerCounterGroup('fleetmesh_ledger_gossip_validation_total', { label: 'result', help: 'gossiped ledger entries by validation result (accept, ignore, reject)' }) as CounterGroup<'accept' | 'ignore' | 'reject'>,
    gossipRejected: metrics.registerCounterGroup('fleetmesh_ledger_gossip_rejected_total', { label: 'code', help: 'gossiped ledger entries refused, by error code' }),
    reconcileSessions: metrics.registerCounterGroup('fleetmesh_ledger_reconcile_sessions_total', { label: 'role', help: 'ledger reconciliation sessions, by role (initiator, responder)' }) as CounterGroup<'initiator' | 'responder'>
  }
}
