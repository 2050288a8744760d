import { logger } from '@libp2p/logger'
import { MAX_FORGOTTEN_JOBS } from './constants.js'
import type { DaemonMetrics } from './metrics.js'
import type { JobHandle, JobProgress, MeshNode, SubmitInit } from '@fleetmesh/peer'
import type { WireTensor } from '@fleetmesh/protocol'

const log = logger('fleetmesh:daemon:jobs')

/** Progress events kept per job (the newest). */
export const MAX_JOB_EVENTS = 50
/** Finished jobs kept (with their outputs) before the oldest are forgotten. */
export const MAX_FINISHED_JOBS = 100

/** A worker of a job as the API shows it. */
export interface JobWorkerView {
  /** worker PeerId string */
  peerId: string
  leaseId: string
  /** shard (data) or stage (pipeline) index */
  shard: number
  /** `leased` while the lease runs, `done` once the job is done (the lease ran to the end), `lost` when it was lost or handed back */
  state: 'leased' | 'done' | 'lost'
  /** why a lost lease was lost (`expired`, `disconnected`, `released: drained: driving`) */
  reason?: string
}

/** A job submitted through this daemon, as `GET /api/v1/jobs/:id` returns it. */
export interface JobView {
  jobId: string
  mode: 'data' | 'pipeline'
  /** model CID */
  model: string
  state: 'running' | 'done' | 'failed' | 'cancelled'
  /** ms since the epoch */
  submittedAt: number
  /** ms since the epoch */
  finishedAt?: number
  /** when anything of the view last changed, ms since the epoch (`GET /api/v1/jobs?since=` compares it) */
  updatedAt: number
  /** lost shards awarded again */
  reawards: number
  /** `Name: message` of the failure */
  error?: string
  /** the failure's fields */
  errorInfo?: JobErrorInfo
  /** batch size (dimension 0 of the inputs) */
  batch: number
  microBatches: { total: number, done: number }
  workers: JobWorkerView[]
  /** the last {@link MAX_JOB_EVENTS} progress events, oldest first */
  events: JobProgress[]
  /** the job's ledger settlement, once settled: receipts countersigned, receipts rejected, evidence reported */
  settlement?: { accepted: number, rejected: number, evidence: number }
}

/**
 * A job as `GET /api/v1/jobs` lists it: the view without its event log and
 * with its workers counted, not listed (a dashboard or `fleetmesh jobs`
 * polls it; `GET /api/v1/jobs/:id` has everything).
 */
export interface JobSummary extends Omit<JobView, 'events' | 'workers'> {
  /** distinct worker PeerIds, and leases by state */
  workers: { peers: number, leased: number, done: number, lost: number }
  /** the newest progress event */
  lastEvent?: JobProgress
}

/** The summary of a job view (pure). */
export function summarize (view: JobView): JobSummary {
  const { events, workers, ...rest } = view
  const count = (state: JobWorkerView['state']): number => workers.filter(w => w.state === state).length
  return {
    ...rest,
    workers: { peers: new Set(workers.map(w => w.peerId)).size, leased: count('leased'), done: count('done'), lost: count('lost') },
    ...(events.length > 0 ? { lastEvent: events[events.length - 1] } : {})
  }
}

/** A job to submit: the mesh's `SubmitInit` with a model CID. */
export interface JobRequest {
  /** model CID (uploaded with `POST /api/v1/models` or known to a provider) */
  model: string
  inputs: WireTensor[]
  mode: 'data' | 'pipeline'
  shards?: number
  stages?: number
  microBatch?: number
  /** most credits per compute unit */
  maxPrice: number
  /** time the job may take from submission, ms @default the mesh's (5 min) */
  deadlineMs?: number
  /** how long after the bid window a job with no acceptable bid may wait before it fails (the market's `placementTimeoutMs`), ms */
  graceMs?: number
  region?: string
  /** data residency: only workers certified in this jurisdiction (e.g. `eu`) @default none */
  jurisdiction?: string
}

/** Why a job failed, as structured data (from the error's fields) so the CLI can name the flag to change. */
export interface JobErrorInfo {
  /** the error's `name`, e.g. `NoBidsError` */
  name: string
  /** the error's `code`, e.g. `ERR_NO_BIDS` */
  code?: string
  /** NoBidsError: `no-workers`, `funds`, `price`, `reputation`, `jurisdiction`, `limits`, `busy` or `unknown` */
  reason?: string
  /** NoBidsError: the region offered in */
  region?: string
  /** NoBidsError: the job's most credits per compute unit */
  maxPricePerUnit?: number
  /** NoBidsError: the lowest price asked, credits per compute unit */
  lowestAsk?: number
}

