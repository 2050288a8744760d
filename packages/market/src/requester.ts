import { randomUUID } from 'node:crypto'
import { bidsTopic, DemandTimer, offersTopic } from '@fleetmesh/protocol'
import { planAwards } from './auction.js'
import { learnBidderAddrs } from './bid-addrs.js'
import { ALL_ANSWERED_SETTLE_MS, RATE_LIMITED_AWARD_RETRY_MS } from './constants.js'
import { sleep } from './context.js'
import { InvalidJobError, JobCancelledError, JobFailedError, MarketNotStartedError, NoBidsError } from './errors.js'
import { createJob, isOpen, jobSummary, unplacedShards, waitingForCapacity } from './job.js'
import { LoopStall } from './lease-bounds.js'
import { explainNoBids } from './no-bids.js'
import { commitJobFunds, releaseJobFunds } from './job-funds.js'
import { RegionWorkerEstimates } from './region-workers.js'
import { acceptBid, acceptNoBid, dialLikelyWinners, earlyAward, noBidsInput, planInput, regionPeers, shouldFailFast } from './requester-answers.js'
import type { MarketContext } from './context.js'
import type { JobResult, JobSpec, JobState, LeaseEvent, LeaseState, ShardResult } from './index.js'
import type { Job, JobSummary, RequesterLease, Slot } from './job.js'
import type { MarketBody, ValidatedMarketMessage } from './messages.js'
import type { PeerId } from '@libp2p/interface'

const TERMINAL: ReadonlySet<LeaseState> = new Set(['declined', 'completed', 'lost', 'released', 'expired', 'cancelled'])
const ACTIVE_JOB: ReadonlySet<JobState> = new Set(['bidding', 'awarding', 'running', 'reoffered'])

/** The reason an abort signal carries: its reason's message (an Error), the reason itself (a string), or a default. */
function abortReason (signal: AbortSignal): string {
  const r = signal.reason
  if (r instanceof Error && r.message !== '') return r.message
  if (typeof r === 'string' && r !== '') return r
  return 'aborted by its signal'
}

/**
 * The requester side of the market: this node's jobs. Publishes each job's
 * offer, collects bids and refusals (requester-answers.ts), runs the
 * auction, awards shards, keeps leases alive with heartbeats, re-awards
 * lost leases, re-offers unplaced shards, fails a job that cannot be
 * placed with the reason, and settles the job's promise. Composed by the
 * market shell (market.ts).
 */
export class MarketRequester {
  private readonly jobsById = new Map<string, Job>()
  private readonly leasesById = new Map<string, RequesterLease>()
  private readonly heartbeatsInFlight = new Set<string>()
  /** bid waits whose every known region peer answered: they end ALL_ANSWERED_SETTLE_MS later (checkEarlyAward) */
  private readonly settling = new WeakSet<AbortController>()
  private readonly regionWorkers = new RegionWorkerEstimates()
  /** the heartbeat round: armed while a lease exists (a node that requests nothing keeps no timer) */
  private readonly heartbeatTimer: DemandTimer
  private readonly stall: LoopStall

  constructor (private readonly ctx: MarketContext) {
    this.stall = new LoopStall(ctx.timings.heartbeatIntervalMs)
    this.heartbeatTimer = new DemandTimer(ctx.timings.heartbeatIntervalMs, () => { this.heartbeatRound() }, () => this.leasesById.size > 0, () => { this.stall.reset() })
  }

  /** Allows the heartbeat round (it runs while leases exist). */
  start (): void {
    this.heartbeatTimer.restart()
  }

  /** Ends every running job as cancelled with `reason` (its leases are cancelled at the workers while connections are up). */
  cancelAll (reason: string): void {
    for (const job of [...this.jobsById.values()]) this.endJob(job, 'cancelled', reason)
  }

  /** Cancels every running job and stops the heartbeat round. */
  stop (reason: string): void {
    this.cancelAll(reason)
    this.heartbeatTimer.stop()
  }

