/**
 * @packageDocumentation
 *
 * The fleetmesh job engine: `submit()` runs sharded ONNX inference on
 * workers the market leases, over `/fleetmesh/infer/1.1.0`.
 *
 * - Data-parallel: the batch is cut into micro-batches that each leased
 *   worker pulls as it finishes (its window of micro-batches in flight
 *   follows its measured pace), so the split follows each worker's
 *   throughput; late micro-batches are backed up on an idle worker; a
 *   sample is spot-checked on a second worker (a third decides).
 * - Pipeline: the model is cut into stages (`partitionModel`), stages are
 *   placed on the leased workers (`planStages`), activations flow stage to
 *   stage directly, and every stage gets the original graph inputs it reads
 *   straight from the requester.
 * - Inputs are batched on a named axis (0 by default) or broadcast (sent
 *   once to every worker or stage that reads them).
 * - Any error on any worker or stage reaches the requester on its control
 *   stream at once: a `worker-error` progress event, then either a
 *   re-award (a failure another worker may not hit) or a typed rejection
 *   naming the worker, the stage or micro-batch and the cause.
 *
 * The planning is pure and unit-tested: {@link checkInputs},
 * {@link chooseMicroBatch}, {@link sliceBatch}, {@link concatBatches}
 * (micro-batch.ts), {@link planPipelineFeeds} (pipeline-plan.ts),
 * {@link judgeSpotCheck} (spot-check.ts) and {@link Pace} (pace.ts).
 *
 * @example
 *
 * ```TypeScript
 * import { createMeshNode } from '@fleetmesh/peer'
 *
 * // `node` is a mesh node (it composes this service as `node.libp2p.services.inference`)
 * const job = node.submit({ model: modelBytes, inputs: [{ name: 'x', dtype: 'float32', dims: [64, 16], data }], shards: 2, maxPrice: 2 })
 * for await (const p of job) console.log(p.type)
 * const outputs = await job.result
 * ```
 */

