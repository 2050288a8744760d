import { SERIES_SAMPLE_MS, SERIES_WINDOW_MS } from './constants.js'
import type { JobProgress } from '@fleetmesh/peer'

/**
 * The dashboard's time series: one sample of the daemon's activity every
 * {@link SERIES_SAMPLE_MS}, the last {@link SERIES_WINDOW_MS} kept in
 * memory (an hour: 360 samples). Rates and quantiles are over the interval
 * that ended at the sample; credits are the node's ledger totals at the
 * sample time.
 */

/** One sample of the series (`GET /api/v1/series`). */
export interface SeriesSample {
  /** end of the interval, ms since the epoch */
  at: number
  /** items (batch rows) of this node's jobs whose micro-batch results came back, per second */
  itemsPerSec: number
  /** compute units of the leases this node completed as a worker, per second */
  workerUnitsPerSec: number
  /** micro-batch latency of this node's jobs (dispatch to result), median, seconds; null with no micro-batch in the interval */
  latencyP50: number | null
  /** the same, 99th percentile, seconds */
  latencyP99: number | null
  /** credits this node earned as a worker (countersigned receipts), total at `at`; null without a ledger */
  creditsEarned: number | null
  /** credits this node spent as a requester, total at `at`; null without a ledger */
  creditsSpent: number | null
  /** admitted, connected peers by role at `at` */
  peers: Record<string, number>
}

/** What a sample reads at sample time. */
export interface SeriesSources {
  /** admitted peers' roles */
  peers: () => Array<{ role: string }>
  /** this node's earned/spent credit totals, if it runs a ledger */
  credits: () => { earned: number, spent: number } | undefined
}

/**
 * The `q` quantile (0..1) of `values` by linear interpolation between
 * closest ranks (numpy's default); null for no values. Pure.
 */
export function quantile (values: readonly number[], q: number): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const pos = Math.min(1, Math.max(0, q)) * (sorted.length - 1)
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  const a = sorted[lo] as number
  const b = sorted[hi] as number
  return a + (b - a) * (pos - lo)
}

/**
 * Records the series from job progress and lease events, sampling on a
 * timer (started by {@link start}); {@link since} gives the samples after a
 * time, so a dashboard fetches only what it has not seen.
 */
export class SeriesRecorder {
  private readonly samples: SeriesSample[] = []
  private readonly started = new Map<string, { at: number, items: number }>()
  private latencies: number[] = []
  private items = 0
  private workerUnits = 0
  private lastAt = Date.now()
  private timer?: ReturnType<typeof setInterval>
  private readonly sources: SeriesSources
  private readonly sampleMs: number
  private readonly windowMs: number

  /**
   * @param sources - read at each sample
   * @param sampleMs - sample interval, ms @default SERIES_SAMPLE_MS
   * @param windowMs - how much history is kept, ms @default SERIES_WINDOW_MS
   */
  constructor (sources: SeriesSources, sampleMs = SERIES_SAMPLE_MS, windowMs = SERIES_WINDOW_MS) {
    this.sources = sources
    this.sampleMs = sampleMs
    this.windowMs = windowMs
  }

  /** Takes a first sample now, then one every `sampleMs`. */
  start (): void {
    if (this.timer != null) return
    this.sample()
    this.timer = setInterval(() => { this.sample() }, this.sampleMs)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** Counts one progress event of a job this node submitted. */
  onProgress (p: JobProgress): void {
    if (p.type === 'shard-started') {
      this.started.set(`${p.jobId}/${p.seq}/${p.worker}`, { at: p.at, items: p.items })
    } else if (p.type === 'shard-finished') {
      const key = `${p.jobId}/${p.seq}/${p.worker}`
      const s = this.started.get(key)
      if (s == null) return
      this.started.delete(key)
      this.items += s.items
      this.latencies.push(Math.max(0, p.at - s.at) / 1000)
    } else if (p.type === 'done' || p.type === 'failed') {
      for (const key of this.started.keys()) if (key.startsWith(`${p.jobId}/`)) this.started.delete(key)
    }
  }

  /** Counts the compute units of a lease this node completed as a worker. */
  onWorkerLeaseCompleted (units: number): void {
    if (Number.isFinite(units) && units > 0) this.workerUnits += units
  }

  /** Closes the current interval into a sample (the timer calls it; tests may too). */
  sample (now = Date.now()): SeriesSample {
    const secs = Math.max(0.001, (now - this.lastAt) / 1000)
    const peers: Record<string, number> = {}
    for (const p of this.sources.peers()) peers[p.role] = (peers[p.role] ?? 0) + 1
    let credits: { earned: number, spent: number } | undefined
    try { credits = this.sources.credits() } catch {}
    const s: SeriesSample = {
      at: now,
      itemsPerSec: this.items / secs,
      workerUnitsPerSec: this.workerUnits / secs,
      latencyP50: quantile(this.latencies, 0.5),
      latencyP99: quantile(this.latencies, 0.99),
      creditsEarned: credits?.earned ?? null,
      creditsSpent: credits?.spent ?? null,
      peers
    }
    this.items = 0
    this.workerUnits = 0
    this.latencies = []
    this.lastAt = now
    this.samples.push(s)
    const oldest = now - this.windowMs
    while (this.samples.length > 0 && (this.samples[0] as SeriesSample).at < oldest) this.samples.shift()
    return s
  }

  /** The samples taken after `since` (ms since the epoch; 0 = all kept), oldest first. */
  since (since = 0): SeriesSample[] {
    return this.samples.filter(s => s.at > since)
  }
}