  /** See `Market.submit`. */
  async submit (spec: JobSpec, options: { signal?: AbortSignal } = {}): Promise<JobResult> {
    const own = this.ctx.own()
    if (!this.ctx.isStarted() || own == null) throw new MarketNotStartedError('the market service is not started; start the node first')
    const now = Date.now()
    const job = createJob(spec, { now, region: own.region, bidWindowMs: this.ctx.timings.bidWindowMs })
    if (this.jobsById.has(job.id)) throw new InvalidJobError(`a job with id ${job.id} is already running`)
    const signal = options.signal
    if (signal?.aborted === true) throw new JobCancelledError(job.id, abortReason(signal))
    const promise = new Promise<JobResult>((resolve, reject) => { job.resolve = resolve; job.reject = reject })
    this.jobsById.set(job.id, job)
    this.ctx.join(bidsTopic(job.region), 'bid', job.region)
    job.deadlineTimer = setTimeout(() => { this.endJob(job, 'failed', 'deadline') }, job.terms.deadline - now)
    if (signal != null) {
      const onAbort = (): void => { this.cancel(job.id, abortReason(signal)) }
      signal.addEventListener('abort', onAbort, { once: true })
      void promise.finally(() => { signal.removeEventListener('abort', onAbort) }).catch(() => {})
    }
    void this.runJob(job).catch(err => { this.ctx.log.error('job %s failed to run - %e', job.id, err) })
    return promise
  }

  /** See `Market.cancel`. */
  cancel (jobId: string, reason = 'cancelled by the requester'): boolean {
    const job = this.jobsById.get(jobId)
    if (job == null) return false
    this.endJob(job, 'cancelled', reason)
    return true
  }

  /** See `Market.failJob`. */
  failJob (jobId: string, error: Error): boolean {
    const job = this.jobsById.get(jobId)
    if (job == null || !ACTIVE_JOB.has(job.state)) return false
    this.endJob(job, 'failed', error.message, error)
    return true
  }

  /** See `Market.finishPlacement`. */
  finishPlacement (jobId: string): boolean {
    const job = this.jobsById.get(jobId)
    if (job == null || !ACTIVE_JOB.has(job.state)) return false
    job.placementFinished = true
    clearTimeout(job.placementTimer)
    job.placementTimer = undefined
    // a re-offer round waiting for bids ends now
    job.wake?.abort()
    this.dropUnneeded(job)
    return true
  }

  /** A job whose placement is finished: drops its open slots, and completes it when every slot left is done. */
  private dropUnneeded (job: Job): void {
    job.slots = job.slots.filter(s => !isOpen(s))
    if (ACTIVE_JOB.has(job.state) && job.slots.every(s => s.done != null)) this.endJob(job, 'completed')
  }

  /** See `Market.releaseLease`. */
  releaseLease (leaseId: string, reason: string, options: { reaward?: boolean } = {}): boolean {
    const lease = this.leasesById.get(leaseId)
    if (lease == null || TERMINAL.has(lease.state)) return false
    this.loseLease(lease, 'released', reason, { notifyWorker: true, place: options.reaward ?? true })
    return true
  }

  /** See `Market.jobs`. */
  jobs (): JobSummary[] { return [...this.jobsById.values()].map(jobSummary) }

  private async runJob (job: Job): Promise<void> {
    this.setJobState(job, 'bidding')
    const early = job.wake = new AbortController()
    await this.publishOffer(job, [])
    // the window is the upper bound: enough acceptable bids end it early (checkEarlyAward)
    await sleep(job.bidWindowMs, AbortSignal.any([job.abort.signal, early.signal]))
    job.wake = undefined
    if (!ACTIVE_JOB.has(job.state)) return
    this.setJobState(job, 'awarding')
    job.placementStarted = true
    await this.place(job)
  }

