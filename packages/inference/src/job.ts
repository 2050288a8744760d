import { encodeReceipt, microBatchJobId, microBatchPricePerItem, outputDigest } from '@fleetmesh/ledger'
import { encodeTensors } from '@fleetmesh/protocol'
import { partitionModel } from '@fleetmesh/runtime'
import { peerIdFromString } from '@libp2p/peer-id'
import { DataDispatcher } from './data-dispatcher.js'
import { isRecoverable, JobCancelledError, RemoteError } from './errors.js'
import { broadcastInputs, checkInputs, chooseMicroBatch, concatBatches, outputBatchAxes, planMicroBatches, resolveBatchAxes, sliceBatch } from './micro-batch.js'
import { PipelineDispatcher } from './pipeline-dispatcher.js'
import { pick } from './pipeline-plan.js'
import { digestTensors } from './worker.js'
import { MAX_LEASE_FAILURES, PIPELINE_PROBE_ITEMS } from './constants.js'
import type { InferChannel } from './infer-channel.js'
import type { AdaptiveMicroBatch } from './pipeline-dispatcher.js'
import type { JobProgress, SubmitInit } from './index.js'
import type { InferenceService } from './inference.js'
import type { InferenceMetrics } from './metrics.js'
import type { BatchAxes } from './micro-batch.js'
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
  /** compute units of the lease's shard */
  units: number
  /** credits per compute unit it was awarded at */
  pricePerUnit: number
}

/** A micro-batch receipt a worker sent with its output (or alone, from a middle pipeline stage). */
export interface HeldReceipt {
  seq: number
  /** pipeline stage, 0 in data-parallel */
  stage: number
  /** PeerId string of the worker that sent it */
  worker: string
  /** the lease it was sent under */
  leaseId: string
  /** items of the micro-batch: the receipt's units */
  items: number
  /** credits per item the lease's terms give (`microBatchPricePerItem`): the receipt's price */
  pricePerItem: number
  /** the encoded worker-signed receipt */
  bytes: Uint8Array
}

/** What the spot checks of one job found (filled by the dispatcher, read at settlement). */
export interface Verification {
  /** workers caught in the minority, with why */
  caught: Map<string, { seq: number, reason: string }>
  /** encoded per-micro-batch receipts: the accused's and two agreeing witnesses' */
  mismatches: Array<{ accused: Uint8Array, witnesses: [Uint8Array, Uint8Array] }>
  /**
   * the micro-batch receipts to pay: those of the accepted outputs (from
   * every stage that produced them) and of the spot-check runs that agreed
   * with them; set once the job's results are in
   */
  accepted: HeldReceipt[]
  /** micro-batches that were spot-checked */
  checked: Set<number>
}

/** Spot-check sampling of a job: a worker's rate (0..1) and the requester's secret seed. */
export interface Sampling {
  /** share of `worker`'s micro-batches to check (the ledger's adaptive rate, or a fixed one) */
  rate: (worker: string) => number
  seed: string
}

