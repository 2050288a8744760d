import { BidderRole, bidsTopic, DemandTimer, JobMode, MAX_MARKET_STRING_LENGTH, offersTopic } from '@fleetmesh/protocol'
import { isWorkAllowed } from './availability.js'
import { ownBidAddrs } from './bid-addrs.js'
import { bidDrawn } from './bid-draw.js'
import {
  ABANDONED_LEASE_BACKOFF_MS, DEFAULT_MS_PER_UNIT, DEFAULT_REPUTATION, DEFAULT_UNCACHED_SETUP_MS, FIRST_HEARTBEAT_TIMEOUT_MS, MAX_BUDGET_PEERS, MAX_CONCURRENT_LEASES, MAX_KNOWN_OFFERS,
  MAX_KNOWN_OFFERS_PER_REQUESTER, MAX_LEASE_LIFE_MS, MAX_LEASE_TIMEOUT_MS, MAX_RESULT_BYTES, RELEASE_FLUSH_MS, REQUESTER_LEASE_SHARE
} from './constants.js'
import { sleep } from './context.js'
import { KnownOffers, requirementsOf } from './known-offers.js'
import { boundLease, leaseExpiry, LoopStall } from './lease-bounds.js'
import { decideBid, maxJobCost } from './policy.js'
import { computingLeases } from './worker-lease.js'
import type { AvailabilityDecision } from './availability.js'
import type { MarketContext } from './context.js'
import type { BidRefusal, HeldLease, LeaseEvent, LeaseHandler, LeaseHandlerOptions, LeaseState, WorkerInit, WorkerLease } from './index.js'
import type { MarketBody, ValidatedMarketMessage } from './messages.js'
import type { NoBidCode } from './no-bids.js'
import type { HeldWorkerLease } from './worker-lease.js'
import type { JobOffer } from '@fleetmesh/protocol'
import type { PeerId } from '@libp2p/interface'

/** Why a vehicle without a state source never works (the skipped bid's reason). */
export const NO_VEHICLE_STATE_SOURCE = 'no vehicle state source'

/** Why a worker with no lease handler does not bid. */
export const NO_LEASE_HANDLER = 'no lease handler registered'

const REFUSAL_CODES: ReadonlySet<string> = new Set(['MODEL_TOO_LARGE', 'INPUT_TOO_LARGE', 'MODEL_INVALID', 'UNSUPPORTED', 'BUSY'])

/**
 * The worker side of the market: offers seen, bid decisions, awards
 * accepted, leases held and run, heartbeats answered, drain and vehicle
 * availability. Composed by the market shell (market.ts) when
 * `MarketInit.worker` is given.
 */
export class MarketWorker {
  private readonly ctx: MarketContext
  private readonly worker: WorkerInit
  private readonly held = new Map<string, HeldWorkerLease>()
  /** requesters (PeerId strings) whose lease expired here unheartbeated, until when their awards are declined (ms since the epoch); bounded, oldest forgotten first */
  private readonly abandoned = new Map<string, number>()
  private readonly offers = new KnownOffers(MAX_KNOWN_OFFERS, MAX_KNOWN_OFFERS_PER_REQUESTER)
  private readonly myBids = new Map<string, { round: number, pricePerUnit: number }>()
  /** job id -> the offer round a NoBid was sent for (at most one per round) */
  private readonly noBidsSent = new Map<string, number>()
  /** requester PeerId string -> the reconciliation a funds check waits for (fundsRefusal) */
  private readonly fundsSyncs = new Map<string, Promise<void>>()
  private registered?: { handler: LeaseHandler, options: LeaseHandlerOptions }
  private draining = false
  private availability?: AvailabilityDecision
  /** the lease timer: armed while a lease is held or an offer remembered (an idle worker keeps no timer) */
  private readonly workerTimer: DemandTimer
  /** the lease timer's interval, ms, and the time the loop was held between its runs (not the requesters' silence) */
  private readonly tickMs: number
  private readonly stall: LoopStall

  constructor (ctx: MarketContext, worker: WorkerInit) {
    this.ctx = ctx
    this.worker = worker
    this.tickMs = Math.max(50, Math.min(250, ctx.timings.heartbeatIntervalMs / 2))
    this.stall = new LoopStall(this.tickMs)
    this.workerTimer = new DemandTimer(this.tickMs, () => { this.workerTick() }, () => this.held.size > 0 || this.offers.size > 0, () => { this.stall.reset() })
  }

