/**
 * @packageDocumentation
 *
 * The fleetmesh job engine: `submit()` runs sharded ONNX inference on
 * workers the market leases, over `/fleetmesh/infer/1.2.0`.
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
 * - Stateful sessions (`openSession`): a model stepped many times whose
 *   state (a recurrent state, a KV cache) stays on the workers that
 *   produced it, one worker per stage leased for the session's life; a
 *   lost worker is replaced and the state rebuilt (replay of the recorded
 *   step inputs, or a snapshot), so the outputs equal an uninterrupted run.
 *
 * The planning is pure and unit-tested: {@link checkInputs},
 * {@link chooseMicroBatch}, {@link sliceBatch}, {@link concatBatches}
 * (micro-batch.ts), {@link planPipelineFeeds} (pipeline-plan.ts),
 * {@link judgeSpotCheck} (spot-check.ts) and {@link Pace} (pace.ts).
 *
 * Stateful models (a KV cache, a recurrent state: a graph output fed back
 * as a graph input, a `StatePair`) step in this process with
 * {@link LocalStatefulSession}, the reference for sessions on the mesh;
 * {@link generateTokens} generates tokens against anything that steps,
 * with a greedy or seeded top-k sampler ({@link createSampler}, pure).
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
import type { GenerateInit } from './local-session.js'
import type { StatePair } from '@fleetmesh/runtime'
import type { ComponentLogger, Metrics, PeerId, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

export * from './errors.js'
export * from './constants.js'
export * from './micro-batch.js'
export * from './pipeline-plan.js'
export * from './spot-check.js'
export * from './session-plan.js'
export type { SessionSettlement } from './session-settle.js'
export { Pace, median } from './pace.js'
export { InferChannel, LocalInferChannel, emptyCounters } from './infer-channel.js'
export { createSampler, topK } from './sampler.js'
export type { Sampler, SamplerSpec } from './sampler.js'
export { LocalStatefulSession, generateTokens } from './local-session.js'
export type { GenerateInit, LocalSessionInit, Stepper } from './local-session.js'
export type { StatePair } from '@fleetmesh/runtime'
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
  /** acceptable bids that end the bid window early (the market's `JobSpec.minBids`) @default the shard count */
  minBids?: number
  /** bids asked of the region per offer (bid sampling: the market's `JobSpec.bidsWanted`; 0: every worker bids) @default the market's */
  bidsWanted?: number
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
   * Share of micro-batches the requester also runs on a second worker to
   * compare outputs (data-parallel: another lease; pipeline: each stage on
   * the worker of another stage, once every result is in). A
   * disagreement is decided by a third worker or the requester's own run;
   * the minority worker is paid nothing for the caught work and mismatch
   * evidence is gossiped. Which micro-batches is decided by the ledger's
   * secret sampling seed, so a worker cannot tell. Set, it is one fixed
   * rate for every worker (0 turns checks off).
   *
   * @default each worker's adaptive rate, `Ledger.sampleRate` (1 for a new worker, falling to VERIFICATION_FLOOR_RATE as its verified record grows)
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
  /**
   * malformed infer streams one connection may open before its peer is
   * refused for MALFORMED_INFER_BACKOFF_MS (`burst` at once, `perSecond`
   * sustained; plain data) @default MALFORMED_INFER_STREAM_BUDGET (4, 0.1/s)
   */
  malformedStreamBudget?: { perSecond: number, burst: number }
  /** stateful sessions this worker serves at once (one per session stage it holds) @default MAX_SESSIONS_PER_WORKER (4) */
  maxSessions?: number
  /** largest state one session stage keeps on this worker, bytes @default MAX_SESSION_STATE_BYTES (256 MiB) */
  maxSessionStateBytes?: number
  /** this worker frees a session stage (and hands its lease back) after this long without a step, ms @default SESSION_IDLE_TIMEOUT_MS (5 min) */
  sessionIdleTimeoutMs?: number
  /**
   * Fault injection for tests and drills: how long this worker waits
   * after running each micro-batch before it sends the result, ms (a slow
   * worker). Never set it on a production node.
   */
  delayMicroBatch?: (where: { stage: number, kind: string }) => number
}