interface Entry {
  view: JobView
  handle: JobHandle
  outputs?: WireTensor[]
  seqDone: Set<number>
  cancelled: boolean
}

/**
 * The jobs this daemon submitted: runs each through `node.submit()`,
 * follows its progress events, keeps its outputs for
 * `GET /api/v1/jobs/:id/result`, and forgets the oldest finished jobs
 * beyond {@link MAX_FINISHED_JOBS}.
 */
export class JobTracker {
  private readonly jobs = new Map<string, Entry>()
  /** ids of forgotten jobs with when they were forgotten, oldest first */
  private readonly forgotten: Array<{ jobId: string, at: number }> = []
  private readonly listeners = new Set<(p: JobProgress) => void>()
  private readonly node: MeshNode
  private readonly metrics?: DaemonMetrics

  constructor (node: MeshNode, metrics?: DaemonMetrics) {
    this.node = node
    this.metrics = metrics
  }

  /**
   * Submits a job to the mesh and starts following it.
   *
   * @throws ModelsUnavailableError if the node has no model store (other failures end the job as `failed`)
   */
  submit (req: JobRequest): JobView {
    const init: SubmitInit = {
      model: req.model,
      inputs: req.inputs,
      mode: req.mode,
      shards: req.shards,
      stages: req.stages,
      microBatch: req.microBatch,
      maxPrice: req.maxPrice,
      deadline: req.deadlineMs != null ? Date.now() + req.deadlineMs : undefined,
      region: req.region,
      // the market fails a job with no acceptable bid after the bid window plus this grace
      placementTimeoutMs: req.graceMs,
      jurisdiction: req.jurisdiction
    }
    const handle = this.node.submit(init)
    const batch = req.inputs[0]?.dims[0] ?? 0
    const view: JobView = {
      jobId: handle.jobId,
      mode: req.mode,
      model: req.model,
      state: 'running',
      submittedAt: Date.now(),
      updatedAt: Date.now(),
      reawards: 0,
      batch,
      microBatches: { total: this.microBatchCount(req, batch), done: 0 },
      workers: [],
      events: []
    }
    const entry: Entry = { view, handle, seqDone: new Set(), cancelled: false }
    this.jobs.set(handle.jobId, entry)
    void this.follow(entry)
    handle.result.then((outputs) => {
      entry.outputs = outputs
      this.finish(entry, 'done')
    }, (err: any) => {
      view.errorInfo = errorInfo(err)
      this.finish(entry, entry.cancelled ? 'cancelled' : 'failed', `${err?.name ?? 'Error'}: ${err?.message ?? err}`)
    })
    const settlement = (handle as Partial<JobHandle> & { settlement?: Promise<any> }).settlement
    settlement?.then((s: any) => {
      view.settlement = { accepted: s?.accepted?.length ?? 0, rejected: s?.rejected?.length ?? 0, evidence: s?.evidence?.length ?? 0 }
      view.updatedAt = Date.now()
    }, () => {})
    this.prune()
    return view
  }

  /**
   * Micro-batches the job is cut into (the inference service's rule: a fixed model batch size wins, then `microBatch`, then batch / (4 × shards) or batch / (2 × stages)).
   * A pipeline without `microBatch` sizes them from a probe: its `micro-batch-chosen` event then gives the count.
   */
  private microBatchCount (req: JobRequest, batch: number): number {
    if (batch < 1) return 0
    let fixed: number | undefined
    try {
      const store = this.node.modelStore
      const dim = store?.has(req.model) === true ? store.info(req.model).info.inputs[0]?.shape[0] : undefined
      if (typeof dim === 'number') fixed = dim
    } catch {}
    const parts = req.mode === 'data' ? (req.shards ?? 2) : (req.stages ?? 2)
    const micro = Math.min(batch, fixed ?? req.microBatch ?? Math.max(1, Math.ceil(batch / (parts * (req.mode === 'data' ? 4 : 2)))))
    return Math.ceil(batch / micro)
  }