/** The requester's own run of one micro-batch: a third opinion when no other worker can give one. */
export interface LocalRun {
  outputs: WireTensor[]
  /** a receipt the requester signed as the worker of this run (witness in mismatch evidence; never paid), empty without a ledger */
  receipt: Uint8Array
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
  /** items in the job's whole batch */
  jobItems: number
  /** credits per item of a lease's micro-batch receipts (`microBatchPricePerItem` of its terms) */
  pricePerItem: (lease: ActiveLease) => number
  /** PeerId string of this node (the requester) */
  self: string
  /**
   * Runs micro-batch `seq` on this node's own runtime: stage `stage`'s
   * model on `inputs` (pipeline), or the job's model on the micro-batch's
   * inputs (data-parallel, `inputs` omitted).
   */
  runLocal: (seq: number, stage?: { cid: string, inputs: WireTensor[] }) => Promise<LocalRun>
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
  /** the micro-batch receipts to pay (see {@link Verification.accepted}) */
  accepted(): HeldReceipt[]
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
  const fixed = typeof fixedDim === 'number' ? fixedDim : undefined
  const micro = chooseMicroBatch({ batch, mode, parts, fixed, requested: init.microBatch })
  // a pipeline sizes its micro-batches from a probe unless the user or the model fixed the size; the offer announces the largest
  const adaptive: AdaptiveMicroBatch | undefined = mode === 'pipeline' && fixed == null && init.microBatch == null && batch > PIPELINE_PROBE_ITEMS
    ? { probeItems: PIPELINE_PROBE_ITEMS, maxItems: micro }
    : undefined
  const batches = adaptive != null
    ? [[0, adaptive.probeItems] as [number, number], ...planMicroBatches(batch - adaptive.probeItems, micro).map(([s, e]): [number, number] => [s + adaptive.probeItems, e + adaptive.probeItems])]
    : planMicroBatches(batch, micro)
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
    // every output is in: a shard without a lease has nothing left to run, so the market places no more of the job
    done: () => { market.finishPlacement(jobId); allDone.resolve() },
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
    jobItems: batch,
    pricePerItem: (lease) => microBatchPricePerItem(lease, mode, batch),
    self: svc.components.peerId.toString(),
    runLocal: async (seq, stage) => {
      const range = batches[seq] as [number, number]
      const fed = stage?.inputs ?? sliceBatch(init.inputs, axes, range[0], range[1])
      const cid = stage?.cid ?? entry.cid
      const names = models.store.info(cid).info.inputs.map(i => i.name)
      const startedAt = Date.now()
      const ran = await svc.runLocal(cid, pick([...fed, ...broadcastInputs(init.inputs, axes)], names, `micro-batch ${seq} run locally`))
      const ledger = svc.ledger
      if (ledger == null) return { outputs: ran.outputs, receipt: new Uint8Array(0) }
      const receipt = await ledger.signReceipt({
        jobId: microBatchJobId(jobId, seq),
        shardIndex: stage != null ? (stages ?? []).findIndex(st => st.cid === stage.cid) : 0,
        replica: 0,
        requester: svc.components.peerId,
        modelCid: cid,
        inputDigest: digestTensors(fed),
        outputDigest: outputDigest(ran.outputs),
        computeMs: Math.round(ran.computeMs),
        units: range[1] - range[0],
        pricePerUnit: 0,
        startedAt,
        finishedAt: Date.now(),
        leaseId: ''
      })
      return { outputs: ran.outputs, receipt: encodeReceipt(receipt) }
    },
    encodeConstants: (names) => {
      const picked = broadcastInputs(init.inputs, axes).filter(t => names == null || names.includes(t.name))
      return picked.length > 0 ? encodeTensors(picked, maxBytes) : new Uint8Array(0)
    }
  }
  const dispatcher: Dispatcher = mode === 'data'
    ? new DataDispatcher(ctx, entry.cid, svc.verifySampling(), verification)
    : new PipelineDispatcher(ctx, stages as Stage[], bidSpeed, svc.verifySampling(), verification, svc.ledger, adaptive)
  const release = (lease: ActiveLease, reason: string): void => {
    if (!leases.delete(lease.leaseId)) return
    emit({ type: 'lease-lost', jobId, worker: lease.worker.toString(), leaseId: lease.leaseId, reason, at: Date.now() })
    dispatcher.onLost(lease.leaseId)
    market.releaseLease(lease.leaseId, reason, { reaward: true })
  }

  /** leases the market made active whose worker this node has not admitted yet, by lease id */
  const admitting = new Set<string>()
  let over = false
  const admittedWorker = (worker: string): { peerId: PeerId, jurisdiction?: string } | undefined => svc.components.admission.admitted().find(c => c.peerId.toString() === worker)
  const activate = (e: LeaseEvent, cert: { peerId: PeerId, jurisdiction?: string }): void => {
    if (init.jurisdiction != null && init.jurisdiction !== '' && cert.jurisdiction !== init.jurisdiction) {
      // the market checks this too; nothing of the job goes to a worker certified elsewhere
      market.releaseLease(e.leaseId, `worker certified for jurisdiction ${cert.jurisdiction ?? 'none'}, the job requires ${init.jurisdiction}`, { reaward: true })
      return
    }
    leases.set(e.leaseId, { worker: cert.peerId, leaseId: e.leaseId, shard: e.shardIndex, units: e.units ?? 0, pricePerUnit: e.pricePerUnit ?? 0 })
    emit({ type: 'awarded', jobId, worker: e.worker, leaseId: e.leaseId, shard: e.shardIndex, at: e.at })
    dispatcher.onActive(e.leaseId)
  }
  /**
   * A requester that dialled the worker to award it (no connection before)
   * reads the worker's accept as soon as the worker admitted it, which may
   * be before this node verified the worker's certificate: the lease is
   * used once the worker is admitted here, and released for a re-award if
   * it is not (refused, or not within ADMISSION_WAIT_MS).
   */
  const activateOnceAdmitted = (e: LeaseEvent): void => {
    admitting.add(e.leaseId)
    const stillWanted = (): boolean => admitting.delete(e.leaseId) && !over
    let worker: PeerId
    try {
      worker = peerIdFromString(e.worker)
    } catch (err: any) {
      admitting.delete(e.leaseId)
      market.releaseLease(e.leaseId, `worker ${e.worker} is not a PeerId: ${err?.message ?? err}`, { reaward: true })
      return
    }
    svc.components.admission.waitFor(worker, { signal }).then(() => {
      if (!stillWanted()) return
      const cert = admittedWorker(e.worker)
      if (cert != null) activate(e, cert)
      else market.releaseLease(e.leaseId, 'the worker disconnected before it was admitted', { reaward: true })
    }, (err: any) => {
      if (!stillWanted()) return
      market.releaseLease(e.leaseId, `the worker was not admitted: ${err?.message ?? err}`, { reaward: true })
    })
  }

  const onLease = (evt: CustomEvent<LeaseEvent>): void => {
    const e = evt.detail
    if (e.jobId !== jobId || e.side !== 'requester') return
    if (e.state === 'active') {
      const cert = admittedWorker(e.worker)
      if (cert != null) activate(e, cert)
      else activateOnceAdmitted(e)
    } else if (['lost', 'declined', 'released', 'cancelled'].includes(e.state)) {
      admitting.delete(e.leaseId)
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
    // the largest micro-batch bounds the frames (a probe comes first when the pipeline sizes them)
    const first = batches.reduce((a, b) => b[1] - b[0] > a[1] - a[0] ? b : a)
    const frameBytes = ctx.batchTensors(first).reduce((a, t) => a + t.data.byteLength, 0)
    const submitted = market.submit({
      jobId,
      modelCid: entry.cid,
      mode,
      shardUnits: mode === 'data'
        ? Array.from({ length: parts }, () => Math.ceil(batch / parts))
        // a stage's compute units: its GFLOP over the whole batch (flops are measured on micro-batch 0: the probe when the pipeline sizes them)
        : (stages as Stage[]).map(st => Math.max(1, Math.round(st.flops / 1e9 * batch / ((batches[0] as [number, number])[1] - (batches[0] as [number, number])[0])))),
      maxPricePerUnit: init.maxPrice,
      deadline: init.deadline,
      redundancy: init.redundancy,
      region: init.region,
      bidWindowMs: init.bidWindowMs,
      minBids: init.minBids,
      bidsWanted: init.bidsWanted,
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
    // every lease has completed: every receipt a worker sent before its lease ended is in
    verification.accepted = dispatcher.accepted()
    return concatBatches(batches.map((_, i) => results.get(i) as WireTensor[]), outAxes)
  } finally {
    over = true
    signal.removeEventListener('abort', onAbort)
    dispatcher.close()
    market.removeEventListener('lease', onLease)
    market.removeEventListener('bid', onBid)
    market.removeEventListener('job', onJob)
  }
}
