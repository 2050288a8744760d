import { MAX_TENSOR_BYTES } from '@fleetmesh/protocol'
import { TypedEventEmitter } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { MAX_SESSION_RECOVERIES, MAX_SESSION_REPLAY_BYTES, MAX_SESSION_REPLAY_STEPS, MAX_SESSION_STATE_BYTES, MAX_SESSION_STEPS, HAND_BACK_LINGER_MS, SESSION_CLOSE_TIMEOUT_MS, SESSION_DEADLINE_MS, STAGE_READY_TIMEOUT_MS } from './constants.js'
import { isRecoverable, RemoteError, SessionError } from './errors.js'
import { generateTokens } from './local-session.js'
import { checkStepInputs, tensorBytes } from './session-plan.js'
import { ReplayLog } from './session-replay.js'
import { settleSession } from './session-settle.js'
import type { InferChannel } from './infer-channel.js'
import type { InferenceSession, SessionEvents, SessionInit, SessionProgress, SessionSummary } from './index.js'
import type { InferenceService } from './inference.js'
import type { GenerateInit } from './local-session.js'
import type { SessionStagePlan } from './session-plan.js'
import type { HandedBackReceipt } from './session-settle.js'
import type { JobResult, LeaseEvent } from '@fleetmesh/market'
import type { InferError, WireTensor } from '@fleetmesh/protocol'
import type { PeerId } from '@libp2p/interface'

/**
 * The requester side of a stateful session: one market job whose shards
 * are the session's stages, each leased for the session's life (the award
 * deadline is the session's; the market's heartbeats keep the leases).
 * Each step sends only the non-state inputs (to stage 0, and to any later
 * stage that reads a graph input); the state stays on the workers. The
 * requester keeps every step's inputs since the last complete snapshot
 * (bounded: at half of `maxReplaySteps` / `maxReplayBytes` it asks for a
 * snapshot, which restarts the log): when a stage's worker is lost it
 * leases a replacement, resets every stage (to the snapshot, or to the
 * initial state), replays the recorded steps and then goes on, so the
 * outputs equal an uninterrupted run.
 */

/** A session stage as the requester runs it. */
export interface SessionStageModel {
  /** CID of the stage model (the whole model for one stage) */
  cid: string
  plan: SessionStagePlan
  /** the state it starts from */
  initialState: WireTensor[]
}

/** What {@link MeshSession} is built from (session-open.ts prepares it). */
export interface SessionSpec {
  id: string
  /** CID of the whole model (the offer's) */
  modelCid: string
  modelBytes: number
  stages: SessionStageModel[]
  /** the step inputs, by name (every stage's requester inputs) */
  stepInputs: string[]
}

/** A stage's lease that is active now. */
interface StageLease {
  worker: PeerId
  leaseId: string
  stage: number
  /** credits per step it was awarded at */
  pricePerUnit?: number
}

/** A step a generation is running. */
interface Pending {
  seq: number
  gen: number
  result: PromiseWithResolvers<WireTensor[]>
}

/** Largest frame a session's control stream takes from a worker: a step's outputs or a stage's snapshot, bytes. */
const SESSION_FRAME_BYTES = Math.max(MAX_SESSION_STATE_BYTES, MAX_TENSOR_BYTES) + 4096

/** Thrown inside a step attempt when its generation was torn down: the step runs again on the next one. */
class Superseded extends Error {}

