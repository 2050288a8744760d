import { randomUUID } from 'node:crypto'
import { assertRegion, BidderRole, bidsTopic, JobMode, MAX_SHARDS, offersTopic } from '@fleetmesh/protocol'
import { planAwards } from './auction.js'
import { DEFAULT_REPUTATION, JOB_DEADLINE_MS, UNKNOWN_RTT_MS } from './constants.js'
import { sleep } from './context.js'
import { InvalidJobError, JobCancelledError, JobFailedError, MarketNotStartedError } from './errors.js'
import type { AuctionBid, AuctionTerms } from './auction.js'
import type { MarketContext } from './context.js'
import type { BidEvent, JobEvent, JobResult, JobSpec, JobState, LeaseEvent, LeaseState, ShardResult } from './index.js'
import type { MarketBody, ValidatedMarketMessage } from './messages.js'
import type { PeerId } from '@libp2p/interface'

interface Slot {
  shardIndex: number
  replica: number
  units: number
  lease?: RequesterLease
  done?: ShardResult
  lastReason?: string
}

interface Job {
  id: string
  region: string
  modelCid: string
  mode: JobMode
  redundancy: number
  bidWindowMs: number
  spread: boolean
  terms: AuctionTerms
  slots: Slot[]
  bids: Map<string, AuctionBid>
  bidders: Map<string, PeerId>
  rtts: Map<string, number>
  excluded: Set<string>
  state: JobState
  round: number
  reawards: number
  reoffers: number
  submittedAt: number
  awardedAt?: number
  placing: boolean
  placeAgain: boolean
  deadlineTimer?: ReturnType<typeof setTimeout>
  abort: AbortController
  resolve: (r: JobResult) => void
  reject: (err: Error) => void
}

interface RequesterLease {
  leaseId: string
  job: Job
  slot: Slot
  worker: PeerId
  workerStr: string
  pricePerUnit: number
  state: LeaseState
  lastHeartbeat: number
}

const TERMINAL: ReadonlySet<LeaseState> = new Set(['declined', 'completed', 'lost', 'released', 'expired', 'cancelled'])
const ACTIVE_JOB: ReadonlySet<JobState> = new Set(['bidding', 'awarding', 'running', 'reoffered'])

/**
 * The requester side of the market: this node's jobs. Publishes each job's
 * offer, collects bids, runs the auction, awards shards, keeps leases alive
 * with heartbeats, re-awards lost leases, re-offers unplaced shards and
 * settles the job's promise. Composed by the market shell (market.ts).
 */
export class MarketRequester {
  private readonly ctx: MarketContext
  private readonly jobsById = new Map<string, Job>()
  private readonly leasesById = new Map<string, RequesterLease>()
  private readonly heartbeatsInFlight = new Set<string>()
  private heartbeatTimer?: ReturnType<typeof setInterval>

  constructor (ctx: MarketContext) {
    this.ctx = ctx
  }

  /** Starts the heartbeat round. */
  start (): void {
    this.heartbeatTimer = setInterval(() => { this.heartbeatRound() }, this.ctx.timings.heartbeatIntervalMs)
  }

  /** Ends every running job as cancelled with `reason` (its leases are cancelled at the workers while connections are up). */
  cancelAll (reason: string): void {
    for (const job of [...this.jobsById.values()]) this.endJob(job, 'cancelled', reason)
  }

  /** Cancels every running job and stops the heartbeat round. */
  stop (reason: string): void {
    this.cancelAll(reason)
    clearInterval(this.heartbeatTimer)
  }

  async submit (spec: JobSpec, options: { signal?: AbortSignal } = {}): Promise<JobResult> {
    const own = this.ctx.own()
    if (!this.ctx.isStarted() || own == null) throw new MarketNotStartedError('the market service is not started; start the node first')
    const now = Date.now()
    const job = this.makeJob(spec, now, own.region)
    if (this.jobsById.has(job.id)) throw new InvalidJobError(`a job with id ${job.id} is already running`)
    options.signal?.throwIfAborted()
    const promise = new Promise<JobResult>((resolve, reject) => { job.resolve = resolve; job.reject = reject })
    this.jobsById.set(job.id, job)
    this.ctx.join(bidsTopic(job.region), 'bid', job.region)
    job.deadlineTimer = setTimeout(() => { this.endJob(job, 'failed', 'deadline') }, job.terms.deadline - now)
    const onAbort = (): void => { this.cancel(job.id, 'aborted by its signal') }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    void promise.finally(() => options.signal?.removeEventListener('abort', onAbort)).catch(() => {})
    void this.runJob(job).catch(err => { this.ctx.log.error('job %s failed to run - %e', job.id, err) })
    return promise
  }

