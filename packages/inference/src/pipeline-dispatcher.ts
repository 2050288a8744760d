import { planStages } from '@fleetmesh/runtime'
import { PIPELINE_EXTRA_CREDITS, REBUILD_DELAY_MS, STAGE_READY_TIMEOUT_MS } from './constants.js'
import { SessionError } from './errors.js'
import { choosePipelineMicroBatch, pipelineTimingFromProbe, planMicroBatches } from './micro-batch.js'
import { planPipelineFeeds } from './pipeline-plan.js'
import type { InferChannel } from './infer-channel.js'
import type { ActiveLease, DispatchContext, Dispatcher } from './job.js'
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
 * micro-batch without a result sent again. With `adaptive`, micro-batch 0
 * goes alone first and its timing plans the others (`ctx.batches` is
 * re-planned in place once its result is in).
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
  /** micro-batches of this generation not sent yet, in order */
  private pendingSeqs: number[] = []
  /** micro-batches in the pipeline now (sent, no result yet) */
  private inFlight = 0
  /** when the probe (micro-batch 0) went out, while the size is still to be chosen */
  private probeSentAt = 0

  constructor (
    private readonly ctx: DispatchContext,
    private readonly stages: Stage[],
    private readonly bidSpeed: Map<string, number>,
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
      const c = await this.ctx.openControl(lease.worker, { jobId: this.ctx.jobId, leaseId, modelCid: (this.stages[0] as Stage).cid, kind: 'stage', stage: 0, stageCount: 1, source: new Uint8Array(), next: new Uint8Array(), nextAddrs: [], nextLeaseId: '', constants: new Uint8Array(), fromRequester: [] })
      c.send({ finish: {} })
      await c.close()
    } catch {}
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
      // leases of workers still connected (a dead worker's lease lingers until the market notices)
      const leased = [...this.ctx.leases.values()].filter(l => this.ctx.isConnected(l.worker)).slice(0, K)
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
            fromRequester: k > 0 ? feed.batched : []
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
      for (const [k, c] of opened.entries()) void this.read(c, gen, k, byStage[k] as ActiveLease)
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
          if (gen !== this.generation || this.finished) return
          this.teardown()
          this.ctx.workerError(lease, { ...m.error, stage: m.error.stage ?? k })
          return
        }
        if (!last || m.result == null) continue
        if (!this.ctx.results.has(m.result.seq)) {
          this.ctx.results.set(m.result.seq, m.payload ?? [])
          this.ctx.emit({ type: 'shard-finished', jobId: this.ctx.jobId, worker: w, seq: m.result.seq, computeMs: m.result.computeMs, at: Date.now() })
          this.inFlight = Math.max(0, this.inFlight - 1)
          if (this.adaptive != null && m.result.seq === 0) this.planFromProbe(m.result.stageComputeMs, m.result.computeMs)
          this.sendMore(this.channels)
        }
        if (this.ctx.results.size === this.ctx.batches.length) { this.ctx.done(); return }
      }
    } catch (err: any) {
      why = `the stream failed: ${err?.message ?? err}`
    }
    if (gen === this.generation && !this.finished && this.ctx.results.size < this.ctx.batches.length) {
      this.teardown()
      this.ctx.streamLost(lease, `stage ${k}: ${why}`)
    }
  }

  finish (): void {
    this.finished = true
    clearTimeout(this.rebuildTimer)
    for (const c of this.channels) {
      c.send({ finish: {} })
      void c.close()
    }
    for (const l of this.ctx.leases.values()) {
      if (!this.usedLeases.has(l.leaseId)) void this.finishLease(l.leaseId)
    }
  }

  close (): void {
    this.finished = true
    clearTimeout(this.rebuildTimer)
    for (const c of this.channels) c.abort(new Error('job over'))
    this.channels = []
  }
}