export class MeshSession extends TypedEventEmitter<SessionEvents> implements InferenceSession {
  readonly id: string
  private readonly svc: InferenceService
  private readonly spec: SessionSpec
  private readonly init: SessionInit
  private readonly abort = new AbortController()
  /** active leases, by stage */
  private readonly active = new Map<number, StageLease>()
  /** control streams of the current generation, by stage (empty while rebuilding) */
  private channels: InferChannel[] = []
  private generation = 0
  private building = false
  /** resolves once the current generation is built and caught up */
  private ready = Promise.withResolvers<void>()
  private pending?: Pending
  private chain: Promise<unknown> = Promise.resolve()
  private failed?: Error
  private closing?: Promise<SessionSummary>
  private stepCount = 0
  /** workers lost and replaced */
  private recoveries = 0
  /** rebuilds with no worker lost (a broken feed between stages) */
  private rebuilds = 0
  /** the last worker lost, and why */
  private lastLoss?: { stage: number, worker: string, reason: string, code?: string }
  /** set while rebuilding after a loss: what the `recovered` event reports */
  private lost?: { stages: number[] }
  /** the step inputs since the last snapshot, and that snapshot */
  private readonly log: ReplayLog
  /** steps sent to each lease (replays included): the most its receipt may count */
  private readonly sent = new Map<string, number>()
  /** receipts that came with the error ending a lease (its return never comes), by lease id: one per lease, leases are bounded by MAX_SESSION_RECOVERIES */
  private readonly handedBack = new Map<string, HandedBackReceipt>()
  private readonly market: Promise<JobResult>
  private readonly onLease: (evt: CustomEvent<LeaseEvent>) => void

  constructor (svc: InferenceService, spec: SessionSpec, init: SessionInit) {
    super()
    this.svc = svc
    this.spec = spec
    this.init = init
    this.id = spec.id
    this.log = new ReplayLog(spec.stages.length, init.maxReplaySteps ?? MAX_SESSION_REPLAY_STEPS, init.maxReplayBytes ?? MAX_SESSION_REPLAY_BYTES, init.snapshotEvery ?? 0)
    this.ready.promise.catch(() => {})
    this.onLease = (evt) => { this.leaseEvent(evt.detail) }
    const market = svc.components.market
    market.addEventListener('lease', this.onLease)
    const signal = init.signal != null ? AbortSignal.any([init.signal, this.abort.signal]) : this.abort.signal
    if (init.signal != null) init.signal.addEventListener('abort', () => { this.fail(new SessionError(`session ${this.id} aborted: ${String(init.signal?.reason?.message ?? init.signal?.reason ?? 'aborted')}`, { code: 'ERR_SESSION_CLOSED' })) }, { once: true, signal: this.abort.signal })
    this.market = market.submit({
      jobId: spec.id,
      modelCid: spec.modelCid,
      mode: 'pipeline',
      // a unit is one step of one stage: the session's maximum cost is committed at its first award
      shardUnits: spec.stages.map(() => this.maxSteps),
      maxPricePerUnit: init.maxPrice,
      deadline: init.deadline ?? Date.now() + SESSION_DEADLINE_MS,
      region: init.region,
      jurisdiction: init.jurisdiction,
      minBids: init.minBids,
      modelBytes: spec.modelBytes,
      spread: true,
      session: true
    }, { signal })
    this.market.catch((err: any) => {
      const last = this.lastLoss
      // the market gave up placing a stage a worker handed back: that worker's reason is the cause, the market's message the consequence
      if (last?.code != null && (err?.name === 'JobFailedError' || err?.name === 'NoBidsError')) {
        this.fail(new SessionError(`session ${this.id}: stage ${last.stage} found no other worker after ${last.worker} handed it back (${last.reason}): ${err.message}`, { code: last.code.startsWith('ERR_SESSION') ? last.code as SessionError['code'] : 'ERR_SESSION', stage: last.stage, worker: last.worker, cause: err }))
        return
      }
      this.fail(err instanceof Error ? err : new SessionError(String(err)))
    })
  }

  get steps (): number { return this.stepCount }

  private get maxSteps (): number { return this.init.maxSteps ?? MAX_SESSION_STEPS }

  get leases (): ReadonlyArray<{ stage: number, worker: string, leaseId: string }> {
    return [...this.active.values()].sort((a, b) => a.stage - b.stage).map(l => ({ stage: l.stage, worker: l.worker.toString(), leaseId: l.leaseId }))
  }

  /** Resolves once every stage is leased and ready. @throws the market's NoBidsError/JobFailedError, a stage's SessionError */
  async opened (): Promise<void> {
    while (true) {
      const ready = this.ready
      await ready.promise
      // a teardown wakes the waiters of the generation it dropped
      if (this.ready === ready) return
    }
  }

  private emit (p: SessionProgress): void {
    this.safeDispatchEvent('progress', { detail: p })
  }

