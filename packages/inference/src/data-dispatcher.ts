import { isSampled, tensorsClose } from '@fleetmesh/ledger'
import { MAX_MICRO_BATCH_RETRIES, STRAGGLER_CHECK_MS } from './constants.js'
import { Pace } from './pace.js'
import { judgeSpotCheck } from './spot-check.js'
import type { InferChannel } from './infer-channel.js'
import type { ActiveLease, DispatchContext, Dispatcher, HeldReceipt, Sampling, Verification } from './job.js'
import type { WireTensor } from '@fleetmesh/protocol'

/**
 * Data-parallel: workers pull micro-batches, each holding at most its
 * `Pace` window; a lost worker's micro-batches go back to the queue; a
 * micro-batch out longer than its worker's late threshold is backed up on
 * an idle worker once the queue is empty (first result wins).
 *
 * A sample of micro-batches is also run on a second worker and the
 * outputs compared (`tensorsClose`, judged by `judgeSpotCheck`): each
 * result is sampled at its worker's rate (`Sampling`: the ledger's
 * adaptive rate from the worker's record), drawn with the requester's
 * secret seed, so nothing on the wire tells a worker which of its
 * results are checked. A disagreement goes to a third worker, or, when
 * the job has no other worker (two leases), to the requester's own
 * runtime; the minority worker is caught: its results are thrown away and
 * re-run elsewhere, it gets no more work in this job, its micro-batch
 * receipts are not paid and its lease receipt is rejected at settlement.
 *
 * Pay: the receipt of each accepted output, and of each spot-check run
 * that agreed with it, is what settlement countersigns (`accepted()`); a
 * late duplicate's receipt is not.
 */

/** A spot check of one micro-batch: outputs by worker, in arrival order, until a verdict. */
interface SpotCheck {
  outputs: Array<[string, WireTensor[]]>
  /** workers running it now */
  running: Set<string>
  /** outputs wanted: 2, or 3 after a disagreement */
  want: number
  resolved: boolean
  /** workers whose outputs the verdict accepted */
  agreeing: string[]
  /** the requester's own run of it: started, then done */
  local?: 'running' | 'done'
}

interface WorkerChannel {
  channel: InferChannel
  lease: ActiveLease
  /** seq -> ms it was sent */
  inFlight: Map<number, number>
}

export class DataDispatcher implements Dispatcher {
  private readonly queue: number[]
  private finished = false
  /** the job is over (`close`): streams ending now end with it */
  private closed = false
  /** leases whose infer stream opened */
  private readonly opened = new Set<string>()
  private readonly backedUp = new Set<number>()
  private readonly retries = new Map<number, number>()
  private readonly timer: ReturnType<typeof setInterval>
  private readonly channels = new Map<string, WorkerChannel>()
  private readonly pace = new Pace()
  /** which worker's output is in `results`, by seq */
  private readonly resultFrom = new Map<number, string>()
  /** per-micro-batch receipts, by seq, then worker */
  private readonly frameReceipts = new Map<number, Map<string, HeldReceipt>>()
  private readonly checks = new Map<number, SpotCheck>()
  private readonly constants: Uint8Array<ArrayBuffer>

  constructor (
    private readonly ctx: DispatchContext,
    private readonly modelCid: string,
    private readonly verify: Sampling | undefined,
    private readonly verification: Verification
  ) {
    this.queue = ctx.batches.map((_, i) => i)
    this.constants = ctx.encodeConstants()
    this.timer = setInterval(() => { this.pumpAll() }, STRAGGLER_CHECK_MS)
  }

  /** micro-batches each worker took (first results kept), by worker: for benchmarks and tests */
  taken (): Map<string, number> {
    const out = new Map<string, number>()
    for (const w of this.resultFrom.values()) out.set(w, (out.get(w) ?? 0) + 1)
    return out
  }

  onActive (leaseId: string): void {
    const lease = this.ctx.leases.get(leaseId)
    if (lease == null || this.channels.has(leaseId)) return
    void this.run(lease).catch((err) => {
      // once every result is in, a stream that opened ends with its lease (the worker completes it)
      if (this.closed || (this.finished && this.opened.has(leaseId))) return
      this.ctx.log('data channel to %p for lease %s ended - %s', lease.worker, leaseId, err?.message ?? err)
      this.drop(leaseId)
      // a stream that never opened, even once every result is in: the lease is released at once (the worker
      // stops holding it); before the last result its slot is re-awarded, after it the market drops the slot
      // (`finishPlacement`) and the job completes with the leases that did
      if (this.ctx.leases.has(leaseId)) this.ctx.streamLost(lease, `stream to the worker failed: ${err?.message ?? err}`)
    })
  }