  private async follow (entry: Entry): Promise<void> {
    const { view } = entry
    try {
      for await (const p of entry.handle) {
        view.events.push(p)
        if (view.events.length > MAX_JOB_EVENTS) view.events.splice(0, view.events.length - MAX_JOB_EVENTS)
        view.updatedAt = Date.now()
        this.metrics?.onProgress(p)
        for (const listener of this.listeners) listener(p)
        if (p.type === 're-awarded') view.reawards++
        // a pipeline that sized its micro-batches from a probe: the count is known now
        if (p.type === 'micro-batch-chosen') view.microBatches.total = p.microBatches
        if (p.type === 'awarded') {
          view.workers.push({ peerId: p.worker, leaseId: p.leaseId, shard: p.shard, state: 'leased' })
        } else if (p.type === 'lease-lost') {
          for (const w of view.workers) {
            if (w.leaseId !== p.leaseId) continue
            w.state = 'lost'
            if (p.reason != null) w.reason = p.reason
          }
        } else if (p.type === 'shard-finished') {
          entry.seqDone.add(p.seq)
          view.microBatches.done = Math.min(entry.seqDone.size, Math.max(view.microBatches.total, entry.seqDone.size))
          view.microBatches.total = Math.max(view.microBatches.total, view.microBatches.done)
        }
      }
    } catch (err: any) {
      log.error('following job %s failed - %s', view.jobId, err?.message ?? err)
    }
  }

  private finish (entry: Entry, state: 'done' | 'failed' | 'cancelled', error?: string): void {
    const { view } = entry
    if (view.state !== 'running') return
    view.state = state
    view.finishedAt = view.updatedAt = Date.now()
    if (state === 'done') view.microBatches.done = view.microBatches.total
    // the job's end ends every lease still running: done with it, or lost with the job
    for (const w of view.workers) {
      if (w.state !== 'leased') continue
      w.state = state === 'done' ? 'done' : 'lost'
      if (state !== 'done') w.reason = `job ${state}`
    }
    if (error != null) view.error = error
    this.metrics?.jobs.inc({ state })
    this.metrics?.jobDuration.observe({ state }, (view.finishedAt - view.submittedAt) / 1000)
    log('job %s %s%s', view.jobId, state, error != null ? ` - ${error}` : '')
  }

  private prune (): void {
    const finished = [...this.jobs.values()].filter(e => e.view.state !== 'running')
    for (const e of finished.slice(0, Math.max(0, finished.length - MAX_FINISHED_JOBS))) {
      this.jobs.delete(e.view.jobId)
      this.forgotten.push({ jobId: e.view.jobId, at: Date.now() })
    }
    if (this.forgotten.length > MAX_FORGOTTEN_JOBS) this.forgotten.splice(0, this.forgotten.length - MAX_FORGOTTEN_JOBS)
  }

  /** Calls `listener` with every progress event of every job this daemon follows; returns the function that removes it. */
  onProgress (listener: (p: JobProgress) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /**
   * The summaries of the jobs that changed after `since` (ms since the
   * epoch; 0 = every job), newest first, with the ids of the jobs forgotten
   * since then and the total the tracker holds. A client that keeps the
   * summaries it got and asks again with the `now` of the previous answer
   * sees every change once.
   */
  changes (since = 0): { now: number, total: number, jobs: JobSummary[], forgotten: string[] } {
    // `now` is taken first and compared with `>=` on the next call's side, so an update in this very ms is not lost
    const now = Date.now()
    const jobs = this.list().filter(v => since === 0 || v.updatedAt >= since).map(summarize)
    const forgotten = since === 0 ? [] : this.forgotten.filter(f => f.at >= since).map(f => f.jobId)
    return { now, total: this.jobs.size, jobs, forgotten }
  }

  /** Every job, newest first. */
  list (): JobView[] {
    return [...this.jobs.values()].map(e => e.view).sort((a, b) => b.submittedAt - a.submittedAt)
  }

  /** One job; undefined if unknown (or forgotten). */
  get (jobId: string): JobView | undefined {
    return this.jobs.get(jobId)?.view
  }

  /** The outputs of a job that is done; undefined if unknown or not done. */
  outputs (jobId: string): WireTensor[] | undefined {
    return this.jobs.get(jobId)?.outputs
  }

  /** Cancels a running job. Returns false if the job is unknown or no longer running. */
  cancel (jobId: string, reason = 'cancelled through the API'): boolean {
    const entry = this.jobs.get(jobId)
    if (entry == null || entry.view.state !== 'running') return false
    entry.cancelled = true
    entry.handle.cancel(reason)
    return true
  }

  /** Cancels every running job (the daemon is stopping). */
  stop (): void {
    for (const e of this.jobs.values()) if (e.view.state === 'running') this.cancel(e.view.jobId, 'the daemon is stopping')
  }
}

function errorInfo (err: any): JobErrorInfo {
  const info: JobErrorInfo = { name: String(err?.name ?? 'Error') }
  if (typeof err?.code === 'string') info.code = err.code
  if (typeof err?.reason === 'string') info.reason = err.reason
  if (typeof err?.region === 'string') info.region = err.region
  if (typeof err?.maxPricePerUnit === 'number') info.maxPricePerUnit = err.maxPricePerUnit
  if (typeof err?.lowestAsk === 'number') info.lowestAsk = err.lowestAsk
  return info
}