  // ---- leases and generations

  private leaseEvent (e: LeaseEvent): void {
    if (e.jobId !== this.id || e.side !== 'requester') return
    if (e.state === 'active') {
      const worker = this.svc.components.admission.admitted().find(c => c.peerId.toString() === e.worker)
      if (worker == null) { this.activateOnceAdmitted(e); return }
      this.activate(e, worker)
    } else if (['lost', 'declined', 'released', 'cancelled'].includes(e.state)) {
      const l = this.active.get(e.shardIndex)
      if (l?.leaseId === e.leaseId) this.workerLost(l, e.reason ?? e.state)
    }
  }

  /**
   * A requester that dialled the worker to award it reads the worker's
   * accept as soon as the worker admitted it, which may be before this node
   * verified the worker's certificate: the lease is used once the worker is
   * admitted here, and released for a re-award if it is not (refused, or
   * not within the admission wait).
   */
  private activateOnceAdmitted (e: LeaseEvent): void {
    const market = this.svc.components.market
    let peer: PeerId
    try {
      peer = peerIdFromString(e.worker)
    } catch (err: any) {
      market.releaseLease(e.leaseId, `worker ${e.worker} is not a PeerId: ${err?.message ?? err}`, { reaward: true })
      return
    }
    const over = (): boolean => this.failed != null || this.closing != null
    this.svc.components.admission.waitFor(peer, { signal: this.abort.signal }).then(() => {
      if (over()) return
      const worker = this.svc.components.admission.admitted().find(c => c.peerId.toString() === e.worker)
      if (worker != null) this.activate(e, worker)
      else market.releaseLease(e.leaseId, 'the worker disconnected before it was admitted', { reaward: true })
    }, (err: any) => {
      if (over()) return
      market.releaseLease(e.leaseId, `the worker was not admitted: ${err?.message ?? err}`, { reaward: true })
    })
  }

  /** Uses an active lease of an admitted worker (a worker certified for another jurisdiction than the session requires is released). */
  private activate (e: LeaseEvent, worker: { peerId: PeerId, jurisdiction?: string }): void {
    if (this.init.jurisdiction != null && this.init.jurisdiction !== '' && worker.jurisdiction !== this.init.jurisdiction) {
      this.svc.components.market.releaseLease(e.leaseId, `worker certified for jurisdiction ${worker.jurisdiction ?? 'none'}, the session requires ${this.init.jurisdiction}`, { reaward: true })
      return
    }
    this.active.set(e.shardIndex, { worker: worker.peerId, leaseId: e.leaseId, stage: e.shardIndex, pricePerUnit: e.pricePerUnit })
    this.emit({ type: 'leased', sessionId: this.id, stage: e.shardIndex, worker: e.worker, leaseId: e.leaseId, at: e.at })
    void this.build()
  }

  /** A stage's worker is gone (or failed in a way another may not): every stage resets, the lost one is leased again. */
  private workerLost (l: StageLease, reason: string, code?: string): void {
    if (this.failed != null || this.closing != null || this.active.get(l.stage)?.leaseId !== l.leaseId) return
    this.active.delete(l.stage)
    this.lastLoss = { stage: l.stage, worker: l.worker.toString(), reason, code }
    this.emit({ type: 'worker-lost', sessionId: this.id, stage: l.stage, worker: l.worker.toString(), leaseId: l.leaseId, reason, code, at: Date.now() })
    this.svc.components.market.releaseLease(l.leaseId, reason, { reaward: true })
    if (++this.recoveries + this.rebuilds > MAX_SESSION_RECOVERIES) {
      this.fail(new SessionError(`session ${this.id}: ${this.recoveries} workers lost, more than the ${MAX_SESSION_RECOVERIES} it recovers from; the last: stage ${l.stage} (${l.worker.toString()}): ${reason}`, { code: 'ERR_SESSION_RECOVERY', stage: l.stage, worker: l.worker.toString() }))
      return
    }
    this.lost = { stages: [...new Set([...(this.lost?.stages ?? []), l.stage])] }
    this.teardown(l.stage)
    void this.build()
  }

