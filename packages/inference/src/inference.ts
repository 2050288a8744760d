import { randomUUID } from 'node:crypto'
import { INFER_PROTOCOL, MAX_TENSOR_BYTES } from '@fleetmesh/protocol'
import { createRuntime } from '@fleetmesh/runtime'
import { serviceCapabilities, serviceDependencies, TypedEventEmitter } from '@libp2p/interface'
import { pushable } from 'it-pushable'
import { DEFAULT_RUNNERS, MALFORMED_INFER_STREAM_BUDGET, MAX_INFER_STREAMS, MAX_SESSION_STATE_BYTES, MAX_SESSIONS_PER_WORKER, OPEN_STREAM_TIMEOUT_MS, REACH_REGION_PEERS, REACH_REGION_TIMEOUT_MS, RUN_TIMEOUT_MS, SESSION_IDLE_TIMEOUT_MS } from './constants.js'
import { JobCancelledError } from './errors.js'
import { emptyCounters, InferChannel } from './infer-channel.js'
import { runJob } from './job.js'
import { holdJobSettlement, settle } from './pay.js'
import { registerInferenceMetrics } from './metrics.js'
import { openSession } from './session-open.js'
import { InferenceWorker } from './worker.js'
import type { InferenceMetrics } from './metrics.js'
import type { MeshSession } from './session.js'
import type { InferCounters } from './infer-channel.js'
import type { Inference, InferenceComponents, InferenceEvents, InferenceInit, InferenceSession, JobHandle, JobProgress, SessionInit, SubmitInit } from './index.js'
import type { Sampling, Verification } from './job.js'
import type { Ledger, SettleResult } from '@fleetmesh/ledger'
import type { JobResult } from '@fleetmesh/market'
import type { InferOpen, WireTensor } from '@fleetmesh/protocol'
import type { Runtime } from '@fleetmesh/runtime'
import type { Logger, PeerId, Startable } from '@libp2p/interface'

/** A component libp2p may not have: its components object throws for a missing service. */
function optional<T> (get: () => T): T | undefined {
  try { return get() } catch { return undefined }
}

/**
 * The inference service shell: registers the infer protocol and the
 * market's lease handler at start, owns the runner pool, and composes the
 * worker side (`worker.ts`) and the requester side of each job (`job.ts`
 * with its dispatcher).
 */
export class InferenceService extends TypedEventEmitter<InferenceEvents> implements Inference, Startable {
  readonly [Symbol.toStringTag] = '@fleetmesh/inference'
  readonly [serviceCapabilities]: string[] = ['@fleetmesh/inference']
  readonly [serviceDependencies]: string[] = ['@fleetmesh/market', '@fleetmesh/model-transfer', '@fleetmesh/admission']
  readonly counters: InferCounters = emptyCounters()
  readonly components: InferenceComponents
  readonly log: Logger
  /** largest job input (all tensors) accepted, bytes */
  readonly maxInputBytes: number
  private readonly init: InferenceInit
  private readonly worker: InferenceWorker
  /** sessions this node opened and has not closed */
  private readonly open = new Set<MeshSession>()
  private runtime?: Runtime
  private starting?: Promise<Runtime>
  /** this service's metrics, when libp2p has a metrics implementation */
  readonly metrics?: InferenceMetrics

  constructor (components: InferenceComponents, init: InferenceInit = {}) {
    super()
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('fleetmesh:inference')
    this.maxInputBytes = init.maxInputBytes ?? MAX_TENSOR_BYTES
    const metrics = optional(() => components.metrics)
    if (metrics != null) this.metrics = registerInferenceMetrics(metrics)
    this.worker = new InferenceWorker({
      peerId: components.peerId,
      log: this.log,
      counters: this.counters,
      connectionManager: components.connectionManager,
      admission: components.admission,
      models: components.models,
      ledger: optional(() => components.ledger),
      runtime: async () => this.getRuntime(),
      maxInputBytes: this.maxInputBytes,
      malformedStreamBudget: init.malformedStreamBudget ?? MALFORMED_INFER_STREAM_BUDGET,
      metrics: this.metrics,
      delayNextStage: init.delayNextStage,
      sessionBounds: {
        maxSessions: init.maxSessions ?? MAX_SESSIONS_PER_WORKER,
        maxStateBytes: init.maxSessionStateBytes ?? MAX_SESSION_STATE_BYTES,
        idleTimeoutMs: init.sessionIdleTimeoutMs ?? SESSION_IDLE_TIMEOUT_MS
      },
      delayMicroBatch: init.delayMicroBatch != null ? (open) => (init.delayMicroBatch as NonNullable<InferenceInit['delayMicroBatch']>)({ stage: open.stage, kind: open.kind }) : undefined,
      tamperOutputs: init.tamperOutputs != null ? (outputs, open) => (init.tamperOutputs as NonNullable<InferenceInit['tamperOutputs']>)(outputs, { stage: open.stage, kind: open.kind }) : undefined
    })
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(INFER_PROTOCOL, this.worker.handle, { maxInboundStreams: MAX_INFER_STREAMS, maxOutboundStreams: MAX_INFER_STREAMS, runOnLimitedConnection: true })
    this.components.market.handleLeases(this.worker.onLease, {
      canServe: (offer) => this.canServe(offer)
    })
  }

