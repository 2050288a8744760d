import { planStages } from '@fleetmesh/runtime'
import { PIPELINE_EXTRA_CREDITS, REBUILD_DELAY_MS, STAGE_READY_TIMEOUT_MS } from './constants.js'
import { SessionError } from './errors.js'
import { checkPipeline } from './pipeline-check.js'
import { choosePipelineMicroBatch, pipelineTimingFromProbe, planMicroBatches } from './micro-batch.js'
import { planPipelineFeeds } from './pipeline-plan.js'
import type { InferChannel } from './infer-channel.js'
import type { ActiveLease, DispatchContext, Dispatcher, HeldReceipt, Sampling, Verification } from './job.js'
import type { Ledger } from '@fleetmesh/ledger'
import type { StageFeed } from './pipeline-plan.js'
import type { Stage } from '@fleetmesh/runtime'

/** Micro-batches a pipeline of `stages` stages holds at once: one per stage plus PIPELINE_EXTRA_CREDITS in transit. */
export function pipelineCredits (stages: number): number {
  return stages + PIPELINE_EXTRA_CREDITS
}

/**
 * The micro-batch size is the dispatcher's to choose (the user set none and
 * the model fixes none): micro-batch 0 is a probe of `probeItems` items sent
 * alone, and its trip sizes the rest (`choosePipelineMicroBatch`, at most
 * `maxItems`: the size the offer announced).
 */
export interface AdaptiveMicroBatch {
  /** items of the probe, micro-batch 0 */
  probeItems: number
  /** largest micro-batch, items */
  maxItems: number
}

/**
 * Pipeline: one worker per stage, placed with `planStages` (speed from
 * the bids). The chain is opened last stage first; every stage answers
 * `ready` once its model is loaded and its next-stage stream is open, and
 * only then do micro-batches flow: stage 0 gets the inputs it reads, each
 * later stage the batched graph inputs it reads (same seq as the
 * activations they join) and its broadcast inputs in `open`. Any stage's
 * error arrives on its control stream; a recoverable one releases that
 * stage's lease and the pipeline is rebuilt with the replacement, every
 * micro-batch without a result sent again.
 *
 * Every stage sends a receipt per micro-batch (the last with its result,
 * the others alone on their control streams): the receipts of the
 * generation that produced a micro-batch's accepted result are what
 * settlement pays (`accepted()`). Once every result is in, a sample is
 * spot-checked (`checkPipeline`) before the job is done; a caught worker's
 * lease is released, the generation's results are thrown away, and the
 * pipeline is rebuilt with its replacement.
 * With `adaptive`, micro-batch 0 goes alone first and its timing plans
 * the others (`ctx.batches` is re-planned in place once its result is in).
 */
export class PipelineDispatcher implements Dispatcher {
  private channels: InferChannel[] = []
  private finished = false
  private readonly finishedLeases = new Set<string>()
  private building = false
  private generation = 0
  private usedLeases = new Set<string>()
  private readonly feeds: StageFeed[]
  private rebuildTimer?: ReturnType<typeof setTimeout>
  /** the job is over (`close`): a lease's stream failing now fails with it */
  private closed = false
  /** micro-batches of this generation not sent yet, in order */
  private pendingSeqs: number[] = []
  /** micro-batches in the pipeline now (sent, no result yet) */
  private inFlight = 0
  /** micro-batch receipts, by `${generation}/${stage}/${seq}` */
  private readonly receipts = new Map<string, HeldReceipt>()
  /** the generation whose result was accepted, by seq */
  private readonly resultGen = new Map<number, number>()
  /** the leases of each generation, by stage */
  private readonly genStages = new Map<number, ActiveLease[]>()
  /** checkers' receipts whose outputs agreed */
  private readonly checkerReceipts: HeldReceipt[] = []
  /** the control stream each lease listens on now (a check session replaces the pipeline's) */
  private readonly latest = new Map<string, InferChannel>()
  /** generations whose results are being (or were) checked: their pipeline streams are done, their errors no longer count */
  private readonly checkedGens = new Set<number>()
  /** when the probe (micro-batch 0) went out, while the size is still to be chosen */
  private probeSentAt = 0

