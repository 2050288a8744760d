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

/** Micro-batch latency and compute histogram buckets, seconds (5 ms … 60 s). */
export const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
/** Job and lease duration histogram buckets, seconds (100 ms … 30 min). */
export const DURATION_BUCKETS_SECONDS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800]

/** What the vehicle gauges read at scrape time. */
export interface VehicleGaugeSource {
  /** `parked`, `charging`, `driving` or `unknown` */
  state: string
  /** 0..1, NaN when unknown */
  soc: number
  /** °C, NaN when unknown */
  batteryTempC: number
  /** ms since the epoch of the last report; undefined for a scripted source */
  heardAt?: number
  /** the market bids now */
  bidding: boolean
}

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
  readonly jobDuration: Histogram<'state'>
  readonly leaseDuration: Histogram<'side' | 'state'>
  readonly leasesLost: Counter<'side' | 'reason'>
  readonly inferBytes: Counter<'kind' | 'direction'>
  readonly peers: Gauge<'role' | 'region'>
  readonly leasesHeld: Gauge
  readonly buildInfo: Gauge<'version' | 'nodejs'>
  readonly vehicleState: Gauge<'state'>
  readonly vehicleSoc: Gauge
  readonly vehicleBatteryTemp: Gauge
  readonly vehicleReportAge: Gauge
  readonly vehicleBidding: Gauge

  private vehicleSource?: () => VehicleGaugeSource | undefined

  private inferSource?: () => InferByteCounters | undefined
  private readonly inferSeen: InferByteCounters = { inputBytesSent: 0, inputBytesReceived: 0, activationBytesSent: 0, activationBytesReceived: 0, resultBytesSent: 0, resultBytesReceived: 0 }
  private readonly started = new Map<string, number>()

  /**
   * @param peerSource - returns the peer table's roles and regions, read at scrape time
   * @param leaseSource - returns the number of leases this worker holds, read at scrape time
   * @param version - the daemon's version, for `fleetmesh_build_info`
   */
  constructor (peerSource: () => Array<{ role: string, region: string }> = () => [], leaseSource: () => number = () => 0, version = '0.0.0') {
    const registry = this.registry = new Registry()
    const registers = [registry]
    const self = this
    this.offersReceived = new Counter({ name: 'fleetmesh_offers_received_total', help: 'job offers that reached this worker', registers })
    this.offersPublished = new Counter({ name: 'fleetmesh_offers_published_total', help: 'job offers (first rounds and re-offers) this requester published', registers })
    this.bids = new Counter({ name: 'fleetmesh_bids_total', help: 'bids: received (requester), sent or skipped (worker)', labelNames: ['side'], registers })
    this.awards = new Counter({ name: 'fleetmesh_awards_total', help: 'shard leases awarded by this requester', registers })
    this.leases = new Counter({ name: 'fleetmesh_lease_transitions_total', help: 'lease state changes, by side and new state', labelNames: ['side', 'state'], registers })
    this.reawards = new Counter({ name: 'fleetmesh_reawards_total', help: 're-award rounds of this requester\'s jobs after lost leases', registers })
    this.jobs = new Counter({ name: 'fleetmesh_jobs_total', help: 'jobs submitted through this daemon, by final state', labelNames: ['state'], registers })
    this.microBatchLatency = new Histogram({ name: 'fleetmesh_micro_batch_latency_seconds', help: 'micro-batch latency at the requester, dispatch to result, seconds', buckets: LATENCY_BUCKETS_SECONDS, registers })
    this.microBatchCompute = new Histogram({ name: 'fleetmesh_micro_batch_compute_seconds', help: 'micro-batch compute time the worker reported, observed at the requester, seconds', buckets: LATENCY_BUCKETS_SECONDS, registers })
    this.jobDuration = new Histogram({ name: 'fleetmesh_job_duration_seconds', help: 'jobs submitted through this daemon, submission to final state, by state, seconds', labelNames: ['state'], buckets: DURATION_BUCKETS_SECONDS, registers })
    this.leaseDuration = new Histogram({ name: 'fleetmesh_lease_duration_seconds', help: 'leases from award (requester) or acceptance (worker) to their end, by side and final state, seconds', labelNames: ['side', 'state'], buckets: DURATION_BUCKETS_SECONDS, registers })
    this.leasesLost = new Counter({ name: 'fleetmesh_leases_ended_early_total', help: 'leases that ended before their shard was done, by side and reason (expired, disconnected, released, declined, cancelled)', labelNames: ['side', 'reason'], registers })
    this.buildInfo = new Gauge({ name: 'fleetmesh_build_info', help: 'always 1; the labels name the daemon version and the Node.js version', labelNames: ['version', 'nodejs'], registers })
    this.buildInfo.set({ version, nodejs: process.versions.node }, 1)
    this.vehicleState = new Gauge({
      name: 'fleetmesh_vehicle_state',
      help: 'vehicles: 1 for the drive state the state source reports now (parked, charging, driving, unknown), 0 for the others',
      labelNames: ['state'],
      registers,
      collect () {
        const v = self.vehicleSource?.()
        if (v == null) return
        for (const state of ['parked', 'charging', 'driving', 'unknown']) this.set({ state }, v.state === state ? 1 : 0)
      }
    })
    this.vehicleSoc = new Gauge({ name: 'fleetmesh_vehicle_soc_ratio', help: 'vehicles: battery state of charge, 0..1 (NaN when unknown)', registers, collect () { const v = self.vehicleSource?.(); if (v != null) this.set(v.soc) } })
    this.vehicleBatteryTemp = new Gauge({ name: 'fleetmesh_vehicle_battery_temperature_celsius', help: 'vehicles: battery temperature, degrees Celsius (NaN when unknown)', registers, collect () { const v = self.vehicleSource?.(); if (v != null) this.set(v.batteryTempC) } })
    this.vehicleReportAge = new Gauge({ name: 'fleetmesh_vehicle_state_age_seconds', help: 'vehicles: seconds since the state source last heard from the vehicle (0 for a scripted source)', registers, collect () { const v = self.vehicleSource?.(); if (v != null) this.set(v.heardAt != null ? Math.max(0, (Date.now() - v.heardAt) / 1000) : 0) } })
    this.vehicleBidding = new Gauge({ name: 'fleetmesh_vehicle_bidding', help: 'vehicles: 1 while the vehicle bids on offers, 0 while its state or its owner\'s rule keeps it from working', registers, collect () { const v = self.vehicleSource?.(); if (v != null) this.set(v.bidding ? 1 : 0) } })
    this.inferBytes = new Counter({
      name: 'fleetmesh_infer_bytes_total',
      help: 'bytes streamed on /fleetmesh/infer, by kind (input, activation, result) and direction',
      labelNames: ['kind', 'direction'],
      registers,
      collect () { self.collectInferBytes() }
    })
    this.peers = new Gauge({
      name: 'fleetmesh_peers',
      help: 'admitted, connected peers, by role and region',
      labelNames: ['role', 'region'],
      registers,
      collect () {
        this.reset()
        const counts = new Map<string, { role: string, region: string, n: number }>()
        for (const p of peerSource()) {
          const key = `${p.role}/${p.region}`
          const c = counts.get(key) ?? { role: p.role, region: p.region, n: 0 }
          c.n++
          counts.set(key, c)
        }
        for (const c of counts.values()) this.set({ role: c.role, region: c.region }, c.n)
      }
    })
    this.leasesHeld = new Gauge({ name: 'fleetmesh_leases_held', help: 'leases this worker holds now', registers, collect () { this.set(leaseSource()) } })
  }

  /** Reads the vehicle gauges at scrape time from `source` (vehicle workers). */
  trackVehicle (source: () => VehicleGaugeSource | undefined): void {
    this.vehicleSource = source
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
        this.microBatchCompute.observe(p.computeMs / 1000)
        const key = `${p.jobId}/${p.seq}/${p.worker}`
        const at = this.started.get(key)
        if (at != null) {
          this.microBatchLatency.observe(Math.max(0, p.at - at) / 1000)
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