  private async publishOffer (job: Job, openShards: number[]): Promise<void> {
    this.ctx.metrics.offer('published')
    await this.ctx.publish(offersTopic(job.region), {
      offer: {
        jobId: job.id,
        requester: this.ctx.components.peerId.toMultihash().bytes,
        modelCid: job.modelCid,
        mode: job.mode,
        shardUnits: job.terms.shardUnits.map(u => BigInt(u)),
        maxPricePerUnit: job.terms.maxPricePerUnit,
        deadline: BigInt(job.terms.deadline),
        redundancy: job.redundancy,
        minReputation: job.terms.minReputation,
        region: job.region,
        round: job.round,
        openShards,
        bidWindowMs: job.bidWindowMs,
        modelBytes: job.modelBytes != null ? BigInt(job.modelBytes) : undefined,
        maxFrameBytes: job.maxFrameBytes != null ? BigInt(job.maxFrameBytes) : undefined,
        inputs: job.inputs,
        jurisdiction: job.jurisdiction,
        session: job.session ? true : undefined,
        ...this.regionWorkers.sampleFor(job, openShards.length === 0 ? job.slots.length : job.slots.filter(s => isOpen(s) && openShards.includes(s.shardIndex)).length, regionPeers(this.ctx, job).length)
      }
    })
  }

  private setJobState (job: Job, state: JobState, reason?: string): void {
    if (job.state === state && state !== 'bidding' && state !== 'reoffered') return
    job.state = state
    this.ctx.log('job %s %s%s', job.id, state, reason != null ? ` (${reason})` : '')
    this.ctx.emit('job', { jobId: job.id, state, round: job.round, reason, at: Date.now() })
  }

  private emitLease (lease: RequesterLease, reason?: string): void {
    if (TERMINAL.has(lease.state)) this.ctx.metrics.leaseEnded(lease.state)
    const detail: LeaseEvent = {
      leaseId: lease.leaseId,
      jobId: lease.job.id,
      shardIndex: lease.slot.shardIndex,
      replica: lease.slot.replica,
      side: 'requester',
      requester: this.ctx.components.peerId.toString(),
      worker: lease.workerStr,
      state: lease.state,
      reason,
      units: lease.slot.units,
      pricePerUnit: lease.pricePerUnit,
      at: Date.now()
    }
    this.ctx.emit('lease', detail)
  }

  /** A validated bid from the bids topic: kept for the auction, or recorded as a refusal (price, reputation). */
  onBid (v: ValidatedMarketMessage): void {
    const job = v.message.bid == null ? undefined : this.jobsById.get(v.message.bid.jobId)
    if (job == null || !ACTIVE_JOB.has(job.state)) return
    if (v.message.bid?.round === 0) job.sample?.bidders.add(v.signer.toString())
    acceptBid(this.ctx, job, v, () => { this.checkEarlyAward(job) })
    if (job.state === 'bidding' || job.state === 'reoffered') dialLikelyWinners(this.ctx, job, job.slots.filter(isOpen))
    this.checkFailFast(job)
    this.checkEarlyAward(job)
  }

  /**
   * While the job waits for bids (its first bid window, or a re-offer
   * round): ends the wait as soon as `shouldAwardEarly` says the bids at
   * hand are enough, or ALL_ANSWERED_SETTLE_MS after every region peer
   * this node knows answered (a worker it does not know may still bid).
   */
  private checkEarlyAward (job: Job): void {
    if ((job.state !== 'bidding' && job.state !== 'reoffered') || job.wake == null || job.wake.signal.aborted) return
    const open = job.slots.filter(isOpen)
    if (open.length === 0) return
    const decision = earlyAward(this.ctx, job, open)
    // a re-offer round ends early only on new bids: refusals from busy workers would re-offer in a loop
    if (!decision.award || (job.state === 'reoffered' && decision.reason !== 'enough-bids')) return
    if (decision.reason === 'all-answered') {
      // every region peer this node knows answered; workers it does not know may still bid through a station
      const wake = job.wake
      if (this.settling.has(wake)) return
      this.settling.add(wake)
      const timer = setTimeout(() => {
        this.ctx.log('job %s: bids are in early (all-answered, settled %d ms)', job.id, ALL_ANSWERED_SETTLE_MS)
        wake.abort()
      }, ALL_ANSWERED_SETTLE_MS)
      wake.signal.addEventListener('abort', () => { clearTimeout(timer) }, { once: true })
      return
    }
    this.ctx.log('job %s: bids are in early (%s, %d acceptable)', job.id, decision.reason, decision.acceptable)
    job.wake.abort()
  }