  constructor (
    private readonly ctx: DispatchContext,
    private readonly stages: Stage[],
    private readonly bidSpeed: Map<string, number>,
    private readonly verify?: Sampling,
    private readonly verification?: Verification,
    private readonly ledger?: Ledger,
    private adaptive?: AdaptiveMicroBatch
  ) {
    this.feeds = planPipelineFeeds(stages, ctx.axes)
  }

  onActive (leaseId?: string): void {
    if (this.finished) {
      // every micro-batch is done: end any lease that became active since
      if (leaseId != null) void this.finishLease(leaseId)
      return
    }
    if (this.ctx.leases.size >= this.stages.length && !this.building && this.channels.length === 0) void this.build()
  }

  private async finishLease (leaseId: string): Promise<void> {
    const lease = this.ctx.leases.get(leaseId)
    if (lease == null || this.finishedLeases.has(leaseId)) return
    this.finishedLeases.add(leaseId)
    try {
      const c = await this.ctx.openControl(lease.worker, { jobId: this.ctx.jobId, leaseId, modelCid: (this.stages[0] as Stage).cid, kind: 'stage', stage: 0, stageCount: 1, source: new Uint8Array(), next: new Uint8Array(), nextAddrs: [], nextLeaseId: '', constants: new Uint8Array(), fromRequester: [], jobItems: this.ctx.jobItems })
      c.send({ finish: {} })
      await c.close()
    } catch (err: any) {
      // the market ends a job only when each of its slots completed: a lease that cannot hear `finish` is
      // released at once (the worker stops holding it) and its slot re-awarded, whose lease is sent `finish` in turn
      if (this.closed) return
      this.ctx.log('finish to %p for lease %s failed - %s', lease.worker, leaseId, err?.message ?? err)
      if (this.ctx.leases.has(leaseId)) this.ctx.streamLost(lease, `the job's finish could not be sent: ${err?.message ?? err}`)
    }
  }

  onLost (): void {
    if (this.finished) return
    this.teardown()
    this.onActive()
  }

  private teardown (): void {
    this.generation++
    for (const c of this.channels) c.abort(new Error('pipeline rebuilt'))
    this.channels = []
  }

  /** Maps stages to the leased workers (planStages), opens the chain and waits until every stage is ready. */
  private async build (): Promise<void> {
    this.building = true
    const gen = ++this.generation
    const K = this.stages.length
    const opened: InferChannel[] = []
    let byStage: ActiveLease[] = []
    try {
      // leases of workers still connected (a dead worker's lease lingers until the market notices), never a caught worker's
      const leased = [...this.ctx.leases.values()].filter(l => this.ctx.isConnected(l.worker) && this.verification?.caught.has(l.worker.toString()) !== true).slice(0, K)
      if (leased.length < K) {
        this.building = false
        this.rebuildTimer = setTimeout(() => { this.onActive() }, REBUILD_DELAY_MS)
        return
      }
      const plan = planStages(this.stages, leased.map(l => ({
        id: l.leaseId,
        memoryBytes: Number.MAX_SAFE_INTEGER,
        // a bid's msPerUnit is per compute unit: lower is faster
        flopsPerSecond: 1e9 / Math.max(0.001, this.bidSpeed.get(l.worker.toString()) ?? 10)
      })))
      byStage = plan.placements.map(p => this.ctx.leases.get(p.peer) as ActiveLease)
      this.usedLeases = new Set(byStage.map(l => l.leaseId))
      // open the last stage first, so each stage's successor is configured when it opens its feed
      for (let k = K - 1; k >= 0; k--) {
        const me = byStage[k] as ActiveLease
        const next = byStage[k + 1]
        const prev = byStage[k - 1]
        const feed = this.feeds[k] as StageFeed
        try {
          opened[k] = await this.ctx.openControl(me.worker, {
            jobId: this.ctx.jobId,
            leaseId: me.leaseId,
            modelCid: (this.stages[k] as Stage).cid,
            kind: 'stage',
            stage: k,
            stageCount: K,
            source: prev != null ? prev.worker.toMultihash().bytes : new Uint8Array(),
            next: next != null ? next.worker.toMultihash().bytes : new Uint8Array(),
            nextAddrs: [],
            nextLeaseId: next?.leaseId ?? '',
            constants: this.ctx.encodeConstants(feed.broadcast),
            fromRequester: k > 0 ? feed.batched : [],
            jobItems: this.ctx.jobItems
          })
        } catch (err: any) {
          throw Object.assign(new SessionError(`stage ${k}: cannot open a stream to ${me.worker.toString()}: ${err?.message ?? err}`), { lease: me })
        }
        if (gen !== this.generation) throw new SessionError('superseded')
      }
      // every stage answers ready (or its error) before any micro-batch flows
      await Promise.all(opened.map(async (c, k) => this.awaitReady(c, k, byStage[k] as ActiveLease)))
      if (gen !== this.generation) throw new SessionError('superseded')
      this.channels = opened
      this.genStages.set(gen, byStage)
      for (const [k, c] of opened.entries()) {
        this.latest.set((byStage[k] as ActiveLease).leaseId, c)
        void this.read(c, gen, k, byStage[k] as ActiveLease)
      }
      this.sendAll(opened)
    } catch (err: any) {
      for (const c of opened) c?.abort(new Error('pipeline build failed'))
      if (gen === this.generation) {
        this.channels = []
        const lease: ActiveLease | undefined = err?.lease
        if (err?.frame != null && lease != null) {
          this.building = false
          this.ctx.workerError(lease, err.frame)
          return
        }
        if (lease != null) {
          this.building = false
          this.ctx.streamLost(lease, err?.message ?? String(err))
          return
        }
        this.rebuildTimer = setTimeout(() => { this.onActive() }, REBUILD_DELAY_MS)
      }
    } finally {
      this.building = false
    }
  }