  /** Joins the region's offers topic (the shell joins its bids topic where this node carries it), starts the lease timer and the vehicle state source. */
  async start (region: string): Promise<void> {
    this.draining = false
    this.ctx.join(offersTopic(region), 'offer', region)
    this.workerTimer.restart()
    const source = this.worker.vehicleState
    if (source != null) {
      source.addEventListener('change', this.onVehicleState)
      await source.start?.()
      this.evaluateAvailability()
    } else if (this.ctx.own()?.role === 'vehicle') {
      // a vehicle that cannot tell whether it is driving must never work
      this.availability = { allowed: false, reason: NO_VEHICLE_STATE_SOURCE }
    }
  }

  /** Registers the lease handler (replacing one registered before); see `Market.handleLeases`. */
  handleLeases (handler: LeaseHandler, options: LeaseHandlerOptions = {}): void {
    this.registered = { handler, options }
  }

  /** Removes the registered lease handler; `WorkerInit.onLease`, if given, serves again. */
  unhandleLeases (): void {
    this.registered = undefined
  }

  /** The handler new leases run with: the registered one, else `WorkerInit.onLease`. */
  private handler (): LeaseHandler | undefined {
    return this.registered?.handler ?? this.worker.onLease
  }

  /** The registered handler's refusal of an offer, if any; a throwing `canServe` refuses as UNSUPPORTED. */
  private canServe (offer: JobOffer, requester: string): BidRefusal | undefined {
    const check = this.registered?.options.canServe
    if (check == null) return undefined
    try {
      const refusal = check(requirementsOf(offer, requester))
      if (refusal == null) return undefined
      if (!REFUSAL_CODES.has(refusal.code)) return { code: 'UNSUPPORTED', message: String(refusal.message ?? refusal.code) }
      return refusal
    } catch (err: any) {
      return { code: 'UNSUPPORTED', message: `canServe failed: ${err?.message ?? err}` }
    }
  }

  /** Graceful part of stopping, while connections are still up: stop bidding, release held leases. */
  async beforeStop (): Promise<void> {
    this.draining = true
    await this.releaseAll('the worker is stopping')
  }

  /** Ends what is still held, stops the timer and the vehicle state source. */
  async stop (): Promise<void> {
    for (const wl of [...this.held.values()]) this.endHeld(wl, 'cancelled', 'the worker stopped')
    this.workerTimer.stop()
    const source = this.worker.vehicleState
    if (source != null) {
      source.removeEventListener('change', this.onVehicleState)
      await source.stop?.()
    }
  }

  /** true if this worker would bid now (started, not draining, vehicle available, a lease handler registered) */
  isBidding (): boolean {
    return this.ctx.isStarted() && !this.draining && (this.availability?.allowed ?? true) && this.handler() != null
  }

  /** leases held now */
  heldLeases (): HeldLease[] {
    return [...this.held.values()].map(h => ({ ...h.view, startedAt: h.startedAt }))
  }

  /** a lease held now, by id */
  heldLease (leaseId: string): HeldLease | undefined {
    const h = this.held.get(leaseId)
    return h == null ? undefined : { ...h.view, startedAt: h.startedAt }
  }

  private readonly onVehicleState = (): void => { this.evaluateAvailability() }

  private evaluateAvailability (): void {
    const source = this.worker.vehicleState
    if (source == null) return
    const state = source.current()
    const decision = isWorkAllowed(state, this.worker.availability)
    const changed = this.availability == null || this.availability.allowed !== decision.allowed || this.availability.reason !== decision.reason
    const wasAllowed = this.availability?.allowed
    this.availability = decision
    if (changed) {
      this.ctx.log('availability: %s (%s)', decision.allowed ? 'allowed' : 'not allowed', decision.reason)
      this.ctx.emit('availability', { ...decision, state, at: Date.now() })
    }
    if (!decision.allowed && (wasAllowed ?? true) && this.held.size > 0) {
      void this.releaseAll(`drained: ${decision.reason}`)
    }
  }

  /** Stops bidding and releases every held lease to its requester. */
  async drain (reason = 'drained by the operator'): Promise<void> {
    this.draining = true
    await this.releaseAll(reason)
  }