  onLost (leaseId: string): void {
    const c = this.channels.get(leaseId)
    c?.channel.abort(new Error('lease lost'))
    this.drop(leaseId)
  }

  private drop (leaseId: string): void {
    const c = this.channels.get(leaseId)
    if (c == null) return
    this.channels.delete(leaseId)
    const w = c.lease.worker.toString()
    this.pace.forget(w)
    if (this.finished) return
    for (const seq of c.inFlight.keys()) if (!this.ctx.results.has(seq)) this.queue.unshift(seq)
    for (const check of this.checks.values()) check.running.delete(w)
    this.pumpAll()
    this.maybeDone()
  }

  private async run (lease: ActiveLease): Promise<void> {
    const { leaseId, worker } = lease
    const channel = await this.ctx.openControl(worker, { jobId: this.ctx.jobId, leaseId, modelCid: this.modelCid, kind: 'data', stage: 0, stageCount: 1, source: new Uint8Array(), next: new Uint8Array(), nextAddrs: [], nextLeaseId: '', constants: this.constants, fromRequester: [], jobItems: this.ctx.jobItems })
    this.opened.add(leaseId)
    if (this.finished) {
      // a lease re-awarded after every micro-batch was done: nothing left, end it
      channel.send({ finish: {} })
      await channel.close()
      return
    }
    const state: WorkerChannel = { channel, lease, inFlight: new Map() }
    const w = worker.toString()
    this.channels.set(leaseId, state)
    this.pump(state)
    while (true) {
      const m = await channel.next()
      if (m == null) {
        if (this.finished) return
        throw new Error(`worker ${w} closed the stream`)
      }
      if (m.error != null) {
        const e = m.error
        if (e.seq != null && state.inFlight.has(e.seq) && (e.code === 'ERR_RUNNER_CRASHED' || e.code === 'ERR_RUNNER_TIMEOUT') && (this.retries.get(e.seq) ?? 0) < MAX_MICRO_BATCH_RETRIES) {
          // a runner that crashed or hung costs its micro-batch, not the lease: try it again
          this.retries.set(e.seq, (this.retries.get(e.seq) ?? 0) + 1)
          state.inFlight.delete(e.seq)
          this.pace.dropped(w)
          this.queue.unshift(e.seq)
          this.ctx.emit({ type: 'worker-error', jobId: this.ctx.jobId, worker: w, leaseId, seq: e.seq, name: e.name, code: e.code, message: e.message, recoverable: true, at: Date.now() })
          this.pumpAll()
          continue
        }
        this.drop(leaseId)
        channel.abort(new Error('worker error'))
        this.ctx.workerError(lease, e)
        return
      }
      if (m.ready != null) continue
      if (m.result == null) continue
      const seq = m.result.seq
      const sentAt = state.inFlight.get(seq)
      state.inFlight.delete(seq)
      if (sentAt != null) this.pace.result(w, Date.now() - sentAt, m.result.computeMs, Date.now())
      if (this.verification.caught.has(w)) continue
      this.onResult(w, lease, seq, m.payload ?? [], m.result.computeMs, m.result.receipt)
      this.maybeDone()
      this.pumpAll()
    }
  }

  private hold (seq: number, worker: string, leaseId: string, pricePerItem: number, bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return
    const range = this.ctx.batches[seq] as [number, number]
    let byWorker = this.frameReceipts.get(seq)
    if (byWorker == null) { byWorker = new Map(); this.frameReceipts.set(seq, byWorker) }
    // a worker runs a micro-batch at most once here; keep the first receipt it sent
    if (!byWorker.has(worker)) byWorker.set(worker, { seq, stage: 0, worker, leaseId, items: range[1] - range[0], pricePerItem, bytes })
  }

