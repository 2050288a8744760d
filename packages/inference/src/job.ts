import { decodeReceipt, holdSettlement, settleJob } from '@fleetmesh/ledger'
import { encodeTensors } from '@fleetmesh/protocol'
import { partitionModel } from '@fleetmesh/runtime'
import { DataDispatcher } from './data-dispatcher.js'
import { InferenceError, isRecoverable, JobCancelledError, RemoteError } from './errors.js'
import { broadcastInputs, checkInputs, chooseMicroBatch, concatBatches, outputBatchAxes, planMicroBatches, resolveBatchAxes, sliceBatch } from './micro-batch.js'
import { PipelineDispatcher } from './pipeline-dispatcher.js'
import { MAX_LEASE_FAILURES } from './constants.js'
import type { InferChannel } from './infer-channel.js'
import type { JobProgress, SubmitInit } from './index.js'
import type { InferenceService } from './inference.js'
import type { InferenceMetrics } from './metrics.js'
import type { BatchAxes } from './micro-batch.js'
import type { RejectedShard, SettleResult } from '@fleetmesh/ledger'
import type { BidEvent, JobEvent, JobResult, LeaseEvent } from '@fleetmesh/market'
import type { InferError, InferOpen, WireTensor } from '@fleetmesh/protocol'
import type { Stage } from '@fleetmesh/runtime'
import type { Logger, PeerId } from '@libp2p/interface'

/**
 * The requester side of one job: checks and plans the inputs, partitions
 * the model for a pipeline, submits the shards to the market, follows the
 * market's lease events into a dispatcher, turns worker errors into
 * re-awards or a typed rejection, and settles the job in the ledger.
 */

/** A lease of this job that is active now. */
export interface ActiveLease {
  worker: PeerId
  leaseId: string
  shard: number
}

/** What the spot checks of one job found (filled by the data dispatcher, read at settlement). */
export interface Verification {
  /** workers caught in the minority, with why */
  caught: Map<string, { seq: number, reason: string }>
  /** encoded per-micro-batch receipts: the accused's and two agreeing witnesses' */
  mismatches: Array<{ accused: Uint8Array, witnesses: [Uint8Array, Uint8Array] }>
}

/** The one context object a dispatcher works with. */
export interface DispatchContext {
  jobId: string
  log: Logger
  /** leases active now, by lease id */
  leases: Map<string, ActiveLease>
  /** [start, end) item ranges, by seq */
  batches: Array<[number, number]>
  /** every job input */
  inputs: WireTensor[]
  axes: BatchAxes
  /** outputs by seq, filled by the dispatcher */
  results: Map<number, WireTensor[]>
  emit: (p: JobProgress) => void
  /** every result is in */
  done: () => void
  /**
   * A worker reported an error: recoverable ones release the lease and the
   * market re-awards the shard (within a budget), others fail the job.
   * Returns true if the job goes on.
   */
  workerError: (lease: ActiveLease, error: InferError) => boolean
  /** the lease's stream ended without an error frame (worker gone): release and re-award */
  streamLost: (lease: ActiveLease, reason: string) => void
  /** opens a control stream and sends `open` @throws when the worker cannot be reached */
  openControl: (worker: PeerId, open: InferOpen) => Promise<InferChannel>
  isConnected: (worker: PeerId) => boolean
  /** the batched inputs of micro-batch [start, end), only those named (all if omitted) */
  batchTensors: (range: [number, number], names?: string[]) => WireTensor[]
  /** the broadcast inputs named, encoded (empty bytes if none) */
  encodeConstants: (names?: string[]) => Uint8Array<ArrayBuffer>
  /** the service's metrics, if any */
  metrics?: InferenceMetrics
}

/** What every dispatcher does. */
export interface Dispatcher {
  /** a lease became active */
  onActive(leaseId: string): void
  /** a lease ended before the job did */
  onLost(leaseId: string): void
  /** every result is in: tell the workers to finish (they then send their receipts) */
  finish(): void
  /** the job is over: drop every stream */
  close(): void
}