  private async releaseAll (reason: string): Promise<void> {
    const leases = [...this.held.values()]
    await Promise.allSettled(leases.map(async wl => {
      if (!this.endHeld(wl, 'released', reason)) return
      await this.sendRelease(wl, reason.slice(0, 200))
        .catch(err => { this.ctx.log('release of %s to %p failed - %s', wl.view.leaseId, wl.requester, err?.message ?? err) })
    }))
  }

  /**
   * Tells the requester a lease it holds here ended, once the lease handler settled (at most RELEASE_FLUSH_MS):
   * what the handler sends as the lease ends (a session stage's receipt) reaches the requester first. @throws DirectExchangeError
   */
  private async sendRelease (wl: HeldWorkerLease, reason: string): Promise<ValidatedMarketMessage> {
    const settled = new AbortController()
    void wl.running?.catch(() => {}).finally(() => { settled.abort() })
    if (wl.running != null) await sleep(RELEASE_FLUSH_MS, settled.signal)
    return await this.ctx.exchange(wl.requester, { release: { jobId: wl.view.jobId, leaseId: wl.view.leaseId, reason } }, ['ack'], this.ctx.timings.directTimeoutMs)
  }

  /** Most leases one requester may hold here at once (WorkerInit.maxLeasesPerRequester). */
  private maxPerRequester (): number {
    const max = this.worker.maxConcurrentLeases ?? MAX_CONCURRENT_LEASES
    return this.worker.maxLeasesPerRequester ?? Math.max(1, Math.ceil(REQUESTER_LEASE_SHARE * max))
  }

  /** Leases that take a compute slot here now (of `requester`, a PeerId string, if given): see `computingLeases`. */
  private computing (requester?: string): number {
    return computingLeases(this.held.values(), requester)
  }

  private situation (requester?: string): Parameters<typeof decideBid>[1] {
    const w = this.worker
    return {
      region: this.ctx.own()?.region ?? '',
      jurisdiction: this.ctx.own()?.jurisdiction ?? '',
      held: this.computing(),
      heldByRequester: requester != null ? this.computing(requester) : 0,
      maxPerRequester: this.maxPerRequester(),
      maxConcurrent: w.maxConcurrentLeases ?? MAX_CONCURRENT_LEASES,
      pricing: w.pricing ?? {},
      power: w.power,
      availability: this.availability,
      draining: this.draining || !this.ctx.isStarted(),
      reputation: w.reputation ?? DEFAULT_REPUTATION,
      estimate: { msPerUnit: DEFAULT_MS_PER_UNIT, setupMs: DEFAULT_UNCACHED_SETUP_MS, modelCached: false }
    }
  }