  /** The stage's first answer: `ready`, or its error (thrown with the frame and the lease). */
  private async awaitReady (c: InferChannel, k: number, lease: ActiveLease): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((resolve, reject) => {
      timer = setTimeout(() => { reject(Object.assign(new SessionError(`stage ${k} was not ready within ${STAGE_READY_TIMEOUT_MS} ms`), { lease })) }, STAGE_READY_TIMEOUT_MS)
    })
    try {
      while (true) {
        const m = await Promise.race([c.next(), timeout])
        if (m == null) throw Object.assign(new SessionError(`stage ${k}'s worker closed its stream before it was ready`), { lease })
        if (m.error != null) throw Object.assign(new SessionError(m.error.message), { lease, frame: { ...m.error, stage: m.error.stage ?? k } })
        if (m.ready != null) return
      }
    } catch (err: any) {
      if (err?.lease != null) throw err
      throw Object.assign(new SessionError(`stage ${k}: ${err?.message ?? err}`), { lease })
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * Starts a generation's flow: micro-batches without a result go out in
   * order, at most `pipelineCredits(K)` in the pipeline at once (sent to
   * stage 0, no result yet). Each result returns a credit, so a slow stage
   * holds the requester back instead of queues growing at every stage,
   * while every stage still has a micro-batch to work on and one waiting
   * (GPipe's schedule: stage k runs micro-batch i while i−1 moves on).
   */
  private sendAll (channels: InferChannel[]): void {
    this.pendingSeqs = [...this.ctx.batches.keys()].filter(seq => !this.ctx.results.has(seq))
    // the size is still to be chosen: only the probe goes, alone
    if (this.adaptive != null) this.pendingSeqs = this.pendingSeqs.slice(0, 1)
    this.inFlight = 0
    // rebuilt after every result was in (a lease lost during the checks): nothing to send, the job is done
    if (this.pendingSeqs.length === 0) { void this.checkThenDone(this.generation); return }
    this.sendMore(channels)
  }

  /** Sends queued micro-batches while credits last: to stage 0 what it reads, to each later stage its batched graph inputs. */
  private sendMore (channels: InferChannel[]): void {
    const credits = pipelineCredits(this.stages.length)
    while (this.inFlight < credits) {
      const seq = this.pendingSeqs.shift()
      if (seq == null) return
      if (this.ctx.results.has(seq)) continue
      const range = this.ctx.batches[seq] as [number, number]
      const items = range[1] - range[0]
      this.inFlight++
      if (this.adaptive != null) this.probeSentAt = performance.now()
      this.ctx.emit({ type: 'shard-started', jobId: this.ctx.jobId, worker: this.workerOf(0), seq, items, at: Date.now() })
      for (const [k, c] of channels.entries()) {
        const feed = this.feeds[k] as StageFeed
        if (k > 0 && feed.batched.length === 0) continue
        c.send({ data: { seq, tensors: new Uint8Array(), more: false, items, stageComputeMs: [] } }, this.ctx.batchTensors(range, feed.batched)).catch(() => {})
      }
    }
  }

  /** The probe's result is in: choose the size, re-plan the micro-batches after it, queue them. */
  private planFromProbe (stageComputeMs: number[], lastComputeMs: number): void {
    const a = this.adaptive as AdaptiveMicroBatch
    this.adaptive = undefined
    const K = this.stages.length
    const probe = this.ctx.batches[0] as [number, number]
    const total = (this.ctx.batches[this.ctx.batches.length - 1] as [number, number])[1]
    const rest = total - probe[1]
    const timing = pipelineTimingFromProbe({
      items: probe[1] - probe[0],
      latencyMs: performance.now() - this.probeSentAt,
      // a worker of the previous protocol reports only its own time
      stageComputeMs: stageComputeMs.length === K ? stageComputeMs : [lastComputeMs]
    }, rest, K, a.maxItems)
    const size = rest > 0 ? choosePipelineMicroBatch(timing) : probe[1] - probe[0]
    const planned = planMicroBatches(rest, size).map(([s, e]): [number, number] => [s + probe[1], e + probe[1]])
    this.ctx.batches.splice(1, this.ctx.batches.length - 1, ...planned)
    this.ctx.log('job %s: micro-batches of %d items after the probe (slowest stage %s ms per item, %s ms per hop)', this.ctx.jobId, size, timing.bottleneckMsPerItem.toFixed(2), timing.hopOverheadMs.toFixed(2))
    this.ctx.emit({ type: 'micro-batch-chosen', jobId: this.ctx.jobId, items: size, microBatches: this.ctx.batches.length, bottleneckMsPerItem: timing.bottleneckMsPerItem, hopOverheadMs: timing.hopOverheadMs, at: Date.now() })
    this.pendingSeqs = [...this.ctx.batches.keys()].filter(seq => !this.ctx.results.has(seq))
  }

  private workerOf (k: number): string {
    const leaseId = [...this.usedLeases][k]
    return leaseId != null ? (this.ctx.leases.get(leaseId)?.worker.toString() ?? '') : ''
  }

  /** Reads one stage's control stream: errors from any stage, results from the last. */
  private async read (channel: InferChannel, gen: number, k: number, lease: ActiveLease): Promise<void> {
    const last = k === this.stages.length - 1
    const w = lease.worker.toString()
    let why = 'the stream closed'
    try {
      while (true) {
        const m = await channel.next()
        if (m == null) break
        if (m.error != null) {
          if (gen !== this.generation || this.finished || this.checkedGens.has(gen)) return
          this.teardown()
          this.ctx.workerError(lease, { ...m.error, stage: m.error.stage ?? k })
          return
        }
        if (m.result == null) continue
        if (m.result.receipt.byteLength > 0 && !this.receipts.has(`${gen}/${k}/${m.result.seq}`)) {
          const range = this.ctx.batches[m.result.seq]
          if (range != null) this.receipts.set(`${gen}/${k}/${m.result.seq}`, { seq: m.result.seq, stage: k, worker: w, leaseId: lease.leaseId, items: range[1] - range[0], pricePerItem: this.ctx.pricePerItem(lease), bytes: m.result.receipt })
        }
        if (!last) continue
        if (!this.ctx.results.has(m.result.seq)) {
          this.ctx.results.set(m.result.seq, m.payload ?? [])
          this.resultGen.set(m.result.seq, gen)
          this.ctx.emit({ type: 'shard-finished', jobId: this.ctx.jobId, worker: w, seq: m.result.seq, computeMs: m.result.computeMs, at: Date.now() })
          this.inFlight = Math.max(0, this.inFlight - 1)
          if (this.adaptive != null && m.result.seq === 0) this.planFromProbe(m.result.stageComputeMs, m.result.computeMs)
          this.sendMore(this.channels)
        }
        if (this.ctx.results.size === this.ctx.batches.length) { void this.checkThenDone(gen); return }
      }
    } catch (err: any) {
      why = `the stream failed: ${err?.message ?? err}`
    }
    if (gen === this.generation && !this.finished && !this.checkedGens.has(gen) && this.ctx.results.size < this.ctx.batches.length) {
      this.teardown()
      this.ctx.streamLost(lease, `stage ${k}: ${why}`)
    }
  }

  /** Spot-checks the generation's results (`checkPipeline`), then signals done, or throws the results away and replaces a caught worker. */
  private async checkThenDone (gen: number): Promise<void> {
    if (this.checkedGens.has(gen)) return
    this.checkedGens.add(gen)
    const byStage = this.genStages.get(gen)
    if (this.verify == null || this.verification == null || this.ledger == null || byStage == null) { this.ctx.done(); return }
    try {
      const caught = await checkPipeline({
        ctx: this.ctx,
        ledger: this.ledger,
        stages: this.stages,
        feeds: this.feeds,
        byStage,
        receiptOf: (stage, seq) => this.receipts.get(`${gen}/${stage}/${seq}`),
        seqs: [...this.resultGen].filter(([, g]) => g === gen).map(([seq]) => seq),
        sampling: this.verify,
        verification: this.verification,
        openCheck: async (lease, stage) => this.openCheck(lease, stage),
        pay: (h) => { this.checkerReceipts.push(h) }
      })
      if (this.finished || gen !== this.generation) return
      if (caught == null) { this.ctx.done(); return }
      // every result of this generation passed through the caught worker's stage (or its check): run them again without it
      for (const [seq, g] of [...this.resultGen]) {
        if (g !== gen) continue
        this.ctx.results.delete(seq)
        this.resultGen.delete(seq)
      }
      this.teardown()
      // every lease of the caught worker goes (it may hold two stages), each re-awarded to another worker
      for (const l of [...this.ctx.leases.values()]) {
        if (l.worker.toString() === caught.worker) this.ctx.streamLost(l, `caught by a spot check: ${caught.reason}`)
      }
    } catch (err: any) {
      this.ctx.log('pipeline checks of %s failed - %s', this.ctx.jobId, err?.message ?? err)
      if (!this.finished && gen === this.generation) this.ctx.done()
    }
  }

  /** A check session of stage `stage` on `lease`: the stage's model, every input from the requester, results back. */
  private async openCheck (lease: ActiveLease, stage: number): Promise<InferChannel> {
    const feed = this.feeds[stage] as StageFeed
    const c = await this.ctx.openControl(lease.worker, {
      jobId: this.ctx.jobId,
      leaseId: lease.leaseId,
      modelCid: (this.stages[stage] as Stage).cid,
      kind: 'stage',
      stage,
      // the last stage of this session: results come back to the requester
      stageCount: stage + 1,
      // no source: the requester sends the stage's activations with its batched inputs
      source: new Uint8Array(),
      next: new Uint8Array(),
      nextAddrs: [],
      nextLeaseId: '',
      constants: this.ctx.encodeConstants(feed.broadcast),
      fromRequester: feed.batched,
      jobItems: this.ctx.jobItems
    })
    this.latest.set(lease.leaseId, c)
    return c
  }

  accepted (): HeldReceipt[] {
    const caught = this.verification?.caught
    const out: HeldReceipt[] = []
    for (const [seq, gen] of this.resultGen) {
      if (!this.ctx.results.has(seq)) continue
      for (let k = 0; k < this.stages.length; k++) {
        const h = this.receipts.get(`${gen}/${k}/${seq}`)
        if (h != null && caught?.has(h.worker) !== true) out.push(h)
      }
    }
    for (const h of this.checkerReceipts) if (this.resultGen.has(h.seq) && caught?.has(h.worker) !== true) out.push(h)
    return out
  }

  finish (): void {
    this.finished = true
    clearTimeout(this.rebuildTimer)
    // each lease hears `finish` on the stream it listens on now (a check session's, or the pipeline's)
    const sent = new Set<InferChannel>()
    for (const l of this.ctx.leases.values()) {
      const c = this.latest.get(l.leaseId)
      if (c != null && this.usedLeases.has(l.leaseId)) { c.send({ finish: {} }); void c.close(); sent.add(c) }
    }
    for (const c of this.channels) {
      if (sent.has(c)) continue
      c.send({ finish: {} })
      void c.close()
    }
    for (const l of this.ctx.leases.values()) {
      if (!this.usedLeases.has(l.leaseId)) void this.finishLease(l.leaseId)
    }
  }

  close (): void {
    this.finished = true
    this.closed = true
    clearTimeout(this.rebuildTimer)
    for (const c of this.channels) c.abort(new Error('job over'))
    for (const c of this.latest.values()) c.abort(new Error('job over'))
    this.channels = []
    this.latest.clear()
  }
}