  /** A worker's NoBid (direct stream): recorded, at most one per worker; may fail the job at once. */
  onNoBid (v: ValidatedMarketMessage): MarketBody {
    const job = v.message.noBid == null ? undefined : this.jobsById.get(v.message.noBid.jobId)
    const answer = acceptNoBid(this.ctx, job != null && ACTIVE_JOB.has(job.state) ? job : undefined, v)
    if (job != null) {
      this.checkFailFast(job)
      this.checkEarlyAward(job)
    }
    return answer
  }

  /** Once placement began: fails the job when every worker of its region refused and a slot is open. */
  private checkFailFast (job: Job): void {
    if (!job.placementStarted || !ACTIVE_JOB.has(job.state) || !job.slots.some(isOpen)) return
    if (shouldFailFast(this.ctx, job)) this.failPlacement(job)
  }

  /** Places every open slot on the best bids; re-offers what cannot be placed. Serialised per job. */
  private async place (job: Job): Promise<void> {
    if (job.placing) { job.placeAgain = true; return }
    job.placing = true
    let window = this.ctx.timings.reofferWindowMs
    try {
      while (ACTIVE_JOB.has(job.state) && !job.placementFinished) {
        job.placeAgain = false
        const open = job.slots.filter(isOpen)
        if (open.length === 0) {
          clearTimeout(job.placementTimer)
          job.placementTimer = undefined
          break
        }
        const now = Date.now()
        const plan = planAwards(planInput(this.ctx, job, open, now))
        if (plan.awards.length > 0 && !this.commitFunds(job)) break
        for (const a of plan.awards) {
          const slot = job.slots.find(s => s.shardIndex === a.shardIndex && s.replica === a.replica)
          const worker = job.bidders.get(a.bidder)
          if (slot == null || worker == null || slot.lease != null) continue
          this.award(job, slot, worker, a.pricePerUnit)
        }
        if (job.awardedAt == null && plan.awards.length > 0 && plan.unplaced.length === 0) job.awardedAt = Date.now()
        if (plan.unplaced.length > 0) {
          for (const u of plan.unplaced) {
            const slot = job.slots.find(s => s.shardIndex === u.shardIndex && s.replica === u.replica)
            if (slot != null) slot.lastReason = u.reason
          }
          this.armPlacementTimer(job)
          if (shouldFailFast(this.ctx, job)) {
            this.failPlacement(job)
            break
          }
          if (Date.now() + window >= job.terms.deadline) break
          job.round++
          job.reoffers++
          const reason = plan.unplaced.slice(0, 3).map(u => `shard ${u.shardIndex}: ${u.reason}`).join('; ')
          this.setJobState(job, 'reoffered', reason)
          await this.publishOffer(job, [...new Set(plan.unplaced.map(u => u.shardIndex))].sort((a, b) => a - b))
          const wake = job.wake = new AbortController()
          await sleep(window, AbortSignal.any([job.abort.signal, wake.signal]))
          job.wake = undefined
          window = Math.min(window * 2, this.ctx.timings.reofferWindowMs * 8)
          continue
        }
        if (!job.placeAgain) break
      }
    } finally {
      job.placing = false
    }
    if (job.placeAgain && ACTIVE_JOB.has(job.state)) void this.place(job)
  }

  /** Sets the job's maximum cost aside before its first award (job-funds.ts); fails the job and returns false if it cannot be covered. */
  private commitFunds (job: Job): boolean {
    const err = commitJobFunds(this.ctx, job)
    if (err != null) this.endJob(job, 'failed', err.message, err)
    return err == null
  }