  /** A validated offer arrived on the region's offers topic: bid on it, or say why not. */
  async onOffer (v: ValidatedMarketMessage): Promise<void> {
    const offer = v.message.offer
    const own = this.ctx.own()
    if (offer == null || own == null) return
    const requesterStr = v.signer.toString()
    if (v.signer.equals(this.ctx.components.peerId)) return
    for (const jobId of this.offers.set({ offer, requester: v.signer, requesterStr })) this.forgetJob(jobId)
    this.workerTimer.arm()
    this.ctx.metrics.offer('received')
    this.ctx.emit('offer', { jobId: offer.jobId, requester: requesterStr, region: offer.region, round: offer.round, at: Date.now() })
    const previous = this.myBids.get(offer.jobId)
    if (previous != null && previous.round >= offer.round) return
    const known = { offer, requester: v.signer }
    if (offer.region !== own.region) {
      this.skipped(known, 'REGION', `offer is for region ${offer.region}, this worker is in ${own.region}`)
      return
    }
    if (this.handler() == null) {
      await this.refuse(known, 'UNAVAILABLE', NO_LEASE_HANDLER)
      return
    }
    const funds = await this.fundsRefusal(offer, v.signer)
    if (funds != null) {
      await this.refuse(known, 'FUNDS', funds)
      return
    }
    const refusal = this.canServe(offer, requesterStr)
    if (refusal != null) {
      await this.refuse(known, refusal.code, refusal.message)
      return
    }
    const open = offer.openShards.length > 0 ? offer.openShards : offer.shardUnits.map((_, i) => i)
    const situation = this.situation(requesterStr)
    if (this.worker.estimate != null) situation.estimate = this.worker.estimate(offer.modelCid)
    const now = Date.now()
    const decision = decideBid({
      jobId: offer.jobId,
      region: offer.region,
      openShardUnits: open.map(i => Number(offer.shardUnits[i] ?? 0n)),
      maxPricePerUnit: offer.maxPricePerUnit,
      deadline: Number(offer.deadline),
      minReputation: offer.minReputation,
      jurisdiction: offer.jurisdiction
    }, situation, now)
    if (!decision.bid) {
      if (decision.code === 'REGION' || decision.code === 'NO_OPEN_SHARDS') this.skipped(known, decision.code, decision.reason)
      else await this.refuse(known, decision.code, decision.reason, decision.askPricePerUnit)
      return
    }
    if (!bidDrawn(offer, this.ctx.components.peerId.toString())) return this.skipped(known, 'NOT_DRAWN', `not drawn: the offer asks ${offer.bidsWanted} bids of ~${offer.regionWorkers} workers`)
    this.myBids.set(offer.jobId, { round: offer.round, pricePerUnit: decision.pricePerUnit })
    await this.ctx.publish(bidsTopic(own.region), {
      bid: {
        jobId: offer.jobId,
        bidder: this.ctx.components.peerId.toMultihash().bytes,
        pricePerUnit: decision.pricePerUnit,
        msPerUnit: decision.msPerUnit,
        setupMs: Math.round(decision.setupMs),
        capacity: decision.capacity,
        modelCached: decision.modelCached,
        role: own.role === 'vehicle' ? BidderRole.VEHICLE : BidderRole.STATION,
        round: offer.round,
        addrs: ownBidAddrs(this.ctx.components.addressManager)
      }
    })
    this.ctx.metrics.bid('sent')
    this.ctx.emit('bid', { jobId: offer.jobId, bidder: this.ctx.components.peerId.toString(), side: 'sent', pricePerUnit: decision.pricePerUnit, capacity: decision.capacity, at: Date.now() })
  }

  /**
   * Why the requester cannot pay for the offer as this worker's ledger sees
   * it (its spendable balance is below the offer's maximum cost,
   * {@link maxJobCost}), or undefined; a node whose ledger has no funds
   * check bids regardless. Before refusing, the ledger reconciles once with
   * the requester (at most one session per requester at a time, bounded by
   * `directTimeoutMs`), so a grant that has not reached this worker yet
   * does not cost the requester its job.
   */
  private async fundsRefusal (offer: JobOffer, requester: PeerId): Promise<string | undefined> {
    const ledger = this.ctx.ledger()
    if (ledger?.canAfford == null) return undefined
    const key = requester.toString()
    const cost = maxJobCost({ shardUnits: offer.shardUnits.map(Number), maxPricePerUnit: offer.maxPricePerUnit, redundancy: offer.redundancy })
    if (ledger.canAfford(key, cost)) return undefined
    if (ledger.reconcileWith != null) {
      let sync = this.fundsSyncs.get(key)
      if (sync == null) {
        sync = ledger.reconcileWith(requester, { signal: AbortSignal.timeout(this.ctx.timings.directTimeoutMs) })
          .then(() => {}, (err: any) => { this.ctx.log('reconciling with requester %p before refusing job %s failed - %s', requester, offer.jobId, err?.message ?? err) })
          .finally(() => { this.fundsSyncs.delete(key) })
        this.fundsSyncs.set(key, sync)
      }
      await sync
      if (ledger.canAfford(key, cost)) return undefined
    }
    return `requester ${key} cannot pay the job's maximum cost of ${cost} credits`
  }

  /** Emits a skipped bid. */
  private skipped (known: { offer: JobOffer }, code: string, reason: string): void {
    this.ctx.emit('bid', { jobId: known.offer.jobId, bidder: this.ctx.components.peerId.toString(), side: 'skipped', reason, code, at: Date.now() })
  }

  /**
   * Skips the bid and tells the requester why with one signed `NoBid` per
   * job and offer round (a failed delivery is logged: the requester then
   * waits for its placement timeout).
   */
  private async refuse (known: { offer: JobOffer, requester: PeerId }, code: NoBidCode, reason: string, askPricePerUnit?: number): Promise<void> {
    const { offer, requester } = known
    this.skipped(known, code, reason)
    if (this.noBidsSent.get(offer.jobId) === offer.round) return
    this.noBidsSent.set(offer.jobId, offer.round)
    const noBid = { jobId: offer.jobId, round: offer.round, code, message: reason.slice(0, MAX_MARKET_STRING_LENGTH), askPricePerUnit }
    await this.ctx.exchange(requester, { noBid }, ['ack'], this.ctx.timings.directTimeoutMs)
      .catch(err => { this.ctx.log('noBid for job %s to %p not delivered - %s', offer.jobId, requester, err?.message ?? err) })
  }