  async stop (): Promise<void> {
    for (const s of this.open) s.stop('the node is stopping')
    this.open.clear()
    this.components.market.unhandleLeases()
    await this.components.registrar.unhandle(INFER_PROTOCOL)
    this.worker.stop()
    await this.runtime?.stop()
    this.runtime = undefined
    this.starting = undefined
  }

  /** the ledger service, if the node runs one (libp2p's components throw for a missing service) */
  get ledger (): Ledger | undefined {
    return optional(() => this.components.ledger)
  }

  sessions (): number {
    return this.worker.size
  }

  sessionStages (): { stages: number, stateBytes: number } {
    return { stages: this.worker.stateful.size, stateBytes: this.worker.stateful.stateBytes }
  }

  /**
   * Opens a stateful session (session-open.ts, session.ts).
   *
   * @throws see {@link Inference.openSession}
   */
  async openSession (init: SessionInit): Promise<InferenceSession> {
    const session = await openSession(this, init)
    this.open.add(session)
    session.addEventListener('progress', (e) => { if (e.detail.type === 'closed') this.open.delete(session) })
    return session
  }

  /**
   * Refuses (no bid, and at the award a decline) an offer this worker
   * could not serve: a model over its store budget, a micro-batch over its
   * frame limit, a session while it holds its most session stages (BUSY):
   * those it serves and those leased whose control stream has not opened
   * yet, so bids made while it had room cannot over-commit it (a stream
   * past the limit is still refused with ERR_SESSION_LIMIT).
   */
  private canServe (offer: { modelCid: string, modelBytes?: number, maxFrameBytes?: number, session?: boolean }): { code: 'MODEL_TOO_LARGE' | 'INPUT_TOO_LARGE' | 'MODEL_INVALID' | 'BUSY', message: string } | undefined {
    const store = this.components.models.store
    const maxSessions = this.init.maxSessions ?? MAX_SESSIONS_PER_WORKER
    if (offer.session === true) {
      const held = this.sessionStagesHeld()
      if (held >= maxSessions) return { code: 'BUSY', message: `this worker already holds ${held} session stages (leased or served), its most (maxSessions ${maxSessions})` }
    }
    if (offer.modelBytes != null && offer.modelBytes > store.budgetBytes) {
      return { code: 'MODEL_TOO_LARGE', message: `model is ${offer.modelBytes} bytes, over this worker's store budget of ${store.budgetBytes} bytes` }
    }
    if (offer.maxFrameBytes != null && offer.maxFrameBytes > this.maxInputBytes) {
      return { code: 'INPUT_TOO_LARGE', message: `a micro-batch input is ${offer.maxFrameBytes} bytes, over this worker's limit of ${this.maxInputBytes} bytes` }
    }
    return undefined
  }

  /** Session stages this worker holds: served now, or leased with their stream still to open (each such lease is a stage it has promised). */
  private sessionStagesHeld (): number {
    const leased = this.components.market.heldLeases().filter(l => l.session === true).length
    return Math.max(leased, this.worker.stateful.size)
  }

  /** The runner pool, started on first use. */
  private async getRuntime (): Promise<Runtime> {
    if (this.runtime != null) return this.runtime
    this.starting ??= createRuntime({ store: this.components.models.store, runners: this.init.runners ?? DEFAULT_RUNNERS, intraOpNumThreads: this.init.intraOpNumThreads ?? 1, timeoutMs: this.init.runTimeoutMs ?? RUN_TIMEOUT_MS })
    this.runtime = await this.starting
    return this.runtime
  }