/** What a stateful session asks for. */
export interface SessionInit {
  /** the model: its bytes (stored and announced by this node) or the CID of a model a provider has */
  model: Uint8Array | string
  /** pipeline stages, one worker each; each stage keeps its own state @default 1 */
  stages?: number
  /** the state pairs: an output fed back as an input at the next step */
  state: StatePair[]
  /** the state before the first step @default zeros of each state input's declared shape, symbolic dims 0 */
  initialState?: WireTensor[]
  /** most credits per compute unit (a unit is one step of one stage) */
  maxPrice: number
  /**
   * most steps the session runs: its maximum cost, `stages × maxSteps × maxPrice` credits, is committed at its
   * first award (workers that see the requester cannot pay it refuse: NoBid FUNDS) and freed at close or
   * failure; step `maxSteps` fails with `ERR_SESSION_STEPS`. Replays after a lost worker are paid on top, from
   * the requester's spendable balance.
   * @default MAX_SESSION_STEPS (1024)
   */
  maxSteps?: number
  /** the session's end, ms since the epoch (the award deadline of its leases; at most 1 h away) @default now + SESSION_DEADLINE_MS (30 min) */
  deadline?: number
  /** region whose workers may bid @default this node's */
  region?: string
  /** data residency: only workers certified in this jurisdiction serve the session @default none */
  jurisdiction?: string
  /** acceptable bids that end each stage's bid window early (the market's `JobSpec.minBids`) @default the stage count */
  minBids?: number
  /** steps between state snapshots fetched from the workers (a lost stage is then restored from the last one); 0 = snapshots only when the replay log fills (see `maxReplaySteps`) @default 0 */
  snapshotEvery?: number
  /**
   * most steps in the requester's replay log (step inputs since the last complete snapshot): at half of it the
   * session asks the stages for a snapshot, which restarts the log; a step that finds it full (no snapshot came:
   * a stage's state is over its worker's frame limit) fails with `ERR_SESSION_REPLAY_LIMIT`
   * @default MAX_SESSION_REPLAY_STEPS (512)
   */
  maxReplaySteps?: number
  /** most bytes of step inputs in the replay log, bounded as `maxReplaySteps` @default MAX_SESSION_REPLAY_BYTES (64 MiB) */
  maxReplayBytes?: number
  /** aborting it ends the session: its steps fail with ERR_SESSION_CLOSED and its leases are cancelled (no receipts, as for a cancelled job) */
  signal?: AbortSignal
}

/** Progress of a session, in order. */
export type SessionProgress =
  /** a stage was leased to a worker (at open, or a replacement after a loss) */
  | { type: 'leased', sessionId: string, stage: number, worker: string, leaseId: string, at: number }
  /** step `step` (0-based) returned its outputs after `ms` (replays of a recovery are not steps) */
  | { type: 'step', sessionId: string, step: number, ms: number, at: number }
  /** a stage's worker was lost (connection or lease gone, drained, or a worker error another worker may not hit: `code`); every stage resets and the lost one is leased again */
  | { type: 'worker-lost', sessionId: string, stage: number, worker: string, leaseId: string, reason: string, code?: string, at: number }
  /** the state is rebuilt on the workers now leased (`workers`, by stage) after losing `stages`: `replayed` steps re-run from step `fromStep` (a snapshot's, or 0) */
  | { type: 'recovered', sessionId: string, stages: number[], workers: string[], fromStep: number, replayed: number, at: number }
  /** the session closed and settled */
  | { type: 'closed', sessionId: string, steps: number, recoveries: number, receipts: number, at: number }

/** Events of a session. */
export interface SessionEvents {
  progress: CustomEvent<SessionProgress>
}

/** What a closed session did. */
export interface SessionSummary {
  id: string
  /** steps run (replays not counted) */
  steps: number
  /** workers lost and replaced */
  recoveries: number
  /** receipts countersigned: one per stage lease that served steps (a lease that finished, or one handed back after an error, drained or freed when idle) */
  receipts: number
}

/** A stateful session across the mesh. */
export interface InferenceSession extends TypedEventTarget<SessionEvents> {
  readonly id: string
  /** steps run so far */
  readonly steps: number
  /** the stages' leases now */
  readonly leases: ReadonlyArray<{ stage: number, worker: string, leaseId: string }>
  /**
   * Runs one step with the model's non-state inputs; resolves with its
   * outputs minus the state outputs. Steps run one at a time in call order.
   *
   * @throws SessionError (`code`: ERR_SESSION_INPUT, ERR_SESSION_STAGE_FAILED with the worker's error as `cause`, the worker's own session code, ERR_SESSION_RECOVERY, ERR_SESSION_REPLAY_LIMIT when the replay log is full and no snapshot could restart it, ERR_SESSION_CLOSED), or the market's error when a stage cannot be placed again
   */
  step(inputs: WireTensor[]): Promise<WireTensor[]>
  /** Token ids generated step by step (`generateTokens(this, init)`). */
  generate(init: GenerateInit): AsyncIterable<number>
  /** Ends the session and settles one receipt per lease for the steps it served. Idempotent. */
  close(): Promise<SessionSummary>
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
  /**
   * Refuses an admitted peer for what it did (`code`, e.g.
   * `ERR_INFER_MALFORMED`): it is disconnected and kept out for
   * `backoffMs` (ms). @fleetmesh/peer's admission has it; without it the
   * worker only resets the peer's streams.
   */
  penalize?(peerId: PeerId, code: string, message: string, backoffMs: number): void
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
  /**
   * Opens a stateful session: leases one worker per stage for the
   * session's life, and resolves once every stage is ready.
   *
   * @throws SessionError ERR_SESSION_INPUT for a bad stage count, price or replay bound, ERR_SESSION_STATE when the state pairs do not fit the model (or a stage partition), a stage's typed error, the market's NoBidsError/JobFailedError/InvalidJobError, ModelFetchError/InvalidCidError for an unknown model
   */
  openSession(init: SessionInit): Promise<InferenceSession>
  /** session stages this node serves as a worker, and the state bytes they hold */
  sessionStages(): { stages: number, stateBytes: number }
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