  /** An Award from a requester: accept it (and run the lease) or decline it. */
  onAward (v: ValidatedMarketMessage): MarketBody {
    const a = v.message.award
    if (a == null) return { ack: { ok: false, code: 'ERR_UNEXPECTED_MESSAGE' } }
    const decline = (reason: string): MarketBody => {
      this.ctx.metrics.award('declined')
      this.ctx.log('declined lease %s of job %s - %s', a.leaseId, a.jobId, reason)
      return { decline: { jobId: a.jobId, leaseId: a.leaseId, reason } }
    }
    const w = this.worker
    const known = this.offers.get(a.jobId)
    if (known == null) return decline('no offer known for this job')
    if (!known.requester.equals(v.signer)) return decline('the award does not come from the job\'s requester')
    if (this.held.has(a.leaseId)) return { accept: { jobId: a.jobId, leaseId: a.leaseId } }
    const backoff = (this.abandoned.get(known.requesterStr) ?? 0) - Date.now()
    if (backoff > 0) return decline(`this requester left a lease here without a single heartbeat; its awards are declined for ${backoff} ms more`)
    const handler = this.handler()
    if (handler == null) return decline(NO_LEASE_HANDLER)
    if (!this.isBidding()) return decline(this.draining ? 'draining' : `unavailable: ${this.availability?.reason ?? ''}`)
    // the handler's limits as they stand now, with the leases won since the bid (two bids made with room for one do not over-commit)
    const refusal = this.canServe(known.offer, known.requesterStr)
    if (refusal != null) return decline(`${refusal.code}: ${refusal.message}`)
    const max = w.maxConcurrentLeases ?? MAX_CONCURRENT_LEASES
    const computing = this.computing()
    if (computing >= max) return decline(`at capacity (${computing}/${max})`)
    const perRequester = this.maxPerRequester()
    const mine = this.computing(known.requesterStr)
    if (mine >= perRequester) return decline(`the requester holds ${mine} of this worker's ${max} leases, its most at once (${perRequester})`)
    if (w.power != null && decideBid({ jobId: a.jobId, region: this.ctx.own()?.region ?? '', openShardUnits: [1], maxPricePerUnit: Infinity, deadline: Infinity, minReputation: 0 }, this.situation(), Date.now()).bid === false) {
      return decline('site power budget is spent')
    }
    const myBid = this.myBids.get(a.jobId)
    if (myBid != null && a.pricePerUnit < myBid.pricePerUnit) return decline(`price ${a.pricePerUnit} is below the bid's ${myBid.pricePerUnit}`)
    for (const h of this.held.values()) {
      if (h.view.jobId === a.jobId && h.view.shardIndex === a.shardIndex) return decline('already holds a replica of this shard')
    }
    const now = Date.now()
    // the worker's own bounds, whatever the award asks
    const bounds = boundLease({ leaseTimeoutMs: a.leaseTimeoutMs, deadline: Number(a.deadline), offerDeadline: Number(known.offer.deadline) }, {
      maxLeaseTimeoutMs: w.maxLeaseTimeoutMs ?? MAX_LEASE_TIMEOUT_MS,
      maxLeaseLifeMs: w.maxLeaseLifeMs ?? MAX_LEASE_LIFE_MS,
      defaultLeaseTimeoutMs: this.ctx.timings.leaseTimeoutMs
    }, now)
    if ('decline' in bounds) return decline(bounds.decline)
    const view: WorkerLease = {
      leaseId: a.leaseId,
      jobId: a.jobId,
      requester: known.requesterStr,
      shardIndex: a.shardIndex,
      replica: a.replica,
      shardCount: a.shardCount,
      units: Number(a.units),
      pricePerUnit: a.pricePerUnit,
      modelCid: a.modelCid,
      mode: a.mode === JobMode.PIPELINE ? 'pipeline' : 'data',
      deadline: bounds.endsAt,
      leaseTimeoutMs: bounds.timeoutMs
    }
    const req = requirementsOf(known.offer, known.requesterStr)
    if (req.modelBytes != null) view.modelBytes = req.modelBytes
    if (req.maxFrameBytes != null) view.maxFrameBytes = req.maxFrameBytes
    if (req.inputs != null) view.inputs = req.inputs
    if (req.session === true) view.session = true
    const wl: HeldWorkerLease = {
      view,
      requester: known.requester,
      handler,
      controller: new AbortController(),
      lastHeartbeat: now,
      heartbeats: 0,
      timeoutMs: bounds.timeoutMs,
      endsAt: bounds.endsAt,
      startedAt: now,
      ended: false
    }
    this.held.set(a.leaseId, wl)
    this.workerTimer.arm()
    this.ctx.metrics.award('accepted')
    this.emitHeld(wl, 'active')
    setTimeout(() => { void this.runLease(wl) }, 0)
    return { accept: { jobId: a.jobId, leaseId: a.leaseId } }
  }