  /**
   * Starts the job's placement timeout if it is not running: a slot still
   * open when it fires fails the job, unless the job made progress (a
   * shard completed meanwhile, or a bidder of the job holds one of its
   * leases, so capacity frees up when that shard completes): then the
   * timeout starts again.
   */
  private armPlacementTimer (job: Job): void {
    if (job.placementTimer != null || !job.placementStarted || !ACTIVE_JOB.has(job.state)) return
    const armedAt = Date.now()
    job.placementTimer = setTimeout(() => {
      job.placementTimer = undefined
      if (!ACTIVE_JOB.has(job.state) || !job.slots.some(isOpen)) return
      if (job.progressAt >= armedAt || waitingForCapacity(job)) this.armPlacementTimer(job)
      else this.failPlacement(job)
    }, job.placementTimeoutMs)
  }

  /** A shard completed and others are open: place them now (its worker has capacity again), not after the re-offer wait. */
  private wakePlacement (job: Job): void {
    if (!ACTIVE_JOB.has(job.state) || !job.slots.some(isOpen)) return
    if (job.placing) {
      job.placeAgain = true
      job.wake?.abort()
    } else {
      void this.place(job)
    }
  }

  /**
   * Fails a job with an open slot: JobFailedError when an open slot lost a
   * lease (naming how, and why it was not placed again), NoBidsError with
   * the explanation of what the requester saw otherwise.
   */
  private failPlacement (job: Job): void {
    const explained = explainNoBids(noBidsInput(this.ctx, job))
    const open = job.slots.filter(isOpen)
    if (open.some(s => s.lost != null)) {
      this.endJob(job, 'failed', explained.message, new JobFailedError(job.id, unplacedShards(job, explained.message), 'placement'))
      return
    }
    const error = new NoBidsError({
      jobId: job.id,
      reason: explained.reason,
      message: explained.message,
      region: job.region,
      maxPricePerUnit: job.terms.maxPricePerUnit,
      lowestAsk: explained.lowestAsk,
      refusals: [...job.refusals.values()].map(r => ({ ...r }))
    })
    this.endJob(job, 'failed', explained.message, error)
  }

  private award (job: Job, slot: Slot, worker: PeerId, pricePerUnit: number): void {
    const lease: RequesterLease = {
      leaseId: randomUUID(),
      job,
      slot,
      worker,
      workerStr: worker.toString(),
      pricePerUnit,
      state: 'awarded',
      lastHeartbeat: Date.now()
    }
    slot.lease = lease
    this.leasesById.set(lease.leaseId, lease)
    this.heartbeatTimer.arm()
    this.ctx.metrics.award('sent')
    this.emitLease(lease)
    void (async () => {
      try {
        await learnBidderAddrs(this.ctx.components, worker, job.bidAddrs.get(lease.workerStr) ?? [])
        const reply = await this.ctx.exchange(worker, {
          award: {
            jobId: job.id,
            leaseId: lease.leaseId,
            shardIndex: slot.shardIndex,
            replica: slot.replica,
            units: BigInt(slot.units),
            pricePerUnit,
            leaseTimeoutMs: this.ctx.timings.leaseTimeoutMs,
            deadline: BigInt(job.terms.deadline),
            modelCid: job.modelCid,
            mode: job.mode,
            shardCount: job.terms.shardUnits.length
          }
        }, ['accept', 'decline'], this.ctx.timings.awardTimeoutMs)
        if (lease.state !== 'awarded') return
        if (reply.message.accept?.leaseId === lease.leaseId) {
          lease.state = 'active'
          lease.lastHeartbeat = Date.now()
          this.emitLease(lease)
          this.checkRunning(job)
        } else {
          this.loseLease(lease, 'declined', `declined: ${reply.message.decline?.reason ?? 'no reason'}`)
        }
      } catch (err: any) {
        if (lease.state !== 'awarded') return
        // over the worker's award budget for this node: a "slow down", not a refusal of the job; its bid stands, and the slot is placed again once the budget refills
        const limited = err?.code === 'ERR_RATE_LIMITED'
        this.loseLease(lease, 'declined', `award not answered: ${err?.message ?? err}`, limited ? { exclude: false, place: false } : {})
        if (limited) setTimeout(() => { if (ACTIVE_JOB.has(job.state)) void this.place(job) }, RATE_LIMITED_AWARD_RETRY_MS)
      }
    })()
  }