  /** Resets every stage without blaming a worker (a broken link between stages): a loss shows when the build reaches the workers. */
  private rebuild (reason: string): void {
    if (this.failed != null || this.closing != null) return
    if (this.recoveries + ++this.rebuilds > MAX_SESSION_RECOVERIES) {
      this.fail(new SessionError(`session ${this.id}: rebuilt ${this.recoveries + this.rebuilds} times, more than the ${MAX_SESSION_RECOVERIES} it recovers from; the last: ${reason}`, { code: 'ERR_SESSION_RECOVERY' }))
      return
    }
    this.svc.log('session %s rebuilds - %s', this.id, reason)
    this.lost = { stages: this.lost?.stages ?? [] }
    this.teardown()
    void this.build()
  }

  /**
   * Drops the current generation: its channels close (the workers drop its
   * state), its step runs again on the next. The channel of the stage
   * `lost`, if given, is closed, not reset, and read for HAND_BACK_LINGER_MS
   * more: the receipt its worker hands back with the lease's end may still
   * be on its way.
   */
  private teardown (lost?: number): void {
    this.generation++
    for (const [k, c] of this.channels.entries()) {
      if (k !== lost) { c.abort(new Error('session rebuilt')); continue }
      void c.close()
      setTimeout(() => { c.abort(new Error('session rebuilt')) }, HAND_BACK_LINGER_MS).unref?.()
    }
    this.channels = []
    this.log.parts.clear()
    if (this.pending != null) this.pending.result.reject(new Superseded())
    const old = this.ready
    this.ready = Promise.withResolvers<void>()
    this.ready.promise.catch(() => {})
    // a step waiting on the old generation wakes and waits for the new one
    old.resolve()
  }

  /**
   * Opens a generation once every stage is leased: control streams last
   * stage first (each stage's successor is configured when it opens its
   * feed), every stage ready, then the recorded steps replayed from the
   * snapshot (or from the start).
   */
  private async build (): Promise<void> {
    const K = this.spec.stages.length
    if (this.building || this.failed != null || this.closing != null || this.channels.length > 0) return
    // a worker the requester lost its connection to is gone: lease another before building
    for (const l of [...this.active.values()]) if (!this.svc.isConnected(l.worker)) this.workerLost(l, `stage ${l.stage}: no connection to its worker`)
    const leased = [...this.active.values()]
    if (leased.length < K || this.failed != null) return
    this.building = true
    const gen = ++this.generation
    const opened: InferChannel[] = []
    const base = this.log.snapshot
    try {
      for (let k = K - 1; k >= 0; k--) {
        const me = this.active.get(k) as StageLease
        const next = this.active.get(k + 1)
        const prev = this.active.get(k - 1)
        const st = this.spec.stages[k] as SessionStageModel
        const state = base?.state[k] ?? st.initialState
        try {
          opened[k] = await this.svc.openControl(me.worker, {
            jobId: this.id,
            leaseId: me.leaseId,
            modelCid: st.cid,
            jobItems: 0,
            kind: 'session',
            stage: k,
            stageCount: K,
            source: prev != null ? prev.worker.toMultihash().bytes : new Uint8Array(),
            next: next != null ? next.worker.toMultihash().bytes : new Uint8Array(),
            nextAddrs: [],
            nextLeaseId: next?.leaseId ?? '',
            constants: new Uint8Array(),
            fromRequester: k > 0 ? st.plan.fromRequester : [],
            session: {
              state: st.plan.state,
              stateFollows: state.length > 0,
              firstStep: base?.steps ?? 0,
              sends: st.plan.sends
            }
          }, this.abort.signal, SESSION_FRAME_BYTES)
          if (state.length > 0) void opened[k]?.send({ snapshot: { step: base?.steps ?? 0, tensors: new Uint8Array() } }, state).catch(() => {})
        } catch (err: any) {
          throw Object.assign(new SessionError(`stage ${k}: cannot open a stream to ${me.worker.toString()}: ${err?.message ?? err}`, { stage: k, worker: me.worker.toString() }), { lease: me })
        }
        if (gen !== this.generation) throw new Superseded()
      }
      await Promise.all(opened.map(async (c, k) => this.awaitReady(c, this.active.get(k) as StageLease)))
      if (gen !== this.generation) throw new Superseded()
      this.channels = opened
      for (const [k, c] of opened.entries()) void this.read(c, gen, this.active.get(k) as StageLease)
      // catch up: the recorded steps since the snapshot, outputs dropped
      const from = base?.steps ?? 0
      for (let seq = from; seq < this.stepCount; seq++) await this.attempt(seq, this.log.inputsOf(seq), gen, false)
      if (this.lost != null) {
        this.emit({ type: 'recovered', sessionId: this.id, stages: this.lost.stages, workers: this.leases.map(l => l.worker), fromStep: from, replayed: this.stepCount - from, at: Date.now() })
        this.lost = undefined
      }
      this.ready.resolve()
    } catch (err: any) {
      for (const c of opened) c?.abort(new Error('session build failed'))
      if (err instanceof Superseded || gen !== this.generation) return
      const lease: StageLease | undefined = err?.lease
      if (lease == null) { this.fail(err); return }
      if (err.frame != null) this.stageError(lease, err.frame as InferError)
      else this.workerLost(lease, err?.message ?? String(err))
    } finally {
      this.building = false
      // a lease that became active while this build ran, or a loss during it
      if (this.channels.length === 0 && this.failed == null && this.closing == null) queueMicrotask(() => { void this.build() })
    }
  }