  /**
   * Submits a sharded inference job.
   *
   * @throws (through `result`) see {@link Inference.submit}
   */
  submit (init: SubmitInit): JobHandle {
    const jobId = randomUUID()
    const events = pushable<JobProgress>({ objectMode: true })
    const emit = (p: JobProgress): void => { events.push(p); this.safeDispatchEvent('progress', { detail: p }) }
    const abort = new AbortController()
    const signal = init.signal != null ? AbortSignal.any([init.signal, abort.signal]) : abort.signal
    const marketResult = Promise.withResolvers<JobResult>()
    marketResult.promise.catch(() => {})
    const verification: Verification = { caught: new Map(), mismatches: [], accepted: [], checked: new Set() }
    const result = runJob(this, jobId, init, emit, signal, marketResult, verification).then(
      async (r: WireTensor[]) => {
        // durable before the outputs are served: a requester that dies from here on still pays its workers when it restarts
        // (what it pays is known now; the market job may still be ending its leases)
        await holdJobSettlement(this, jobId, verification).catch((err: any) => { this.log.error('settlement of job %s not recorded - %s', jobId, err?.message ?? err) })
        this.metrics?.jobs.increment({ done: true })
        emit({ type: 'done', jobId, at: Date.now() })
        events.end()
        return r
      },
      (err: any) => { this.metrics?.jobs.increment({ failed: true }); emit({ type: 'failed', jobId, error: `${err?.name ?? 'Error'}: ${err?.message ?? err}`, at: Date.now() }); events.end(); throw err }
    )
    // a job that fails after its market job completed is not settled: free what it set aside
    result.catch(() => { this.ledger?.release(jobId) })
    const settlement: Promise<SettleResult> = result.then(async () => settle(this, await marketResult.promise, verification))
    settlement.catch((err) => { this.log('settling job %s failed - %s', jobId, err?.message ?? err) })
    return {
      jobId,
      result,
      market: marketResult.promise,
      settlement,
      cancel: (reason) => { abort.abort(new JobCancelledError(jobId, reason ?? 'cancelled by the requester')) },
      [Symbol.asyncIterator]: () => events[Symbol.asyncIterator]()
    }
  }

  /**
   * Gossip travels only through peers subscribed to a topic, so a job
   * offered in another region reaches its workers only if this node is
   * connected to some of them: find a few by DHT (`region/<prefix>`
   * provider records), connect, and wait for their admission (bounded by
   * REACH_REGION_TIMEOUT_MS; the offer goes out either way).
   */
  async reachRegion (region: string, signal: AbortSignal): Promise<void> {
    const admission = this.components.admission
    const inRegion = (): number => admission.admitted().filter(c => c.region.startsWith(region)).length
    if (inRegion() >= REACH_REGION_PEERS) return
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(REACH_REGION_TIMEOUT_MS)])
    try {
      const found = await this.components.capabilities.findPeers({ region, limit: REACH_REGION_PEERS, signal: deadline })
      await Promise.allSettled(found.map(async p => admission.waitFor(p.peerId, { signal: deadline })))
      // subscriptions are exchanged as soon as the streams open; one gossipsub heartbeat grafts the topic mesh
      if (found.length > 0) await new Promise(resolve => setTimeout(resolve, 1000))
    } catch (err: any) {
      this.log('reaching region %s failed - %s', region, err?.message ?? err)
    }
  }

  /**
   * Spot-check sampling of this requester, or undefined when off (no
   * ledger, or `verifyRate` 0): each worker's rate is the ledger's adaptive
   * one (`Ledger.sampleRate`, from its verification record; read once per
   * worker and job), or `verifyRate` for every worker when set; which
   * micro-batches is drawn with the ledger's secret seed.
   */
  verifySampling (): Sampling | undefined {
    const ledger = this.ledger
    if (ledger == null) return undefined
    const fixed = this.init.verifyRate
    if (fixed != null) {
      if (!(fixed > 0)) return undefined
      const rate = Math.min(1, fixed)
      return { rate: () => rate, seed: ledger.sampleSeed }
    }
    const rates = new Map<string, number>()
    return {
      rate: (worker) => {
        let r = rates.get(worker)
        if (r == null) { r = ledger.sampleRate(worker); rates.set(worker, r) }
        return r
      },
      seed: ledger.sampleSeed
    }
  }

  /** Runs a model on this node's own runner pool (the requester's third opinion on a disputed micro-batch). */
  async runLocal (modelCid: string, feed: WireTensor[]): Promise<{ outputs: WireTensor[], computeMs: number }> {
    const runtime = await this.getRuntime()
    await runtime.load(modelCid)
    return runtime.run(modelCid, feed)
  }

  /** True if a connection to the peer is open. */
  isConnected (peer: PeerId): boolean {
    return this.components.connectionManager.getConnections(peer).some(c => c.status === 'open')
  }

  /** Opens a control stream to a leased worker and sends `open`; `maxFrameBytes` bounds each frame read from it @default maxInputBytes + 4096 */
  async openControl (worker: PeerId, open: InferOpen, signal?: AbortSignal, maxFrameBytes = this.maxInputBytes + 4096): Promise<InferChannel> {
    const timeout = AbortSignal.timeout(OPEN_STREAM_TIMEOUT_MS)
    const stream = await this.components.connectionManager.openStream(worker, INFER_PROTOCOL, { signal: signal != null ? AbortSignal.any([signal, timeout]) : timeout, runOnLimitedConnection: true })
    const channel = new InferChannel(stream, this.counters, 'input', maxFrameBytes)
    channel.send({ open })
    return channel
  }
}