  private emitHeld (wl: HeldWorkerLease, state: LeaseState, reason?: string): void {
    const detail: LeaseEvent = {
      leaseId: wl.view.leaseId,
      jobId: wl.view.jobId,
      shardIndex: wl.view.shardIndex,
      replica: wl.view.replica,
      side: 'worker',
      requester: wl.view.requester,
      worker: this.ctx.components.peerId.toString(),
      state,
      reason,
      at: Date.now()
    }
    this.ctx.log('lease %s %s%s', wl.view.leaseId, state, reason != null ? ` (${reason})` : '')
    this.ctx.emit('lease', detail)
  }

  /** Ends a held lease once; returns false if it had ended already. */
  private endHeld (wl: HeldWorkerLease, state: LeaseState, reason?: string): boolean {
    if (wl.ended) return false
    wl.ended = true
    this.held.delete(wl.view.leaseId)
    wl.controller.abort(new Error(reason ?? state))
    this.ctx.metrics.leaseEnded(state)
    this.emitHeld(wl, state, reason)
    return true
  }

  private async runLease (wl: HeldWorkerLease): Promise<void> {
    if (wl.ended) return
    const t0 = Date.now()
    let result: Uint8Array<ArrayBuffer>
    try {
      const running = wl.handler({ ...wl.view }, wl.controller.signal)
      wl.running = running
      const out = await running
      result = out instanceof Uint8Array ? new Uint8Array(out) : new Uint8Array()
    } catch (err: any) {
      if (wl.ended) return
      const reason = `failed: ${String(err?.message ?? err).slice(0, 180)}`
      this.endHeld(wl, 'released', reason)
      await this.ctx.exchange(wl.requester, { release: { jobId: wl.view.jobId, leaseId: wl.view.leaseId, reason } }, ['ack'], this.ctx.timings.directTimeoutMs).catch(() => {})
      return
    }
    if (wl.ended) return
    if (result.byteLength > MAX_RESULT_BYTES) {
      const reason = `result is ${result.byteLength} bytes, over ${MAX_RESULT_BYTES}`
      this.endHeld(wl, 'released', reason)
      await this.ctx.exchange(wl.requester, { release: { jobId: wl.view.jobId, leaseId: wl.view.leaseId, reason } }, ['ack'], this.ctx.timings.directTimeoutMs).catch(() => {})
      return
    }
    const computeMs = Math.min(0xffffffff, Date.now() - t0)
    wl.delivering = true
    for (let attempt = 0; attempt < 3 && !wl.ended; attempt++) {
      try {
        const reply = await this.ctx.exchange(wl.requester, { complete: { jobId: wl.view.jobId, leaseId: wl.view.leaseId, result, computeMs } }, ['ack'], this.ctx.timings.directTimeoutMs)
        if (reply.message.ack?.ok === true) this.endHeld(wl, 'completed')
        else this.endHeld(wl, 'cancelled', `the requester refused the result: ${reply.message.ack?.code ?? ''}`)
        return
      } catch (err: any) {
        this.ctx.log('completion of %s not delivered - %s', wl.view.leaseId, err?.message ?? err)
        await sleep(Math.min(1000, wl.timeoutMs / 3))
      }
    }
    this.endHeld(wl, 'expired', 'could not deliver the result to the requester')
  }