  private checkRunning (job: Job): void {
    if (!ACTIVE_JOB.has(job.state) || job.state === 'running') return
    if (job.slots.every(s => s.done != null || s.lease?.state === 'active')) this.setJobState(job, 'running')
  }

  /**
   * A lease ended without completing: free the slot, keep the worker off
   * this job (unless `exclude` is false), and (unless `place` is false)
   * place the slot again. With `notifyWorker` the worker is sent a Cancel
   * with `reason`.
   */
  private loseLease (lease: RequesterLease, state: 'lost' | 'declined' | 'released', reason: string, options: { notifyWorker?: boolean, place?: boolean, exclude?: boolean } = {}): void {
    if (TERMINAL.has(lease.state)) return
    const wasActive = lease.state === 'active'
    lease.state = state
    this.leasesById.delete(lease.leaseId)
    if (lease.slot.lease === lease) lease.slot.lease = undefined
    lease.slot.lastReason = reason
    const job = lease.job
    if (wasActive || state !== 'declined') lease.slot.lost = `${reason} (lease to ${lease.workerStr})`
    if (options.exclude ?? true) job.excluded.add(lease.workerStr)
    this.ctx.log('job %s: lease %s to %s %s - %s', job.id, lease.leaseId, lease.workerStr, state, reason)
    this.emitLease(lease, reason)
    if (options.notifyWorker === true) void this.sendCancel(lease, reason)
    if (job.placementFinished) {
      this.dropUnneeded(job)
      return
    }
    if (ACTIVE_JOB.has(job.state)) {
      if (wasActive || state !== 'declined') job.reawards++
      if (job.state === 'running') this.setJobState(job, 'awarding', reason)
      if (options.place ?? true) void this.place(job)
      else this.armPlacementTimer(job)
    }
  }

  private async sendCancel (lease: RequesterLease, reason: string): Promise<void> {
    await this.ctx.exchange(lease.worker, { cancel: { jobId: lease.job.id, leaseId: lease.leaseId, reason: reason.slice(0, 200) } }, ['ack'], this.ctx.timings.directTimeoutMs)
      .catch(err => { this.ctx.log('cancel of lease %s at %p failed - %s', lease.leaseId, lease.worker, err?.message ?? err) })
  }

  private heartbeatRound (): void {
    const now = Date.now()
    const held = this.stall.held(now)
    const byWorker = new Map<string, RequesterLease[]>()
    for (const lease of this.leasesById.values()) {
      if (lease.state !== 'active') continue
      lease.lastHeartbeat += held
      if (now - lease.lastHeartbeat > this.ctx.timings.leaseTimeoutMs) {
        this.loseLease(lease, 'lost', `expired: no heartbeat answered for ${now - lease.lastHeartbeat} ms`, { notifyWorker: true })
        continue
      }
      let list = byWorker.get(lease.workerStr)
      if (list == null) byWorker.set(lease.workerStr, list = [])
      list.push(lease)
    }
    for (const [workerStr, leases] of byWorker) {
      if (this.heartbeatsInFlight.has(workerStr)) continue
      this.heartbeatsInFlight.add(workerStr)
      const worker = (leases[0] as RequesterLease).worker
      void this.ctx.exchange(worker, { heartbeat: { leaseIds: leases.map(l => l.leaseId) } }, ['heartbeat'], Math.min(this.ctx.timings.directTimeoutMs, this.ctx.timings.leaseTimeoutMs))
        .then(reply => {
          const heldIds = new Set(reply.message.heartbeat?.leaseIds ?? [])
          const t = Date.now()
          for (const lease of leases) {
            if (lease.state !== 'active') continue
            if (heldIds.has(lease.leaseId)) lease.lastHeartbeat = t
            else this.loseLease(lease, 'lost', 'the worker no longer holds the lease')
          }
        }, err => { this.ctx.log('heartbeat to %p failed - %s', worker, err?.message ?? err) })
        .finally(() => { this.heartbeatsInFlight.delete(workerStr) })
    }
  }