  private makeJob (spec: JobSpec, now: number, ownRegion: string): Job {
    const bad = (msg: string): never => { throw new InvalidJobError(msg) }
    if (typeof spec.modelCid !== 'string' || spec.modelCid.length === 0) bad('modelCid is empty')
    if (!Array.isArray(spec.shardUnits) || spec.shardUnits.length === 0 || spec.shardUnits.length > MAX_SHARDS) bad(`shardUnits must list 1..${MAX_SHARDS} shard sizes`)
    for (const u of spec.shardUnits) if (!Number.isSafeInteger(u) || u <= 0) bad(`shard size ${u} is not a positive integer of compute units`)
    if (!Number.isFinite(spec.maxPricePerUnit) || spec.maxPricePerUnit <= 0) bad(`maxPricePerUnit ${spec.maxPricePerUnit} is not a positive number of credits`)
    const deadline = spec.deadline ?? now + JOB_DEADLINE_MS
    if (!Number.isFinite(deadline) || deadline <= now) bad(`deadline ${deadline} is not in the future`)
    const redundancy = spec.redundancy ?? 1
    if (!Number.isInteger(redundancy) || redundancy < 1 || redundancy > 16) bad(`redundancy ${redundancy} is not 1..16`)
    const minReputation = spec.minReputation ?? 0
    if (!(minReputation >= 0 && minReputation <= 1)) bad(`minReputation ${minReputation} is not 0..1`)
    let region = ownRegion
    try { region = assertRegion(spec.region ?? ownRegion) } catch (err: any) { bad(err.message) }
    const bidWindowMs = spec.bidWindowMs ?? this.ctx.timings.bidWindowMs
    if (!(bidWindowMs >= 0 && bidWindowMs <= 60_000)) bad(`bidWindowMs ${bidWindowMs} is not 0..60000`)
    const slots: Slot[] = []
    spec.shardUnits.forEach((units, shardIndex) => {
      for (let replica = 0; replica < redundancy; replica++) slots.push({ shardIndex, replica, units })
    })
    return {
      id: spec.jobId ?? randomUUID(),
      region,
      modelCid: spec.modelCid,
      mode: spec.mode === 'pipeline' ? JobMode.PIPELINE : JobMode.DATA,
      redundancy,
      bidWindowMs,
      spread: spec.spread === true,
      terms: { shardUnits: [...spec.shardUnits], maxPricePerUnit: spec.maxPricePerUnit, minReputation, deadline, submittedAt: now, region },
      slots,
      bids: new Map(),
      bidders: new Map(),
      rtts: new Map(),
      excluded: new Set(),
      state: 'bidding',
      round: 0,
      reawards: 0,
      reoffers: 0,
      submittedAt: now,
      placing: false,
      placeAgain: false,
      abort: new AbortController(),
      resolve: () => {},
      reject: () => {}
    }
  }

  private async runJob (job: Job): Promise<void> {
    this.setJobState(job, 'bidding')
    await this.publishOffer(job, [])
    await sleep(job.bidWindowMs, job.abort.signal)
    if (!ACTIVE_JOB.has(job.state)) return
    this.setJobState(job, 'awarding')
    await this.place(job)
  }