/** Runs one job; resolves with the outputs. `marketResult` gets the market's record. */
export async function runJob (svc: InferenceService, jobId: string, init: SubmitInit, emit: (p: JobProgress) => void, signal: AbortSignal, marketResult: PromiseWithResolvers<JobResult>, verification: Verification): Promise<WireTensor[]> {
  const models = svc.components.models
  const maxBytes = svc.maxInputBytes
  const entry = typeof init.model === 'string' ? await models.fetch(init.model, { signal }) : await models.add(init.model)
  const axes = resolveBatchAxes(entry.info.inputs, init)
  const batch = checkInputs(init.inputs, entry.info.inputs, maxBytes, axes)
  const mode = init.mode ?? 'data'
  const batched = entry.info.inputs.find(i => axes[i.name] != null)
  const fixedDim = batched != null ? batched.shape[axes[batched.name] as number] : undefined
  const parts = mode === 'data' ? (init.shards ?? 2) : (init.stages ?? 2)
  const micro = chooseMicroBatch({ batch, mode, parts, fixed: typeof fixedDim === 'number' ? fixedDim : undefined, requested: init.microBatch })
  const batches = planMicroBatches(batch, micro)
  const outAxes = outputBatchAxes(entry.info.inputs, entry.info.outputs, axes, init.outputBatchAxes)

  let stages: Stage[] | undefined
  if (mode === 'pipeline') {
    const bytes = await models.store.get(entry.cid)
    const first = batches[0] as [number, number]
    const sample = [...sliceBatch(init.inputs, axes, first[0], first[1]), ...broadcastInputs(init.inputs, axes)]
    const partition = await partitionModel(bytes, { stages: parts, sampleInputs: sample, batchAxes: axes })
    stages = partition.stages
    for (const st of stages) await models.add(st.bytes)
  }
  if (signal.aborted) throw signal.reason
  if (init.jurisdiction != null && init.jurisdiction !== '') {
    // the model (and each stage model) goes only to workers certified there
    models.restrict?.(entry.cid, init.jurisdiction)
    for (const st of stages ?? []) models.restrict?.(st.cid, init.jurisdiction)
  }

  if (init.region != null) await svc.reachRegion(init.region, signal)
  const market = svc.components.market
  const leases = new Map<string, ActiveLease>()
  const results = new Map<number, WireTensor[]>()
  const allDone = Promise.withResolvers<void>()
  const failed = Promise.withResolvers<never>()
  failed.promise.catch(() => {})
  const bidSpeed = new Map<string, number>()
  let failures = 0
  /** the last recoverable worker error: if the market then cannot place the shard again, it is the job's real cause */
  let lastRecovered: RemoteError | undefined
  const fail = (err: Error): void => {
    failed.reject(err)
    market.failJob(jobId, err)
  }
  const ctx: DispatchContext = {
    jobId,
    log: svc.log,
    leases,
    batches,
    inputs: init.inputs,
    axes,
    results,
    emit,
    done: () => { allDone.resolve() },
    workerError: (lease, e) => {
      const recoverable = isRecoverable(e.code) && failures < MAX_LEASE_FAILURES
      const where = e.stage != null && mode === 'pipeline' ? `stage ${e.stage}` : e.seq != null ? `micro-batch ${e.seq}` : `lease ${lease.leaseId}`
      emit({ type: 'worker-error', jobId, worker: lease.worker.toString(), leaseId: lease.leaseId, stage: e.stage, seq: e.seq, name: e.name, code: e.code, message: e.message, recoverable, at: Date.now() })
      svc.metrics?.workerErrors.increment({ [recoverable ? 'recovered' : 'failed']: true })
      const err = new RemoteError(e.name || 'Error', e.code, `worker ${lease.worker.toString()} (${where}): ${e.message}`, { worker: lease.worker.toString(), leaseId: lease.leaseId, stage: mode === 'pipeline' ? e.stage : undefined, seq: e.seq })
      if (recoverable) {
        failures++
        lastRecovered = err
        release(lease, `${e.name}: ${e.message}`)
        return true
      }
      fail(err)
      return false
    },
    streamLost: (lease, reason) => { release(lease, reason) },
    openControl: async (worker, open) => svc.openControl(worker, open, signal),
    isConnected: (worker) => svc.isConnected(worker),
    batchTensors: ([start, end], names) => {
      const picked = names == null ? init.inputs : init.inputs.filter(t => names.includes(t.name))
      return sliceBatch(picked, axes, start, end)
    },
    metrics: svc.metrics,
    encodeConstants: (names) => {
      const picked = broadcastInputs(init.inputs, axes).filter(t => names == null || names.includes(t.name))
      return picked.length > 0 ? encodeTensors(picked, maxBytes) : new Uint8Array(0)
    }
  }
  const dispatcher: Dispatcher = mode === 'data'
    ? new DataDispatcher(ctx, entry.cid, svc.verifySampling(), verification)
    : new PipelineDispatcher(ctx, stages as Stage[], bidSpeed)
  const release = (lease: ActiveLease, reason: string): void => {
    if (!leases.delete(lease.leaseId)) return
    emit({ type: 'lease-lost', jobId, worker: lease.worker.toString(), leaseId: lease.leaseId, reason, at: Date.now() })
    dispatcher.onLost(lease.leaseId)
    market.releaseLease(lease.leaseId, reason, { reaward: true })
  }

  const onLease = (evt: CustomEvent<LeaseEvent>): void => {
    const e = evt.detail
    if (e.jobId !== jobId || e.side !== 'requester') return
    if (e.state === 'active') {
      const cert = svc.components.admission.admitted().find(c => c.peerId.toString() === e.worker)
      const worker = cert?.peerId
      if (worker == null) return
      if (init.jurisdiction != null && init.jurisdiction !== '' && cert?.jurisdiction !== init.jurisdiction) {
        // the market checks this too; nothing of the job goes to a worker certified elsewhere
        market.releaseLease(e.leaseId, `worker certified for jurisdiction ${cert?.jurisdiction ?? 'none'}, the job requires ${init.jurisdiction}`, { reaward: true })
        return
      }
      leases.set(e.leaseId, { worker, leaseId: e.leaseId, shard: e.shardIndex })
      emit({ type: 'awarded', jobId, worker: e.worker, leaseId: e.leaseId, shard: e.shardIndex, at: e.at })
      dispatcher.onActive(e.leaseId)
    } else if (['lost', 'declined', 'released', 'cancelled'].includes(e.state)) {
      if (leases.delete(e.leaseId)) {
        emit({ type: 'lease-lost', jobId, worker: e.worker, leaseId: e.leaseId, reason: e.reason, at: e.at })
        dispatcher.onLost(e.leaseId)
      }
    }
  }
  const onBid = (evt: CustomEvent<BidEvent>): void => {
    const b = evt.detail
    if (b.jobId === jobId && b.side === 'received') {
      if (b.msPerUnit != null) bidSpeed.set(b.bidder, b.msPerUnit)
      emit({ type: 'bid', jobId, bidder: b.bidder, pricePerUnit: b.pricePerUnit, at: b.at })
    }
  }
  const onJob = (evt: CustomEvent<JobEvent>): void => {
    const j = evt.detail
    if (j.jobId !== jobId) return
    if (j.state === 'bidding' && j.round === 0) emit({ type: 'offered', jobId, at: j.at })
    if (j.state === 'awarding' && j.round > 0) emit({ type: 're-awarded', jobId, at: j.at })
  }
  market.addEventListener('lease', onLease)
  market.addEventListener('bid', onBid)
  market.addEventListener('job', onJob)
  const onAbort = (): void => { fail(signal.reason instanceof Error ? signal.reason : new JobCancelledError(jobId, String(signal.reason ?? 'cancelled'))) }
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    const first = batches[0] as [number, number]
    const frameBytes = ctx.batchTensors(first).reduce((a, t) => a + t.data.byteLength, 0)
    const submitted = market.submit({
      jobId,
      modelCid: entry.cid,
      mode,
      shardUnits: mode === 'data'
        ? Array.from({ length: parts }, () => Math.ceil(batch / parts))
        // a stage's compute units: its GFLOP over the whole batch (flops are measured on one micro-batch)
        : (stages as Stage[]).map(st => Math.max(1, Math.round(st.flops / 1e9 * batch / micro))),
      maxPricePerUnit: init.maxPrice,
      deadline: init.deadline,
      redundancy: init.redundancy,
      region: init.region,
      bidWindowMs: init.bidWindowMs,
      placementTimeoutMs: init.placementTimeoutMs,
      jurisdiction: init.jurisdiction,
      modelBytes: mode === 'data' ? entry.size : Math.max(...(stages as Stage[]).map(s => s.bytes.byteLength)),
      maxFrameBytes: frameBytes + ctx.encodeConstants().byteLength,
      inputs: init.inputs.map(t => ({ name: t.name, dtype: t.dtype, dims: axes[t.name] != null ? t.dims.map((d, i) => i === axes[t.name] ? first[1] - first[0] : d) : t.dims })),
      spread: true
    })
    submitted.then(marketResult.resolve, marketResult.reject)
    submitted.catch((err: any) => {
      // the market gave up on a shard a worker failed: the worker's error is the cause, the market's message the consequence
      if (lastRecovered != null && (err?.name === 'JobFailedError' || err?.name === 'NoBidsError')) {
        fail(new RemoteError(lastRecovered.name, lastRecovered.code, `${lastRecovered.message}; the shard found no other worker (${err.message})`, lastRecovered.site))
      }
    })
    // a market failure (no bids, deadline, cancel) ends the job even while tensors are still moving
    await Promise.race([allDone.promise, submitted.then(async () => allDone.promise), failed.promise])
    dispatcher.finish()
    await Promise.race([submitted, failed.promise])
    return concatBatches(batches.map((_, i) => results.get(i) as WireTensor[]), outAxes)
  } finally {
    signal.removeEventListener('abort', onAbort)
    dispatcher.close()
    market.removeEventListener('lease', onLease)
    market.removeEventListener('bid', onBid)
    market.removeEventListener('job', onJob)
  }
}