  /** A stage's first answer: `ready`, or its error (thrown with the frame and the lease). */
  private async awaitReady (c: InferChannel, lease: StageLease): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((resolve, reject) => {
      timer = setTimeout(() => { reject(new SessionError(`stage ${lease.stage} was not ready within ${STAGE_READY_TIMEOUT_MS} ms`, { stage: lease.stage })) }, STAGE_READY_TIMEOUT_MS)
    })
    try {
      while (true) {
        const m = await Promise.race([c.next(), timeout])
        if (m == null) throw new SessionError(`stage ${lease.stage}'s worker closed its stream before it was ready`, { stage: lease.stage })
        if (m.error != null) throw Object.assign(new SessionError(m.error.message), { frame: { ...m.error, stage: m.error.stage ?? lease.stage } })
        if (m.ready != null) return
      }
    } catch (err: any) {
      throw Object.assign(err, { lease })
    } finally {
      clearTimeout(timer)
    }
  }

  /** Reads one stage's control stream: results (last stage), snapshots, errors; its end is a lost worker. */
  private async read (channel: InferChannel, gen: number, lease: StageLease): Promise<void> {
    const K = this.spec.stages.length
    let why = 'its stream closed'
    try {
      while (true) {
        const m = await channel.next()
        if (m == null) break
        // the pay for the steps of a lease that ends with this error, whichever generation it served
        if (m.error?.receipt != null && m.error.receipt.byteLength > 0 && !this.handedBack.has(lease.leaseId)) {
          this.handedBack.set(lease.leaseId, { leaseId: lease.leaseId, worker: lease.worker.toString(), stage: lease.stage, pricePerUnit: lease.pricePerUnit, receipt: m.error.receipt })
        }
        // a dropped generation's stream is read only for that receipt (only a lost stage's lingers, see teardown)
        if (gen !== this.generation) continue
        if (m.error != null) {
          this.stageError(lease, { ...m.error, stage: m.error.stage ?? lease.stage })
          if (this.failed != null || gen !== this.generation) return
          continue
        }
        if (m.snapshot != null) { this.log.part(lease.stage, m.snapshot.step, m.payload ?? []); continue }
        if (m.result == null || lease.stage !== K - 1) continue
        const p = this.pending
        if (p != null && p.gen === gen && p.seq === m.result.seq) p.result.resolve(m.payload ?? [])
      }
    } catch (err: any) {
      why = `its stream failed: ${err?.message ?? err}`
    }
    if (gen === this.generation && this.closing == null) this.workerLost(lease, `stage ${lease.stage}: ${why}`)
  }

  /** A stage's error frame: recoverable codes cost that worker its lease (recovery), the others fail the session. */
  private stageError (lease: StageLease, e: InferError): void {
    const stage = e.stage ?? lease.stage
    const worker = lease.worker.toString()
    const feed = e.code === 'ERR_SESSION_FEED'
    this.svc.metrics?.workerErrors.increment({ [feed || isRecoverable(e.code) ? 'recovered' : 'failed']: true })
    if (feed) {
      // the stage before (or its link) failed, not this stage: rebuild, and the build finds the worker that is gone
      this.rebuild(`stage ${stage} (${worker}): ${e.message}`)
      return
    }
    if (isRecoverable(e.code)) {
      this.workerLost(lease, `${e.name}: ${e.message}`, e.code)
      return
    }
    const cause = new RemoteError(e.name || 'Error', e.code, `worker ${worker} (stage ${stage}${e.seq != null ? `, step ${e.seq}` : ''}): ${e.message}`, { worker, leaseId: lease.leaseId, stage, seq: e.seq })
    const code = e.name === 'SessionError' && e.code.startsWith('ERR_SESSION_') ? e.code as SessionError['code'] : 'ERR_SESSION_STAGE_FAILED'
    this.fail(new SessionError(`session ${this.id}: stage ${stage} on ${worker} failed: ${e.name}: ${e.message}`, { code, stage, worker, cause }))
  }

  private fail (err: Error): void {
    if (this.failed != null) return
    this.failed = err
    this.ready.reject(err)
    this.pending?.result.reject(err)
  }

  // ---- steps

  /**
   * Runs one step: `inputs` are the model's non-state inputs; resolves with
   * its outputs minus the state outputs. Steps run one at a time, in call
   * order. A lost worker is replaced and the state rebuilt before the step
   * runs again: the caller sees only the delay (and `worker-lost` /
   * `recovered` progress events).
   *
   * @throws SessionError `ERR_SESSION_INPUT` for inputs that do not fit, a stage's typed error (`ERR_SESSION_STAGE_FAILED` with the worker's error as `cause`, or the worker's own session code), `ERR_SESSION_RECOVERY`, `ERR_SESSION_CLOSED`; the market's errors when the stages cannot be placed
   */
  async step (inputs: WireTensor[]): Promise<WireTensor[]> {
    checkStepInputs(inputs, this.spec.stepInputs, this.spec.stages.flatMap(s => s.plan.state))
    const run = this.chain.then(async () => this.runStep(inputs))
    this.chain = run.catch(() => {})
    return run
  }

  private async runStep (inputs: WireTensor[]): Promise<WireTensor[]> {
    const bytes = tensorBytes(inputs)
    while (true) {
      if (this.closing != null) throw new SessionError(`session ${this.id} is closed`, { code: 'ERR_SESSION_CLOSED' })
      if (this.failed != null) throw this.failed
      await this.opened()
      const seq = this.stepCount
      if (seq >= this.maxSteps) throw new SessionError(`session ${this.id} ran its ${this.maxSteps} steps (maxSteps, what its funds were committed for): open a new session, or one with a larger maxSteps`, { code: 'ERR_SESSION_STEPS' })
      this.log.check(this.id, seq, bytes)
      const started = Date.now()
      try {
        const outputs = await this.attempt(seq, inputs, this.generation, this.log.wantsSnapshot(seq, bytes))
        this.log.record(inputs, bytes)
        this.stepCount++
        this.emit({ type: 'step', sessionId: this.id, step: seq, ms: Date.now() - started, at: Date.now() })
        return outputs
      } catch (err) {
        if (err instanceof Superseded) continue
        throw err
      }
    }
  }

  /** Sends step `seq` to the generation's stages and waits for the last stage's outputs. @throws Superseded when the generation is torn down */
  private async attempt (seq: number, inputs: WireTensor[], gen: number, snapshot: boolean): Promise<WireTensor[]> {
    if (gen !== this.generation || this.channels.length === 0) throw new Superseded()
    const p: Pending = { seq, gen, result: Promise.withResolvers() }
    this.pending = p
    for (const l of this.active.values()) this.sent.set(l.leaseId, (this.sent.get(l.leaseId) ?? 0) + 1)
    for (const [k, c] of this.channels.entries()) {
      const st = this.spec.stages[k] as SessionStageModel
      // stage 0 always gets the step (it starts it); a later stage only the graph inputs it reads
      if (k > 0 && st.plan.fromRequester.length === 0) continue
      const mine = inputs.filter(t => st.plan.fromRequester.includes(t.name))
      c.send({ data: { seq, tensors: new Uint8Array(), more: false, items: 1, snapshot, stageComputeMs: [] } }, mine).catch(() => {})
    }
    try {
      return await p.result.promise
    } finally {
      if (this.pending === p) this.pending = undefined
    }
  }

  /** `generateTokens(this, init)`: token ids, greedy or sampled, until `maxTokens` or the stop token. */
  generate (init: GenerateInit): AsyncIterable<number> {
    return generateTokens(this, init)
  }

  // ---- close

  /**
   * Ends the session: every stage is told to finish and answers with its
   * receipt for the steps it ran (replays included); the receipts are
   * checked against the steps sent to each lease and countersigned.
   * Call it after a failure too: the steps served are paid. Idempotent.
   */
  async close (): Promise<SessionSummary> {
    this.closing ??= this.closeNow()
    return this.closing
  }

  /** Ends the session without settling (its node is stopping): steps fail with ERR_SESSION_CLOSED, streams close, the market job is cancelled. */
  stop (reason: string): void {
    if (this.closing != null) return
    this.closing = Promise.resolve({ id: this.id, steps: this.stepCount, recoveries: this.recoveries, receipts: 0 })
    this.fail(new SessionError(`session ${this.id} ended: ${reason}`, { code: 'ERR_SESSION_CLOSED' }))
    for (const c of this.channels) c.abort(new Error(reason))
    this.channels = []
    this.svc.components.market.removeEventListener('lease', this.onLease)
    this.abort.abort(new SessionError(`session ${this.id} ended: ${reason}`, { code: 'ERR_SESSION_CLOSED' }))
  }

  private async closeNow (): Promise<SessionSummary> {
    await this.chain
    const K = this.spec.stages.length
    const complete = this.channels.length === K && this.active.size === K
    for (const c of this.channels) {
      c.send({ finish: {} }).catch(() => {})
      void c.close()
    }
    if (!complete) this.svc.components.market.failJob(this.id, new SessionError(`session ${this.id} closed with ${K - this.channels.length} of ${K} stages not running`, { code: 'ERR_SESSION_CLOSED' }))
    let receipts = 0
    const timer = setTimeout(() => { this.svc.components.market.failJob(this.id, new SessionError(`session ${this.id}: its stages did not all finish within ${SESSION_CLOSE_TIMEOUT_MS} ms of close`, { code: 'ERR_SESSION_CLOSED' })) }, SESSION_CLOSE_TIMEOUT_MS)
    try {
      let job: JobResult | undefined
      try {
        job = await this.market
      } catch (err: any) {
        this.svc.log('session %s: its market job ended without its leases\' returns - %s', this.id, err?.message ?? err)
      }
      const ledger = this.svc.ledger
      if (ledger != null) receipts = (await settleSession(ledger, { jobId: this.id, shards: job?.shards ?? [] }, this.sent, [...this.handedBack.values()], this.svc.log)).accepted.length
    } catch (err: any) {
      this.svc.log('session %s settled no receipts - %s', this.id, err?.message ?? err)
    } finally {
      // what the session set aside at its award and did not spend is free again (a failed or cancelled market job freed it already)
      this.svc.ledger?.release(this.id)
      clearTimeout(timer)
      this.svc.components.market.removeEventListener('lease', this.onLease)
      this.abort.abort()
      this.fail(new SessionError(`session ${this.id} is closed`, { code: 'ERR_SESSION_CLOSED' }))
    }
    const summary: SessionSummary = { id: this.id, steps: this.stepCount, recoveries: this.recoveries, receipts }
    this.emit({ type: 'closed', sessionId: this.id, steps: summary.steps, recoveries: summary.recoveries, receipts: summary.receipts, at: Date.now() })
    return summary
  }
}