  private onResult (w: string, lease: ActiveLease, seq: number, tensors: WireTensor[], computeMs: number, receipt: Uint8Array): void {
    this.hold(seq, w, lease.leaseId, this.ctx.pricePerItem(lease), receipt)
    const check = this.checks.get(seq)
    if (!this.ctx.results.has(seq)) {
      this.ctx.results.set(seq, tensors)
      this.resultFrom.set(seq, w)
      this.ctx.emit({ type: 'shard-finished', jobId: this.ctx.jobId, worker: w, seq, computeMs, at: Date.now() })
      if (check != null) {
        check.running.delete(w)
        check.outputs.push([w, tensors])
        this.judge(seq, check)
      } else if (this.verify != null && isSampled(this.ctx.jobId, seq, this.verify.rate(w), this.verify.seed)) {
        this.checks.set(seq, { outputs: [[w, tensors]], running: new Set(), want: 2, resolved: false, agreeing: [] })
        this.verification.checked.add(seq)
      }
    } else if (check?.running.has(w) === true) {
      check.running.delete(w)
      check.outputs.push([w, tensors])
      this.judge(seq, check)
    }
  }

  /** Applies the spot-check verdict once the check has what it wants. */
  private judge (seq: number, check: SpotCheck): void {
    if (check.resolved || check.outputs.length < check.want) return
    const v = judgeSpotCheck(check.outputs, tensorsClose)
    if (v.state === 'waiting') return
    this.ctx.metrics?.verifications.increment({ [v.state === 'no-majority' ? 'no_majority' : v.state]: true })
    if (v.state === 'disputed') {
      this.ctx.emit({ type: 'verified', jobId: this.ctx.jobId, seq, workers: v.workers, agreed: false, at: Date.now() })
      check.want = 3
      // no other worker can give a third opinion: the requester runs it itself
      if (this.thirdWorkers(check).length === 0) this.decideLocally(seq, check)
      return
    }
    check.resolved = true
    this.ctx.emit({ type: 'verified', jobId: this.ctx.jobId, seq, workers: v.workers, agreed: v.state === 'agreed', at: Date.now() })
    if (v.state === 'no-majority') {
      this.ctx.log('spot check of %s micro-batch %d: three workers, no majority', this.ctx.jobId, seq)
      return
    }
    if (v.state === 'agreed') {
      check.agreeing = v.workers
      return
    }
    check.agreeing = v.witnesses
    const good = check.outputs.find(o => o[0] === v.witnesses[0]) as [string, WireTensor[]]
    this.ctx.results.set(seq, good[1])
    this.resultFrom.set(seq, good[0])
    const receipts = this.frameReceipts.get(seq)
    const accused = receipts?.get(v.loser)?.bytes
    const w1 = receipts?.get(v.witnesses[0])?.bytes
    const w2 = receipts?.get(v.witnesses[1])?.bytes
    // one piece of evidence per caught worker is enough
    if (accused != null && w1 != null && w2 != null && !this.verification.caught.has(v.loser)) this.verification.mismatches.push({ accused, witnesses: [w1, w2] })
    this.catchWorker(v.loser, seq, v.witnesses.includes(this.ctx.self) ? `output of micro-batch ${seq} disagrees with another worker and the requester's own run` : `output of micro-batch ${seq} disagrees with two other workers`)
  }

  /** Workers with a live lease that could still run a check: not caught, not already in it. */
  private thirdWorkers (check: SpotCheck): string[] {
    return [...this.ctx.leases.values()].map(l => l.worker.toString()).filter(w => !this.verification.caught.has(w) && !check.outputs.some(o => o[0] === w) && !check.running.has(w))
  }

  /** Runs a disputed micro-batch on the requester's own runtime; its output is the third opinion. */
  private decideLocally (seq: number, check: SpotCheck): void {
    if (check.local != null) return
    check.local = 'running'
    this.ctx.runLocal(seq).then((r) => {
      check.local = 'done'
      if (check.resolved || this.finished) return
      this.hold(seq, this.ctx.self, '', 0, r.receipt)
      check.outputs.push([this.ctx.self, r.outputs])
      this.judge(seq, check)
    }, (err: any) => {
      check.local = 'done'
      this.ctx.log('local run of %s micro-batch %d failed - %s', this.ctx.jobId, seq, err?.message ?? err)
    }).finally(() => {
      this.maybeDone()
      this.pumpAll()
    })
  }

  /** A worker in the minority: its results are re-run elsewhere and it gets no more work in this job. */
  private catchWorker (worker: string, seq: number, reason: string): void {
    if (this.verification.caught.has(worker)) return
    this.verification.caught.set(worker, { seq, reason })
    this.ctx.emit({ type: 'worker-rejected', jobId: this.ctx.jobId, worker, seq, reason, at: Date.now() })
    for (const [s, from] of [...this.resultFrom]) {
      if (from !== worker) continue
      this.ctx.results.delete(s)
      this.resultFrom.delete(s)
      const check = this.checks.get(s)
      if (check != null && !check.resolved) {
        check.outputs = check.outputs.filter(o => o[0] !== worker)
        check.want = 2
      }
      this.queue.push(s)
    }
    for (const check of this.checks.values()) check.running.delete(worker)
    for (const c of this.channels.values()) {
      if (c.lease.worker.toString() !== worker) continue
      for (const s of c.inFlight.keys()) if (!this.ctx.results.has(s)) this.queue.push(s)
    }
  }