/**
 * Records in the ledger, before the job's outputs are served, the receipts
 * {@link settle} will countersign (those of workers no spot check caught):
 * a requester killed from then on resumes the settlement when it restarts.
 */
export async function holdJobSettlement (svc: InferenceService, job: JobResult, v: Verification): Promise<void> {
  const ledger = svc.ledger
  if (ledger == null) return
  await holdSettlement(ledger, { jobId: job.jobId, shards: job.shards.filter(s => !v.caught.has(s.worker)) })
}

/**
 * Settles a finished job in the ledger: the receipts of workers caught by
 * a spot check are rejected, the others checked and countersigned
 * (`settleJob` with no further sampling: spot checks ran during the job),
 * and mismatch evidence is reported.
 */
export async function settle (svc: InferenceService, job: JobResult, v: Verification): Promise<SettleResult> {
  const ledger = svc.ledger
  if (ledger == null) throw new InferenceError('this node runs no ledger, so it cannot settle jobs')
  const res = await settleJob(ledger, { jobId: job.jobId, shards: job.shards.filter(s => !v.caught.has(s.worker)) }, { sampleRate: 0 })
  for (const s of job.shards) {
    const caught = v.caught.get(s.worker)
    if (caught != null) res.rejected.push({ shardIndex: s.shardIndex, replica: s.replica, worker: s.worker, reason: caught.reason } satisfies RejectedShard)
  }
  for (const m of v.mismatches) {
    try {
      res.evidence.push(await ledger.reportMismatch(decodeReceipt(m.accused), [decodeReceipt(m.witnesses[0]), decodeReceipt(m.witnesses[1])]))
    } catch (err: any) {
      // e.g. the witnesses' quantised digests straddle a rounding step: the rejection stands, the evidence would not verify
      svc.log('mismatch evidence for job %s not reported - %s', job.jobId, err?.message ?? err)
    }
  }
  return res
}