  /** A peer disconnected: its awarded and active leases are lost. */
  onDisconnect (peer: PeerId): void {
    for (const lease of [...this.leasesById.values()]) {
      if ((lease.state === 'active' || lease.state === 'awarded') && lease.worker.equals(peer)) {
        this.loseLease(lease, 'lost', 'disconnected')
      }
    }
  }

  onComplete (v: ValidatedMarketMessage): MarketBody {
    const c = v.message.complete
    const lease = c == null ? undefined : this.leasesById.get(c.leaseId)
    if (c == null || lease == null || lease.job.id !== c.jobId || !lease.worker.equals(v.signer) || TERMINAL.has(lease.state)) {
      return { ack: { ok: false, code: 'ERR_LEASE_NOT_ACTIVE' } }
    }
    const job = lease.job
    lease.state = 'completed'
    this.leasesById.delete(lease.leaseId)
    lease.slot.lease = undefined
    lease.slot.done = {
      shardIndex: lease.slot.shardIndex,
      replica: lease.slot.replica,
      worker: lease.workerStr,
      leaseId: lease.leaseId,
      units: lease.slot.units,
      pricePerUnit: lease.pricePerUnit,
      result: c.result,
      computeMs: c.computeMs
    }
    this.emitLease(lease)
    job.progressAt = Date.now()
    if (job.slots.every(s => s.done != null)) this.endJob(job, 'completed')
    else this.wakePlacement(job)
    return { ack: { ok: true, code: '' } }
  }

  onRelease (v: ValidatedMarketMessage): MarketBody {
    const r = v.message.release
    const lease = r == null ? undefined : this.leasesById.get(r.leaseId)
    if (r == null || lease == null || lease.job.id !== r.jobId || !lease.worker.equals(v.signer)) return { ack: { ok: false, code: 'ERR_LEASE_NOT_ACTIVE' } }
    this.loseLease(lease, 'released', `released: ${r.reason}`)
    return { ack: { ok: true, code: '' } }
  }

  /**
   * Ends a job: completed, failed (deadline, placement, or `failJob`'s
   * `error`) or cancelled. The failure is built before the leases are
   * cancelled (so a running shard reads as leased, not as unplaced); then
   * live leases are cancelled at the workers, the job's bids topic is left
   * and its promise settles.
   */
  private endJob (job: Job, state: 'completed' | 'failed' | 'cancelled', reason?: string, error?: Error): void {
    if (!ACTIVE_JOB.has(job.state)) return
    clearTimeout(job.deadlineTimer)
    clearTimeout(job.placementTimer)
    job.placementTimer = undefined
    job.abort.abort()
    const failure = state === 'failed' ? (error ?? new JobFailedError(job.id, unplacedShards(job), 'deadline')) : undefined
    const toWorker = error?.message ?? `job ${state}${reason != null ? `: ${reason}` : ''}`
    for (const slot of job.slots) {
      const lease = slot.lease
      if (lease == null || TERMINAL.has(lease.state)) continue
      lease.state = 'cancelled'
      this.leasesById.delete(lease.leaseId)
      slot.lease = undefined
      this.emitLease(lease, toWorker)
      if (this.ctx.isStarted()) void this.sendCancel(lease, toWorker)
    }
    if (state !== 'completed') releaseJobFunds(this.ctx, job)
    this.setJobState(job, state, reason)
    this.jobsById.delete(job.id)
    this.regionWorkers.learn(job)
    this.ctx.leave(bidsTopic(job.region))
    if (state === 'completed') {
      job.resolve({
        jobId: job.id,
        shards: job.slots.map(s => s.done as ShardResult),
        reawards: job.reawards,
        reoffers: job.reoffers,
        submittedAt: job.submittedAt,
        awardedAt: job.awardedAt,
        completedAt: Date.now()
      })
    } else if (failure != null) {
      job.reject(failure)
    } else {
      job.reject(new JobCancelledError(job.id, reason ?? 'cancelled'))
    }
  }
}