  /** Signals done once every micro-batch has a result and no spot check still waits on a worker that could serve it. */
  private maybeDone (): void {
    if (this.finished || this.ctx.results.size < this.ctx.batches.length) return
    // workers with a live lease, whether or not their stream is open yet (a late one can still decide a check)
    const available = [...this.ctx.leases.values()].map(l => l.worker.toString()).filter(w => !this.verification.caught.has(w))
    for (const [seq, check] of this.checks) {
      if (check.resolved) continue
      if (check.running.size > 0 || check.local === 'running') return
      if (available.some(w => !check.outputs.some(o => o[0] === w))) return
      if (check.want === 3 && check.local == null) {
        // a dispute no worker is left to decide
        this.decideLocally(seq, check)
        return
      }
    }
    this.ctx.done()
  }

  accepted (): HeldReceipt[] {
    const out: HeldReceipt[] = []
    const caught = this.verification.caught
    for (const [seq, from] of this.resultFrom) {
      const check = this.checks.get(seq)
      const workers = new Set([from, ...(check?.resolved === true ? check.agreeing : [])])
      for (const w of workers) {
        const h = this.frameReceipts.get(seq)?.get(w)
        if (h != null && w !== this.ctx.self && !caught.has(w)) out.push(h)
      }
    }
    return out
  }

  private pumpAll (): void {
    for (const c of this.channels.values()) this.pump(c)
  }

  /** The oldest micro-batch late at its worker, not yet backed up. */
  private straggler (state: WorkerChannel): number | undefined {
    let best: number | undefined
    let bestAt = Number.POSITIVE_INFINITY
    const now = Date.now()
    for (const c of this.channels.values()) {
      if (c === state) continue
      const late = this.pace.lateAfterMs(c.lease.worker.toString())
      for (const [seq, at] of c.inFlight) {
        if (state.inFlight.has(seq) || this.ctx.results.has(seq) || this.backedUp.has(seq)) continue
        if (now - at < late) continue
        if (at < bestAt) { best = seq; bestAt = at }
      }
    }
    return best
  }

  /** A spot check this worker can run: not yet run by it, still short of outputs. */
  private spotCheckFor (worker: string, state: WorkerChannel): number | undefined {
    for (const [seq, check] of this.checks) {
      if (check.resolved || state.inFlight.has(seq) || check.outputs.some(o => o[0] === worker) || check.running.has(worker)) continue
      if (check.outputs.length + check.running.size >= check.want) continue
      check.running.add(worker)
      return seq
    }
    return undefined
  }

  private pump (state: WorkerChannel): void {
    const w = state.lease.worker.toString()
    if (this.finished || this.verification.caught.has(w)) return
    while (state.inFlight.size < this.pace.window(w)) {
      let seq = this.queue.shift()
      while (seq != null && this.ctx.results.has(seq)) seq = this.queue.shift()
      seq ??= this.spotCheckFor(w, state)
      if (seq == null) {
        // backups go only to a worker with nothing of its own to do
        if (state.inFlight.size > 0) break
        seq = this.straggler(state)
        if (seq == null) break
        this.backedUp.add(seq)
      }
      const now = Date.now()
      state.inFlight.set(seq, now)
      this.pace.sent(w, now)
      const range = this.ctx.batches[seq] as [number, number]
      this.ctx.emit({ type: 'shard-started', jobId: this.ctx.jobId, worker: w, seq, items: range[1] - range[0], at: now })
      state.channel.send({ data: { seq, tensors: new Uint8Array(), more: false, items: range[1] - range[0], stageComputeMs: [] } }, this.ctx.batchTensors(range)).catch(() => {})
    }
    this.pace.full(w, Date.now())
  }

  finish (): void {
    this.finished = true
    clearInterval(this.timer)
    for (const c of this.channels.values()) {
      c.channel.send({ finish: {} })
      void c.channel.close()
    }
  }

  close (): void {
    this.finished = true
    this.closed = true
    clearInterval(this.timer)
    for (const c of this.channels.values()) c.channel.abort(new Error('job over'))
    this.channels.clear()
  }
}