  /**
   * A requester's heartbeat: answers with the listed leases still held, and
   * keeps them alive. A requester whose awards are declined for a lease it
   * left unheartbeated is back (late, not gone: a loaded requester's first
   * heartbeat can miss FIRST_HEARTBEAT_TIMEOUT_MS): its awards are taken
   * again, within its share of the leases (`maxLeasesPerRequester`).
   */
  onHeartbeat (v: ValidatedMarketMessage): MarketBody {
    const ids = v.message.heartbeat?.leaseIds ?? []
    const now = Date.now()
    this.abandoned.delete(v.signer.toString())
    const heldIds: string[] = []
    for (const id of ids) {
      const wl = this.held.get(id)
      if (wl == null || !wl.requester.equals(v.signer)) continue
      wl.lastHeartbeat = now
      wl.heartbeats++
      heldIds.push(id)
    }
    return { heartbeat: { leaseIds: heldIds } }
  }

  /** A requester's Cancel: ends the named lease (or every lease of the job) at once. */
  onCancel (v: ValidatedMarketMessage): MarketBody {
    const c = v.message.cancel
    if (c == null) return { ack: { ok: false, code: 'ERR_UNEXPECTED_MESSAGE' } }
    for (const wl of [...this.held.values()]) {
      if (!wl.requester.equals(v.signer) || wl.view.jobId !== c.jobId) continue
      if (c.leaseId !== '' && c.leaseId !== wl.view.leaseId) continue
      this.endHeld(wl, 'cancelled', c.reason)
    }
    return { ack: { ok: true, code: '' } }
  }

  /**
   * Expires leases at the worker ({@link leaseExpiry}): one with no
   * heartbeat for its (capped) timeout, or none since its award for
   * FIRST_HEARTBEAT_TIMEOUT_MS, or past the end of its life (deadline, or
   * maxLeaseLifeMs), ends here and frees its capacity; the requester is
   * told with a Release (best effort). A requester whose lease never had
   * a heartbeat (and that heartbeats no other lease here) and that does
   * not answer the Release is gone: its awards are declined for
   * ABANDONED_LEASE_BACKOFF_MS, or until its next heartbeat. One that
   * answers was late, not gone (a loaded requester, a cancel lost under a
   * flood); what it holds is bounded by its share of the leases
   * (`maxLeasesPerRequester`), never by this back-off.
   * Forgets offers past their deadline.
   */
  private workerTick (): void {
    const now = Date.now()
    const held = this.stall.held(now)
    for (const wl of [...this.held.values()]) {
      wl.lastHeartbeat += held
      const expiry = leaseExpiry(wl, FIRST_HEARTBEAT_TIMEOUT_MS, now)
      if (expiry == null) continue
      const reason = expiry.reason
      if (!this.endHeld(wl, 'expired', reason)) continue
      const requester = wl.view.requester
      // a requester that heartbeats another lease here is alive: this one was merely late
      const abandoned = expiry.abandoned && !this.heartbeating(requester)
      if (abandoned) this.abandon(requester, now)
      void this.sendRelease(wl, reason)
        .then(() => {
          // it answered: late (a loaded requester, a lost cancel), not gone; its share of the leases bounds it from here
          if (abandoned && (this.abandoned.get(requester) ?? 0) > Date.now()) this.abandoned.delete(requester)
        }, err => { this.ctx.log('release of expired lease %s to %p failed - %s', wl.view.leaseId, wl.requester, err?.message ?? err) })
    }
    for (const k of [...this.offers.values()]) {
      if (Number(k.offer.deadline) < now) this.forgetJob(k.offer.jobId)
    }
  }

  /** True if `requester` (a PeerId string) has heartbeated a lease it holds here. */
  private heartbeating (requester: string): boolean {
    for (const h of this.held.values()) if (h.view.requester === requester && h.heartbeats > 0) return true
    return false
  }

  /** Declines `requester`'s awards for ABANDONED_LEASE_BACKOFF_MS from `now`. */
  private abandon (requester: string, now: number): void {
    this.abandoned.delete(requester)
    this.abandoned.set(requester, now + ABANDONED_LEASE_BACKOFF_MS)
    for (const [peer, until] of this.abandoned) {
      if (this.abandoned.size <= MAX_BUDGET_PEERS && until > now) break
      this.abandoned.delete(peer)
    }
  }

  /** Forgets a job's offer and what this worker sent for it. */
  private forgetJob (jobId: string): void {
    this.offers.forget(jobId)
    this.myBids.delete(jobId)
    this.noBidsSent.delete(jobId)
  }
}