  private async publishOffer (job: Job, openShards: number[]): Promise<void> {
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
        bidWindowMs: job.bidWindowMs
      }
    })
  }

  private setJobState (job: Job, state: JobState, reason?: string): void {
    if (job.state === state && state !== 'bidding' && state !== 'reoffered') return
    job.state = state
    const detail: JobEvent = { jobId: job.id, state, round: job.round, reason, at: Date.now() }
    this.ctx.log('job %s %s%s', job.id, state, reason != null ? ` (${reason})` : '')
    this.ctx.emit('job', detail)
  }

  private emitLease (lease: RequesterLease, reason?: string): void {
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
      at: Date.now()
    }
    this.ctx.emit('lease', detail)
  }

  onBid (v: ValidatedMarketMessage): void {
    const bid = v.message.bid
    if (bid == null) return
    const job = this.jobsById.get(bid.jobId)
    if (job == null || !ACTIVE_JOB.has(job.state)) return
    const bidder = v.signer.toString()
    const reputation = this.ctx.init.reputation?.(bidder) ?? DEFAULT_REPUTATION
    job.bids.set(bidder, {
      bidder,
      pricePerUnit: bid.pricePerUnit,
      msPerUnit: bid.msPerUnit,
      setupMs: bid.setupMs,
      capacity: bid.capacity,
      modelCached: bid.modelCached,
      role: bid.role === BidderRole.VEHICLE ? 'vehicle' : 'station',
      region: v.certificate.region,
      rttMs: job.rtts.get(bidder),
      reputation,
      expiresAt: Number(v.message.expiresAt)
    })
    job.bidders.set(bidder, v.signer)
    const detail: BidEvent = { jobId: job.id, bidder, side: 'received', pricePerUnit: bid.pricePerUnit, capacity: bid.capacity, msPerUnit: bid.msPerUnit, at: Date.now() }
    this.ctx.emit('bid', detail)
    if (!job.rtts.has(bidder) && this.ctx.components.ping != null) {
      job.rtts.set(bidder, NaN)
      const signal = AbortSignal.any([job.abort.signal, AbortSignal.timeout(Math.max(200, job.bidWindowMs))])
      void this.ctx.components.ping.ping(v.signer, { signal }).then(ms => {
        job.rtts.set(bidder, ms)
        const b = job.bids.get(bidder)
        if (b != null) b.rttMs = ms
      }, () => { job.rtts.delete(bidder) })
    }
  }

  /** Places every open slot on the best bids; re-offers what cannot be placed. Serialised per job. */
  private async place (job: Job): Promise<void> {
    if (job.placing) { job.placeAgain = true; return }
    job.placing = true
    let window = this.ctx.timings.reofferWindowMs
    try {
      while (ACTIVE_JOB.has(job.state)) {
        job.placeAgain = false
        const open = job.slots.filter(s => s.done == null && s.lease == null)
        if (open.length === 0) break
        const held: Record<string, number> = {}
        const shardHolders: Record<number, string[]> = {}
        for (const s of job.slots) {
          const who = s.lease?.workerStr ?? s.done?.worker
          if (who == null) continue
          ;(shardHolders[s.shardIndex] ??= []).push(who)
          if (s.lease != null) held[who] = (held[who] ?? 0) + 1
        }
        const now = Date.now()
        const plan = planAwards({
          terms: job.terms,
          bids: [...job.bids.values()].map(b => ({ ...b, rttMs: Number.isNaN(b.rttMs) ? undefined : b.rttMs })),
          open,
          held,
          shardHolders,
          excluded: [...job.excluded],
          now,
          score: { weights: this.ctx.init.weights, unknownRttMs: this.ctx.init.unknownRttMs ?? UNKNOWN_RTT_MS },
          spread: job.spread
        })
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
          if (Date.now() + window >= job.terms.deadline) break
          job.round++
          job.reoffers++
          const reason = plan.unplaced.slice(0, 3).map(u => `shard ${u.shardIndex}: ${u.reason}`).join('; ')
          this.setJobState(job, 'reoffered', reason)
          await this.publishOffer(job, [...new Set(plan.unplaced.map(u => u.shardIndex))].sort((a, b) => a - b))
          await sleep(window, job.abort.signal)
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
    this.emitLease(lease)
    void (async () => {
      try {
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
        if (lease.state === 'awarded') this.loseLease(lease, 'declined', `award not answered: ${err?.message ?? err}`)
      }
    })()
  }

  private checkRunning (job: Job): void {
    if (!ACTIVE_JOB.has(job.state) || job.state === 'running') return
    if (job.slots.every(s => s.done != null || s.lease?.state === 'active')) this.setJobState(job, 'running')
  }

  /** A lease ended without completing: free the slot, keep the worker off this job, place the slot again. */
  private loseLease (lease: RequesterLease, state: 'lost' | 'declined' | 'released', reason: string, notifyWorker = false): void {
    if (TERMINAL.has(lease.state)) return
    const wasActive = lease.state === 'active'
    lease.state = state
    this.leasesById.delete(lease.leaseId)
    if (lease.slot.lease === lease) lease.slot.lease = undefined
    lease.slot.lastReason = reason
    const job = lease.job
    job.excluded.add(lease.workerStr)
    this.emitLease(lease, reason)
    if (notifyWorker) void this.sendCancel(lease, reason)
    if (ACTIVE_JOB.has(job.state)) {
      if (wasActive || state !== 'declined') job.reawards++
      if (job.state === 'running') this.setJobState(job, 'awarding', reason)
      void this.place(job)
    }
  }

  private async sendCancel (lease: RequesterLease, reason: string): Promise<void> {
    await this.ctx.exchange(lease.worker, { cancel: { jobId: lease.job.id, leaseId: lease.leaseId, reason: reason.slice(0, 200) } }, ['ack'], this.ctx.timings.directTimeoutMs)
      .catch(err => { this.ctx.log('cancel of lease %s at %p failed - %s', lease.leaseId, lease.worker, err?.message ?? err) })
  }

  private heartbeatRound (): void {
    const now = Date.now()
    const byWorker = new Map<string, RequesterLease[]>()
    for (const lease of this.leasesById.values()) {
      if (lease.state !== 'active') continue
      if (now - lease.lastHeartbeat > this.ctx.timings.leaseTimeoutMs) {
        this.loseLease(lease, 'lost', `expired: no heartbeat answered for ${now - lease.lastHeartbeat} ms`, true)
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
    if (job.slots.every(s => s.done != null)) this.endJob(job, 'completed')
    return { ack: { ok: true, code: '' } }
  }

  onRelease (v: ValidatedMarketMessage): MarketBody {
    const r = v.message.release
    const lease = r == null ? undefined : this.leasesById.get(r.leaseId)
    if (r == null || lease == null || lease.job.id !== r.jobId || !lease.worker.equals(v.signer)) return { ack: { ok: false, code: 'ERR_LEASE_NOT_ACTIVE' } }
    this.loseLease(lease, 'released', `released: ${r.reason}`)
    return { ack: { ok: true, code: '' } }
  }

  /** Ends a job (completed, failed at its deadline, or cancelled): settles its promise, cancels live leases, leaves its bids topic. */
  private endJob (job: Job, state: 'completed' | 'failed' | 'cancelled', reason?: string): void {
    if (!ACTIVE_JOB.has(job.state)) return
    clearTimeout(job.deadlineTimer)
    job.abort.abort()
    for (const slot of job.slots) {
      const lease = slot.lease
      if (lease == null || TERMINAL.has(lease.state)) continue
      lease.state = 'cancelled'
      this.leasesById.delete(lease.leaseId)
      slot.lease = undefined
      this.emitLease(lease, `job ${state}${reason != null ? `: ${reason}` : ''}`)
      if (this.ctx.isStarted()) void this.sendCancel(lease, `job ${state}`)
    }
    this.setJobState(job, state, reason)
    this.jobsById.delete(job.id)
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
    } else if (state === 'failed') {
      job.reject(new JobFailedError(job.id, job.slots.filter(s => s.done == null).map(s => ({
        shardIndex: s.shardIndex,
        replica: s.replica,
        reason: s.lease != null ? `leased to ${s.lease.workerStr}, not completed in time` : (s.lastReason ?? 'no bids')
      }))))
    } else {
      job.reject(new JobCancelledError(job.id, reason ?? 'cancelled'))
    }
  }

  cancel (jobId: string, reason = 'cancelled by the requester'): boolean {
    const job = this.jobsById.get(jobId)
    if (job == null) return false
    this.endJob(job, 'cancelled', reason)
    return true
  }

  jobs (): Array<{ jobId: string, state: JobState, round: number, region: string, slots: number, done: number }> {
    return [...this.jobsById.values()].map(j => ({ jobId: j.id, state: j.state, round: j.round, region: j.region, slots: j.slots.length, done: j.slots.filter(s => s.done != null).length }))
  }
}
