import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { JobProgress } from '@fleetmesh/peer'

/**
 * Prometheus metrics of one daemon. Each daemon has its own prom-client
 * {@link Registry} (never the process-wide global one), so several daemons
 * in one process (tests) do not collide on metric names; libp2p's own
 * metrics (`@libp2p/prometheus-metrics`) are registered in the same
 * registry. Every fleetmesh metric is named `fleetmesh_*`; label values are
 * fixed enums.
 */

/** Shard latency histogram buckets, ms. */
export const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000]

/** Bytes moved by the inference protocol, as `InferenceService.counters` reports them. */
export interface InferByteCounters {
  inputBytesSent: number
  inputBytesReceived: number
  activationBytesSent: number
  activationBytesReceived: number
  resultBytesSent: number
  resultBytesReceived: number
}

/** The fleetmesh metrics of one daemon. */
export class DaemonMetrics {
  /** the daemon's registry: fleetmesh and libp2p metrics */
  readonly registry: Registry
  readonly offersReceived: Counter
  readonly offersPublished: Counter
  readonly bids: Counter<'side'>
  readonly awards: Counter
  readonly leases: Counter<'side' | 'state'>
  readonly reawards: Counter
  readonly jobs: Counter<'state'>
  readonly microBatchLatency: Histogram
  readonly microBatchCompute: Histogram
  readonly inferBytes: Counter<'kind' | 'direction'>
  readonly ledgerEntries: Counter<'kind' | 'source'>
  readonly reconcileRounds: Counter<'role'>
  readonly peers: Gauge<'role'>
  readonly leasesHeld: Gauge

  private inferSource?: () => InferByteCounters | undefined
  private readonly inferSeen: InferByteCounters = { inputBytesSent: 0, inputBytesReceived: 0, activationBytesSent: 0, activationBytesReceived: 0, resultBytesSent: 0, resultBytesReceived: 0 }
  private readonly started = new Map<string, number>()

  /**
   * @param peerSource - returns the peer table's roles, read at scrape time
   * @param leaseSource - returns the number of leases this worker holds, read at scrape time
   */
  constructor (peerSource: () => Array<{ role: string }> = () => [], leaseSource: () => number = () => 0) {
    const registry = this.registry = new Registry()
    const registers = [registry]
    this.offersReceived = new Counter({ name: 'fleetmesh_offers_received_total', help: 'job offers that reached this worker', registers })
    this.offersPublished = new Counter({ name: 'fleetmesh_offers_published_total', help: 'job offers (first rounds and re-offers) this requester published', registers })
    this.bids = new Counter({ name: 'fleetmesh_bids_total', help: 'bids: received (requester), sent or skipped (worker)', labelNames: ['side'], registers })
    this.awards = new Counter({ name: 'fleetmesh_awards_total', help: 'shard leases awarded by this requester', registers })
    this.leases = new Counter({ name: 'fleetmesh_lease_transitions_total', help: 'lease state changes, by side and new state', labelNames: ['side', 'state'], registers })
    this.reawards = new Counter({ name: 'fleetmesh_reawards_total', help: 're-award rounds of this requester\'s jobs after lost leases', registers })
    this.jobs = new Counter({ name: 'fleetmesh_jobs_total', help: 'jobs submitted through this daemon, by final state', labelNames: ['state'], registers })
    this.microBatchLatency = new Histogram({ name: 'fleetmesh_shard_latency_ms', help: 'micro-batch latency at the requester, dispatch to result, ms', buckets: LATENCY_BUCKETS_MS, registers })
    this.microBatchCompute = new Histogram({ name: 'fleetmesh_shard_compute_ms', help: 'micro-batch compute time reported by the worker, ms', buckets: LATENCY_BUCKETS_MS, registers })
    const self = this
    this.inferBytes = new Counter({
      name: 'fleetmesh_infer_bytes_total',
      help: 'bytes streamed on /fleetmesh/infer, by kind (input, activation, result) and direction',
      labelNames: ['kind', 'direction'],
      registers,
      collect () { self.collectInferBytes() }
    })
    this.ledgerEntries = new Counter({ name: 'fleetmesh_ledger_entries_stored_total', help: 'ledger entries stored, by kind (receipt, evidence) and source (local, gossip, reconcile)', labelNames: ['kind', 'source'], registers })
    this.reconcileRounds = new Counter({ name: 'fleetmesh_reconcile_rounds_total', help: 'ledger reconciliation sessions, by role (initiator, responder)', labelNames: ['role'], registers })
    this.peers = new Gauge({
      name: 'fleetmesh_peers',
      help: 'admitted, connected peers, by role',
      labelNames: ['role'],
      registers,
      collect () {
        const counts: Record<string, number> = { station: 0, vehicle: 0 }
        for (const p of peerSource()) counts[p.role] = (counts[p.role] ?? 0) + 1
        for (const [role, n] of Object.entries(counts)) this.set({ role }, n)
      }
    })
    this.leasesHeld = new Gauge({ name: 'fleetmesh_leases_held', help: 'leases this worker holds now', registers, collect () { this.set(leaseSource()) } })
  }

  /** Reads inference byte counters at scrape time from `source`. */
  trackInferBytes (source: () => InferByteCounters | undefined): void {
    this.inferSource = source
  }

  private collectInferBytes (): void {
    const now = this.inferSource?.()
    if (now == null) return
    const kinds: Array<[keyof InferByteCounters, string, string]> = [
      ['inputBytesSent', 'input', 'sent'], ['inputBytesReceived', 'input', 'received'],
      ['activationBytesSent', 'activation', 'sent'], ['activationBytesReceived', 'activation', 'received'],
      ['resultBytesSent', 'result', 'sent'], ['resultBytesReceived', 'result', 'received']
    ]
    for (const [field, kind, direction] of kinds) {
      const delta = (now[field] ?? 0) - this.inferSeen[field]
      if (delta > 0) {
        this.inferBytes.inc({ kind, direction }, delta)
        this.inferSeen[field] = now[field]
      }
    }
  }

  /** Counts one job progress event (re-awards, micro-batch latency and compute time). Final job states are counted by the job tracker in `jobs`. */
  onProgress (p: JobProgress): void {
    switch (p.type) {
      case 're-awarded': this.reawards.inc(); break
      case 'shard-started': this.started.set(`${p.jobId}/${p.seq}/${p.worker}`, p.at); break
      case 'shard-finished': {
        this.microBatchCompute.observe(p.computeMs)
        const key = `${p.jobId}/${p.seq}/${p.worker}`
        const at = this.started.get(key)
        if (at != null) {
          this.microBatchLatency.observe(Math.max(0, p.at - at))
          this.started.delete(key)
        }
        break
      }
      case 'done': case 'failed': this.forget(p.jobId); break
      default: break
    }
  }

  private forget (jobId: string): void {
    for (const key of this.started.keys()) if (key.startsWith(`${jobId}/`)) this.started.delete(key)
  }

  /** The Prometheus text exposition of every metric in the registry. */
  async text (): Promise<string> {
    return this.registry.metrics()
  }
}