import { InferenceService } from './inference.js'
import type { BatchLayout } from './micro-batch.js'
import type { Ledger, SettleResult } from '@fleetmesh/ledger'
import type { JobResult, Market } from '@fleetmesh/market'
import type { WireTensor } from '@fleetmesh/protocol'
import type { ModelStore, StoredModel } from '@fleetmesh/runtime'
import type { ComponentLogger, Metrics, PeerId, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

export * from './errors.js'
export * from './constants.js'
export * from './micro-batch.js'
export * from './pipeline-plan.js'
export * from './spot-check.js'
export { Pace, median } from './pace.js'
export { InferChannel, LocalInferChannel, emptyCounters } from './infer-channel.js'
export type { InferCounters, InferFrame, FrameSink, FrameSource } from './infer-channel.js'

/** What a submitted job asks for. */
export interface SubmitInit extends BatchLayout {
  /** the model: its bytes (stored and announced by this node) or the CID of a model a provider has */
  model: Uint8Array | string
  /** named input tensors: batched ones carry the batch on their batch axis (0 unless `batchAxes` says), broadcast ones are sent whole */
  inputs: WireTensor[]
  /** @default 'data' */
  mode?: 'data' | 'pipeline'
  /** data-parallel: worker leases @default 2 */
  shards?: number
  /** pipeline: stages @default 2 */
  stages?: number
  /**
   * items per micro-batch; a fixed model batch size overrides
   * @default data: ceil(batch / (4 × shards)); pipeline: chosen by the requester from a probe of PIPELINE_PROBE_ITEMS items (its per-stage compute and per-hop overhead, `choosePipelineMicroBatch`), at most ceil(batch / (2 × stages))
   */
  microBatch?: number
  /** batch axis of each output when the model's declared shapes do not tell @default the axis of the batch symbol, else 0 */
  outputBatchAxes?: Record<string, number>
  /** most credits per compute unit */
  maxPrice: number
  /** ms since the epoch @default now + 5 min */
  deadline?: number
  /** @default 1 */
  redundancy?: number
  /** region whose workers may bid @default this node's */
  region?: string
  /** bid window, ms @default the market's */
  bidWindowMs?: number
  /** a job with a shard still unplaced this long after the bid window fails with the market's no-bid reason, ms @default the market's */
  placementTimeoutMs?: number
  /**
   * Data residency: only workers whose certificate names this jurisdiction
   * (e.g. `eu`) may bid, be awarded, or receive the model (this node serves
   * it only to them) and the inputs (checked again before any is sent).
   * The receipts carry each worker's certificate, so they show where the
   * data was processed. @default none
   */
  jurisdiction?: string
  signal?: AbortSignal
}

/** Progress of a job, in order. */
export type JobProgress =
  /** the job's offer was published on the region's offers topic */
  | { type: 'offered', jobId: string, at: number }
  /** a worker bid (its ask, credits per compute unit) */
  | { type: 'bid', jobId: string, bidder: string, pricePerUnit?: number, at: number }
  /** a shard (data) or stage (pipeline) was leased to a worker */
  | { type: 'awarded', jobId: string, worker: string, leaseId: string, shard: number, at: number }
  /** a lease ended before the job did (worker gone, drained, released after an error); `reason` says why */
  | { type: 'lease-lost', jobId: string, worker: string, leaseId: string, reason?: string, at: number }
  /** the market awarded a lost shard again */
  | { type: 're-awarded', jobId: string, at: number }
  /** a worker fetched the model (or a stage model) */
  | { type: 'model-transferred', jobId: string, cid: string, at: number }
  /**
   * a pipeline without a set `microBatch`: micro-batch 0 (a probe) came back
   * and sized the rest, `items` each (`microBatches` in all, the probe
   * counted), from the slowest stage's ms per item and the ms per hop the
   * probe measured
   */
  | { type: 'micro-batch-chosen', jobId: string, items: number, microBatches: number, bottleneckMsPerItem: number, hopOverheadMs: number, at: number }
  /** a micro-batch went to a worker (for a pipeline: to stage 0) */
  | { type: 'shard-started', jobId: string, worker: string, seq: number, items: number, at: number }
  /** a micro-batch's result came back (`computeMs` on the worker) */
  | { type: 'shard-finished', jobId: string, worker: string, seq: number, computeMs: number, at: number }
  /** a spot check compared two or three workers' outputs of one micro-batch */
  | { type: 'verified', jobId: string, seq: number, workers: string[], agreed: boolean, at: number }
  /** a spot check put a worker in the minority: its results are re-run elsewhere */
  | { type: 'worker-rejected', jobId: string, worker: string, seq: number, reason: string, at: number }
  /**
   * a worker reported an error (`name`/`code` as thrown there); `recoverable`
   * says whether the shard goes to another worker (else the job fails with it)
   */
  | { type: 'worker-error', jobId: string, worker: string, leaseId: string, stage?: number, seq?: number, name: string, code: string, message: string, recoverable: boolean, at: number }
  /** every result is in */
  | { type: 'done', jobId: string, at: number }
  /** the job failed: `error` is `<name>: <message>` of the rejection */
  | { type: 'failed', jobId: string, error: string, at: number }

/** A running job. */
export interface JobHandle extends AsyncIterable<JobProgress> {
  jobId: string
  /** output tensors (batch reassembled in input order) */
  result: Promise<WireTensor[]>
  /** the market's record of the job (leases, re-awards), once done */
  market: Promise<JobResult>
  /**
   * The job's settlement in the ledger, once `result` resolved: worker
   * receipts checked and countersigned (durable, then gossiped), the
   * receipts of workers caught by a spot check rejected and the mismatch
   * evidence against them. Rejects if the job failed.
   */
  settlement: Promise<SettleResult>
  /** Cancels the job: `result` rejects with JobCancelledError carrying `reason`. */
  cancel(reason?: string): void
}

/** Init of {@link inference}. */
export interface InferenceInit {
  /** runner processes @default DEFAULT_RUNNERS (1) */
  runners?: number
  /** onnxruntime threads per runner @default 1 */
  intraOpNumThreads?: number
  /** largest job input (all tensors) this node accepts as requester or worker, bytes @default MAX_TENSOR_BYTES */
  maxInputBytes?: number
  /** time one micro-batch may run on a runner, ms @default RUN_TIMEOUT_MS (60000) */
  runTimeoutMs?: number
  /**
   * Share of data-parallel micro-batches the requester also runs on a
   * second worker to compare outputs (a third decides a disagreement; the
   * minority worker's lease receipt is not countersigned and mismatch
   * evidence is gossiped). Which micro-batches is decided by the ledger's
   * secret sampling seed, so a worker cannot tell.
   *
   * @default SAMPLE_RATE of @fleetmesh/ledger (0.05)
   */
  verifyRate?: number
  /**
   * Fault injection for tests and drills: alters a worker's outputs before
   * they are sent (`stage` tells which pipeline stage). Never set it on a
   * production node.
   */
  tamperOutputs?: (outputs: WireTensor[], where: { stage: number, kind: string }) => WireTensor[]
  /**
   * Fault injection for tests and drills: how long pipeline stage `stage`
   * waits before it opens its stream to the next stage, ms. Never set it on
   * a production node.
   */
  delayNextStage?: (stage: number) => number
}

/** The model transfer service as far as inference uses it (@fleetmesh/peer's fits). */
export interface InferenceModels {
  readonly store: ModelStore
  /** a stored model, fetched first from `from` or any provider @throws ModelFetchError, InvalidCidError, ModelTooLargeError, validation errors */
  fetch(cid: string, options?: { from?: PeerId, signal?: AbortSignal }): Promise<StoredModel>
  /** validates, stores and announces a model held locally */
  add(bytes: Uint8Array): Promise<StoredModel>
  /** data residency: serve `cid` only to peers certified in `jurisdiction` */
  restrict?(cid: string, jurisdiction: string): void
}

/** The admission service as far as inference uses it (@fleetmesh/peer's fits). */
export interface InferenceAdmission {
  isAdmitted(peerId: PeerId): boolean
  /** admitted, connected peers, with their certificate's region and jurisdiction */
  admitted(): Array<{ peerId: PeerId, region: string, jurisdiction?: string }>
  /** resolves once the peer is admitted @throws when refused */
  waitFor(peerId: PeerId, options?: { signal?: AbortSignal }): Promise<unknown>
}

/** Capability discovery as far as inference uses it (@fleetmesh/peer's fits). */
export interface InferenceCapabilities {
  findPeers(query: { region?: string, limit?: number, signal?: AbortSignal }): Promise<Array<{ peerId: PeerId }>>
}

/** What the inference service needs from libp2p and its sibling services. */
export interface InferenceComponents {
  peerId: PeerId
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
  market: Market
  models: InferenceModels
  admission: InferenceAdmission
  capabilities: InferenceCapabilities
  /** receipts, reputation and the spot-check seed; without it jobs run but are not settled */
  ledger?: Ledger
  /** libp2p's metrics, if the node has them: the service registers its own (metrics.ts) */
  metrics?: Metrics
}

/** Events of the inference service. */
export interface InferenceEvents {
  /** progress of every job this node submits */
  progress: CustomEvent<JobProgress>
}

/** The inference service. */
export interface Inference extends TypedEventTarget<InferenceEvents> {
  /**
   * Submits a sharded inference job.
   *
   * @throws (through `result`) JobInputError for inputs that do not fit the model, MessageTooLargeError, ModelFetchError/InvalidCidError for an unknown model, a worker's typed error (`name`/`code` as thrown there, `site` naming worker, stage or micro-batch) when the job cannot get past it, the market's NoBidsError/JobFailedError, JobCancelledError
   */
  submit(init: SubmitInit): JobHandle
  /** bytes this node moved on infer streams */
  readonly counters: import('./infer-channel.js').InferCounters
  /** lease sessions this node serves as a worker */
  sessions(): number
}

/**
 * The inference service factory, in libp2p's service shape:
 * `services: { inference: inference(init) }`. Needs the `market`,
 * `models` (model transfer), `admission` and `capabilities` services, and
 * uses `ledger` when present. Registers itself as the market's lease
 * handler at start.
 */
export function inference (init: InferenceInit = {}): (components: InferenceComponents) => Inference {
  return (components) => new InferenceService(components, init)
}
