import { randomUUID } from 'node:crypto'
import {
  BidderRole, bidsTopic, InvalidConfigError, JobMode, MARKET_PROTOCOL, MAX_BID_BYTES, MAX_MARKET_DIRECT_BYTES, MAX_OFFER_BYTES,
  MAX_SHARDS, offersTopic, SignerMismatchError, verifyCertificate, assertRegion
} from '@fleetmesh/protocol'
import { serviceCapabilities, serviceDependencies, TypedEventEmitter } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { isWorkAllowed } from './availability.js'
import { planAwards } from './auction.js'
import {
  AWARD_TIMEOUT_MS, BID_WINDOW_MS, DEFAULT_MS_PER_UNIT, DEFAULT_REPUTATION, DEFAULT_UNCACHED_SETUP_MS, DIRECT_TIMEOUT_MS, HEARTBEAT_INTERVAL_MS,
  JOB_DEADLINE_MS, LEASE_TIMEOUT_MS, MAX_CONCURRENT_LEASES, MAX_MARKET_STREAMS, MAX_REPLAY_ENTRIES, MAX_RESULT_BYTES, MESSAGE_TTL_MS, REOFFER_WINDOW_MS, UNKNOWN_RTT_MS
} from './constants.js'
import { DirectExchangeError, InvalidJobError, JobCancelledError, JobFailedError, MarketNotStartedError } from './errors.js'
import { CertificateCache, ReplayWindow, sealMarketMessage, toTopicValidatorResult, validateMarketMessage, verdictFor } from './messages.js'
import { decideBid } from './policy.js'
import type { AvailabilityDecision } from './availability.js'
import type { AuctionBid, AuctionTerms } from './auction.js'
import type {
  BidEvent, HeldLease, JobEvent, JobResult, JobSpec, JobState, LeaseEvent, LeaseState, Market, MarketComponents, MarketEvents, MarketInit,
  ShardResult, WorkerInit, WorkerLease
} from './index.js'
import type { MarketBody, MarketBodyKind, ValidatedMarketMessage } from './messages.js'
import type { JobOffer, VerifiedCertificate } from '@fleetmesh/protocol'
import type { TopicValidatorResult } from '@libp2p/gossipsub'
import type { Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'

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

interface HeldWorkerLease {
  view: WorkerLease
  requester: PeerId
  controller: AbortController
  lastHeartbeat: number
  timeoutMs: number
  startedAt: number
  ended: boolean
}

interface KnownOffer {
  offer: JobOffer
  requester: PeerId
  requesterStr: string
}

const TERMINAL: ReadonlySet<LeaseState> = new Set(['declined', 'completed', 'lost', 'released', 'expired', 'cancelled'])
const ACTIVE_JOB: ReadonlySet<JobState> = new Set(['bidding', 'awarding', 'running', 'reoffered'])

async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  await new Promise<void>(resolve => {
    const t = setTimeout(done, ms)
    function done (): void { clearTimeout(t); signal?.removeEventListener('abort', done); resolve() }
    signal?.addEventListener('abort', done, { once: true })
  })
}

/**
 * The market service: requester auctions for this node's jobs and, when
 * `init.worker` is given, the worker side (bids, leases). See the package
 * docs in index.ts. Not exported from the package; tests import it.
 */
export class MarketService extends TypedEventEmitter<MarketEvents> implements Market, Startable {
  readonly [Symbol.toStringTag] = '@fleetmesh/market'
  readonly [serviceCapabilities]: string[] = ['@fleetmesh/market']
  readonly [serviceDependencies]: string[] = ['@libp2p/pubsub', '@fleetmesh/admission']

  private readonly components: MarketComponents
  private readonly init: MarketInit
  private readonly worker?: WorkerInit
  private readonly log: Logger
  private readonly replay: ReplayWindow
  private readonly certs = new CertificateCache()
  private readonly validated = new WeakMap<object, ValidatedMarketMessage>()
  private readonly topicRefs = new Map<string, number>()
  private readonly bidWindowMs: number
  private readonly reofferWindowMs: number
  private readonly heartbeatIntervalMs: number
  private readonly leaseTimeoutMs: number
  private readonly awardTimeoutMs: number
  private readonly directTimeoutMs: number
  private readonly messageTtlMs: number
  private started = false
  private own?: VerifiedCertificate

  // requester side
  private readonly jobsById = new Map<string, Job>()
  private readonly leasesById = new Map<string, RequesterLease>()
  private readonly heartbeatsInFlight = new Set<string>()
  private heartbeatTimer?: ReturnType<typeof setInterval>

  // worker side
  private readonly held = new Map<string, HeldWorkerLease>()
  private readonly offers = new Map<string, KnownOffer>()
  private readonly myBids = new Map<string, { round: number, pricePerUnit: number }>()
  private draining = false
  private availability?: AvailabilityDecision
  private workerTimer?: ReturnType<typeof setInterval>

  constructor (components: MarketComponents, init: MarketInit) {
    super()
    this.components = components
    this.init = init
    this.worker = init.worker
    this.log = components.logger.forComponent('fleetmesh:market')
    this.replay = new ReplayWindow(init.maxReplayEntries ?? MAX_REPLAY_ENTRIES)
    this.bidWindowMs = init.bidWindowMs ?? BID_WINDOW_MS
    this.reofferWindowMs = init.reofferWindowMs ?? REOFFER_WINDOW_MS
    this.heartbeatIntervalMs = init.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS
    this.leaseTimeoutMs = init.leaseTimeoutMs ?? LEASE_TIMEOUT_MS
    this.awardTimeoutMs = init.awardTimeoutMs ?? AWARD_TIMEOUT_MS
    this.directTimeoutMs = init.directTimeoutMs ?? DIRECT_TIMEOUT_MS
    this.messageTtlMs = init.messageTtlMs ?? MESSAGE_TTL_MS
    if (components.pubsub == null) throw new InvalidConfigError('the market service needs the gossipsub service under the name "pubsub"')
    if (components.admission == null) throw new InvalidConfigError('the market service needs the admission service under the name "admission"')
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    try {
      this.own = await verifyCertificate(this.init.certificate, { trustedAuthorities: this.init.trustedAuthorities, peerId: this.components.peerId })
    } catch (err: any) {
      throw new InvalidConfigError(`the market's certificate is not valid for this node: ${err?.message ?? err}`)
    }
    await this.components.registrar.handle(MARKET_PROTOCOL, (stream, connection) => { void this.onStream(stream, connection) }, {
      maxInboundStreams: MAX_MARKET_STREAMS,
      maxOutboundStreams: MAX_MARKET_STREAMS,
      runOnLimitedConnection: true
    })
    this.components.pubsub.addEventListener('gossipsub:message', this.onGossip)
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    this.heartbeatTimer = setInterval(() => { this.heartbeatRound() }, this.heartbeatIntervalMs)
    this.draining = false
    this.started = true
    // every node can submit jobs: stay subscribed to the home region's bids,
    // so workers already know this node listens when a job's offer goes out
    if (this.worker == null) this.join(bidsTopic(this.own.region), 'bid', this.own.region)
    if (this.worker != null) {
      const region = this.own.region
      this.join(offersTopic(region), 'offer', region)
      this.join(bidsTopic(region), 'bid', region)
      this.workerTimer = setInterval(() => { this.workerTick() }, Math.max(50, Math.min(250, this.heartbeatIntervalMs / 2)))
      const source = this.worker.vehicleState
      if (source != null) {
        source.addEventListener('change', this.onVehicleState)
        await source.start?.()
        this.evaluateAvailability()
      }
    }
    this.log('started (%s in %s, worker %s)', this.own.role, this.own.region, this.worker != null)
  }

  /** Graceful part of stopping, while connections are still up: cancel own jobs, release held leases. */
  async beforeStop (): Promise<void> {
    if (!this.started) return
    for (const job of [...this.jobsById.values()]) this.endJob(job, 'cancelled', 'the requester is stopping')
    this.draining = true
    await this.releaseAll('the worker is stopping')
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    for (const job of [...this.jobsById.values()]) this.endJob(job, 'cancelled', 'the requester stopped')
    for (const wl of [...this.held.values()]) this.endHeld(wl, 'cancelled', 'the worker stopped')
    clearInterval(this.heartbeatTimer)
    clearInterval(this.workerTimer)
    this.components.pubsub.removeEventListener('gossipsub:message', this.onGossip)
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    const source = this.worker?.vehicleState
    if (source != null) {
      source.removeEventListener('change', this.onVehicleState)
      await source.stop?.()
    }
    for (const topic of [...this.topicRefs.keys()]) {
      this.topicRefs.delete(topic)
      this.components.pubsub.topicValidators.delete(topic)
      try { this.components.pubsub.unsubscribe(topic) } catch {}
    }
    await this.components.registrar.unhandle(MARKET_PROTOCOL).catch(() => {})
  }

  // ---------------------------------------------------------------- gossip

  private join (topic: string, kind: 'offer' | 'bid', region: string): void {
    const n = this.topicRefs.get(topic) ?? 0
    if (n === 0) {
      this.components.pubsub.topicValidators.set(topic, async (source: PeerId, msg: any) => this.validateGossip(topic, kind, region, source, msg))
      this.components.pubsub.subscribe(topic)
    }
    this.topicRefs.set(topic, n + 1)
  }

  private leave (topic: string): void {
    const n = this.topicRefs.get(topic) ?? 0
    if (n <= 1) {
      this.topicRefs.delete(topic)
      if (n === 1) {
        this.components.pubsub.topicValidators.delete(topic)
        try { this.components.pubsub.unsubscribe(topic) } catch {}
      }
    } else {
      this.topicRefs.set(topic, n - 1)
    }
  }

  /**
   * The gossip validator of an offers or bids topic: the forwarding peer
   * must be admitted (else ignore, or reject if it was refused), the
   * message must be signed by its gossip author, and the market message
   * must pass {@link validateMarketMessage}. Never throws.
   */
  private async validateGossip (topic: string, kind: 'offer' | 'bid', region: string, source: PeerId, msg: any): Promise<TopicValidatorResult> {
    const reject = (verdict: 'ignore' | 'reject', code: string): TopicValidatorResult => {
      this.log('%s from %p on %s: %s (%s)', kind, source, topic, verdict, code)
      this.safeDispatchEvent('gossip:rejected', { detail: { topic, from: source.toString(), verdict, code, at: Date.now() } })
      return toTopicValidatorResult(verdict)
    }
    const { admission } = this.components
    if (!admission.isAdmitted(source)) return reject(admission.isRefused(source) ? 'reject' : 'ignore', 'ERR_NOT_ADMITTED')
    if (msg?.type !== 'signed' || !(msg.data instanceof Uint8Array)) return reject('reject', 'ERR_UNSIGNED_GOSSIP')
    try {
      const v = await validateMarketMessage({
        now: Date.now(),
        trustedAuthorities: this.init.trustedAuthorities,
        replay: this.replay,
        certificates: this.certs,
        maxBytes: kind === 'offer' ? MAX_OFFER_BYTES : MAX_BID_BYTES,
        expect: [kind],
        region
      }, msg.data)
      if (msg.from != null && !v.signer.equals(msg.from)) throw new SignerMismatchError(`${kind} signed by ${v.signer} was published by ${msg.from}`)
      this.validated.set(msg, v)
      return toTopicValidatorResult('accept')
    } catch (err: any) {
      const verdict = verdictFor(err)
      return reject(verdict === 'accept' ? 'reject' : verdict, err?.code ?? 'ERR_UNKNOWN')
    }
  }

  private readonly onGossip = (evt: CustomEvent<{ propagationSource: PeerId, msg: any }>): void => {
    const v = this.validated.get(evt.detail.msg)
    if (v == null) return
    this.validated.delete(evt.detail.msg)
    try {
      if (v.kind === 'offer') void this.onOffer(v).catch(err => { this.log.error('offer handling failed - %e', err) })
      else if (v.kind === 'bid') this.onBid(v)
    } catch (err: any) {
      this.log.error('gossip handling failed - %e', err)
    }
  }

  private async publish (topic: string, body: MarketBody): Promise<void> {
    const bytes = await this.seal(body)
    try {
      await this.components.pubsub.publish(topic, bytes)
    } catch (err: any) {
      this.log('publish on %s failed - %s', topic, err?.message ?? err)
    }
  }

  private async seal (body: MarketBody): Promise<Uint8Array> {
    return sealMarketMessage(body, { privateKey: this.components.privateKey, certificate: this.init.certificate, ttlMs: this.messageTtlMs })
  }

  // ---------------------------------------------------------------- direct stream

  private async exchange (peer: PeerId, body: MarketBody, expect: MarketBodyKind[], timeoutMs: number): Promise<ValidatedMarketMessage> {
    const signal = AbortSignal.timeout(timeoutMs)
    let stream: Stream | undefined
    try {
      stream = await this.components.connectionManager.openStream(peer, MARKET_PROTOCOL, { signal })
      const lp = lpStream(stream, { maxDataLength: MAX_MARKET_DIRECT_BYTES })
      await lp.write(await this.seal(body), { signal })
      const reply = await lp.read({ signal })
      const v = await this.validateDirect(reply.subarray(), peer, [...expect, 'ack'])
      await stream.close({ signal }).catch(() => {})
      if (v.kind === 'ack' && !expect.includes('ack')) throw new DirectExchangeError(`peer ${peer} refused the message: ${v.message.ack?.code ?? ''}`)
      return v
    } catch (err: any) {
      stream?.abort(err)
      if (err?.name === 'DirectExchangeError') throw err
      throw new DirectExchangeError(`market exchange with ${peer} failed: ${err?.message ?? err}`)
    }
  }

  private async validateDirect (bytes: Uint8Array, from: PeerId, expect: MarketBodyKind[]): Promise<ValidatedMarketMessage> {
    return validateMarketMessage({
      now: Date.now(),
      trustedAuthorities: this.init.trustedAuthorities,
      replay: this.replay,
      certificates: this.certs,
      maxBytes: MAX_MARKET_DIRECT_BYTES,
      expect,
      from
    }, bytes)
  }

  /**
   * Inbound market stream: one message, one answer. The message's own
   * certificate proves fleet membership (the stream may open before
   * admission finished on a fresh connection).
   */
  private async onStream (stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.directTimeoutMs)
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_MARKET_DIRECT_BYTES })
      const bytes = await lp.read({ signal })
      let reply: MarketBody
      try {
        const v = await this.validateDirect(bytes.subarray(), connection.remotePeer, ['award', 'heartbeat', 'cancel', 'release', 'complete'])
        reply = this.onDirect(v)
      } catch (err: any) {
        this.log('refused market message from %p - %s', connection.remotePeer, err?.message ?? err)
        reply = { ack: { ok: false, code: err?.code ?? 'ERR_UNKNOWN' } }
      }
      await lp.write(await this.seal(reply), { signal })
      await stream.close({ signal }).catch(() => {})
    } catch (err: any) {
      this.log('market stream from %p failed - %s', connection.remotePeer, err?.message ?? err)
      stream.abort(err)
    }
  }

  private onDirect (v: ValidatedMarketMessage): MarketBody {
    const m = v.message
    if (m.award != null) return this.onAward(v)
    if (m.heartbeat != null) return this.onHeartbeat(v)
    if (m.cancel != null) return this.onCancel(v)
    if (m.release != null) return this.onRelease(v)
    if (m.complete != null) return this.onComplete(v)
    return { ack: { ok: false, code: 'ERR_UNEXPECTED_MESSAGE' } }
  }

  // ---------------------------------------------------------------- requester

  async submit (spec: JobSpec, options: { signal?: AbortSignal } = {}): Promise<JobResult> {
    if (!this.started || this.own == null) throw new MarketNotStartedError('the market service is not started; start the node first')
    const now = Date.now()
    const job = this.makeJob(spec, now, this.own.region)
    if (this.jobsById.has(job.id)) throw new InvalidJobError(`a job with id ${job.id} is already running`)
    options.signal?.throwIfAborted()
    const promise = new Promise<JobResult>((resolve, reject) => { job.resolve = resolve; job.reject = reject })
    this.jobsById.set(job.id, job)
    this.join(bidsTopic(job.region), 'bid', job.region)
    job.deadlineTimer = setTimeout(() => { this.endJob(job, 'failed', 'deadline') }, job.terms.deadline - now)
    const onAbort = (): void => { this.cancel(job.id, 'aborted by its signal') }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    void promise.finally(() => options.signal?.removeEventListener('abort', onAbort)).catch(() => {})
    void this.runJob(job).catch(err => { this.log.error('job %s failed to run - %e', job.id, err) })
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
    const bidWindowMs = spec.bidWindowMs ?? this.bidWindowMs
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
    await this.publish(offersTopic(job.region), {
      offer: {
        jobId: job.id,
        requester: this.components.peerId.toMultihash().bytes,
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
    this.log('job %s %s%s', job.id, state, reason != null ? ` (${reason})` : '')
    this.safeDispatchEvent('job', { detail })
  }

  private emitLease (lease: RequesterLease, reason?: string): void {
    const detail: LeaseEvent = {
      leaseId: lease.leaseId,
      jobId: lease.job.id,
      shardIndex: lease.slot.shardIndex,
      replica: lease.slot.replica,
      side: 'requester',
      requester: this.components.peerId.toString(),
      worker: lease.workerStr,
      state: lease.state,
      reason,
      at: Date.now()
    }
    this.safeDispatchEvent('lease', { detail })
  }

  private onBid (v: ValidatedMarketMessage): void {
    const bid = v.message.bid
    if (bid == null) return
    const job = this.jobsById.get(bid.jobId)
    if (job == null || !ACTIVE_JOB.has(job.state)) return
    const bidder = v.signer.toString()
    const reputation = this.init.reputation?.(bidder) ?? DEFAULT_REPUTATION
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
    this.safeDispatchEvent('bid', { detail })
    if (!job.rtts.has(bidder) && this.components.ping != null) {
      job.rtts.set(bidder, NaN)
      const signal = AbortSignal.any([job.abort.signal, AbortSignal.timeout(Math.max(200, job.bidWindowMs))])
      void this.components.ping.ping(v.signer, { signal }).then(ms => {
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
    let window = this.reofferWindowMs
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
          score: { weights: this.init.weights, unknownRttMs: this.init.unknownRttMs ?? UNKNOWN_RTT_MS },
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
          window = Math.min(window * 2, this.reofferWindowMs * 8)
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
        const reply = await this.exchange(worker, {
          award: {
            jobId: job.id,
            leaseId: lease.leaseId,
            shardIndex: slot.shardIndex,
            replica: slot.replica,
            units: BigInt(slot.units),
            pricePerUnit,
            leaseTimeoutMs: this.leaseTimeoutMs,
            deadline: BigInt(job.terms.deadline),
            modelCid: job.modelCid,
            mode: job.mode,
            shardCount: job.terms.shardUnits.length
          }
        }, ['accept', 'decline'], this.awardTimeoutMs)
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
    await this.exchange(lease.worker, { cancel: { jobId: lease.job.id, leaseId: lease.leaseId, reason: reason.slice(0, 200) } }, ['ack'], this.directTimeoutMs)
      .catch(err => { this.log('cancel of lease %s at %p failed - %s', lease.leaseId, lease.worker, err?.message ?? err) })
  }

  private heartbeatRound (): void {
    const now = Date.now()
    const byWorker = new Map<string, RequesterLease[]>()
    for (const lease of this.leasesById.values()) {
      if (lease.state !== 'active') continue
      if (now - lease.lastHeartbeat > this.leaseTimeoutMs) {
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
      void this.exchange(worker, { heartbeat: { leaseIds: leases.map(l => l.leaseId) } }, ['heartbeat'], Math.min(this.directTimeoutMs, this.leaseTimeoutMs))
        .then(reply => {
          const heldIds = new Set(reply.message.heartbeat?.leaseIds ?? [])
          const t = Date.now()
          for (const lease of leases) {
            if (lease.state !== 'active') continue
            if (heldIds.has(lease.leaseId)) lease.lastHeartbeat = t
            else this.loseLease(lease, 'lost', 'the worker no longer holds the lease')
          }
        }, err => { this.log('heartbeat to %p failed - %s', worker, err?.message ?? err) })
        .finally(() => { this.heartbeatsInFlight.delete(workerStr) })
    }
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail
    for (const lease of [...this.leasesById.values()]) {
      if ((lease.state === 'active' || lease.state === 'awarded') && lease.worker.equals(peer)) {
        this.loseLease(lease, 'lost', 'disconnected')
      }
    }
  }

  private onComplete (v: ValidatedMarketMessage): MarketBody {
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

  private onRelease (v: ValidatedMarketMessage): MarketBody {
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
      if (this.started) void this.sendCancel(lease, `job ${state}`)
    }
    this.setJobState(job, state, reason)
    this.jobsById.delete(job.id)
    this.leave(bidsTopic(job.region))
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

  // ---------------------------------------------------------------- worker

  isBidding (): boolean {
    return this.worker != null && this.started && !this.draining && (this.availability?.allowed ?? true)
  }

  heldLeases (): HeldLease[] {
    return [...this.held.values()].map(h => ({ ...h.view, startedAt: h.startedAt }))
  }

  private readonly onVehicleState = (): void => { this.evaluateAvailability() }

  private evaluateAvailability (): void {
    const source = this.worker?.vehicleState
    if (source == null) return
    const state = source.current()
    const decision = isWorkAllowed(state, this.worker?.availability)
    const changed = this.availability == null || this.availability.allowed !== decision.allowed || this.availability.reason !== decision.reason
    const wasAllowed = this.availability?.allowed
    this.availability = decision
    if (changed) {
      this.log('availability: %s (%s)', decision.allowed ? 'allowed' : 'not allowed', decision.reason)
      this.safeDispatchEvent('availability', { detail: { ...decision, state, at: Date.now() } })
    }
    if (!decision.allowed && (wasAllowed ?? true) && this.held.size > 0) {
      void this.releaseAll(`drained: ${decision.reason}`)
    }
  }

  async drain (reason = 'drained by the operator'): Promise<void> {
    this.draining = true
    await this.releaseAll(reason)
  }

  private async releaseAll (reason: string): Promise<void> {
    const leases = [...this.held.values()]
    await Promise.allSettled(leases.map(async wl => {
      if (!this.endHeld(wl, 'released', reason)) return
      await this.exchange(wl.requester, { release: { jobId: wl.view.jobId, leaseId: wl.view.leaseId, reason: reason.slice(0, 200) } }, ['ack'], this.directTimeoutMs)
        .catch(err => { this.log('release of %s to %p failed - %s', wl.view.leaseId, wl.requester, err?.message ?? err) })
    }))
  }

  private situation (): Parameters<typeof decideBid>[1] {
    const w = this.worker as WorkerInit
    return {
      region: this.own?.region ?? '',
      held: this.held.size,
      maxConcurrent: w.maxConcurrentLeases ?? MAX_CONCURRENT_LEASES,
      pricing: w.pricing ?? {},
      power: w.power,
      availability: this.availability,
      draining: this.draining || !this.started,
      reputation: w.reputation ?? DEFAULT_REPUTATION,
      estimate: { msPerUnit: DEFAULT_MS_PER_UNIT, setupMs: DEFAULT_UNCACHED_SETUP_MS, modelCached: false }
    }
  }

  private async onOffer (v: ValidatedMarketMessage): Promise<void> {
    const offer = v.message.offer
    if (offer == null || this.worker == null || this.own == null) return
    const requesterStr = v.signer.toString()
    if (v.signer.equals(this.components.peerId)) return
    this.offers.set(offer.jobId, { offer, requester: v.signer, requesterStr })
    this.safeDispatchEvent('offer', { detail: { jobId: offer.jobId, requester: requesterStr, region: offer.region, round: offer.round, at: Date.now() } })
    const previous = this.myBids.get(offer.jobId)
    if (previous != null && previous.round >= offer.round) return
    const open = offer.openShards.length > 0 ? offer.openShards : offer.shardUnits.map((_, i) => i)
    const situation = this.situation()
    if (this.worker.estimate != null) situation.estimate = this.worker.estimate(offer.modelCid)
    const now = Date.now()
    const decision = decideBid({
      jobId: offer.jobId,
      region: offer.region,
      openShardUnits: open.map(i => Number(offer.shardUnits[i] ?? 0n)),
      maxPricePerUnit: offer.maxPricePerUnit,
      deadline: Number(offer.deadline),
      minReputation: offer.minReputation
    }, situation, now)
    if (!decision.bid) {
      this.safeDispatchEvent('bid', { detail: { jobId: offer.jobId, bidder: this.components.peerId.toString(), side: 'skipped', reason: decision.reason, at: now } })
      return
    }
    this.myBids.set(offer.jobId, { round: offer.round, pricePerUnit: decision.pricePerUnit })
    await this.publish(bidsTopic(this.own.region), {
      bid: {
        jobId: offer.jobId,
        bidder: this.components.peerId.toMultihash().bytes,
        pricePerUnit: decision.pricePerUnit,
        msPerUnit: decision.msPerUnit,
        setupMs: Math.round(decision.setupMs),
        capacity: decision.capacity,
        modelCached: decision.modelCached,
        role: this.own.role === 'vehicle' ? BidderRole.VEHICLE : BidderRole.STATION,
        round: offer.round
      }
    })
    this.safeDispatchEvent('bid', { detail: { jobId: offer.jobId, bidder: this.components.peerId.toString(), side: 'sent', pricePerUnit: decision.pricePerUnit, capacity: decision.capacity, at: Date.now() } })
  }

  private onAward (v: ValidatedMarketMessage): MarketBody {
    const a = v.message.award
    if (a == null) return { ack: { ok: false, code: 'ERR_UNEXPECTED_MESSAGE' } }
    const decline = (reason: string): MarketBody => {
      this.log('declined lease %s of job %s - %s', a.leaseId, a.jobId, reason)
      return { decline: { jobId: a.jobId, leaseId: a.leaseId, reason } }
    }
    const w = this.worker
    if (w == null) return decline('this node is not a worker')
    const known = this.offers.get(a.jobId)
    if (known == null) return decline('no offer known for this job')
    if (!known.requester.equals(v.signer)) return decline('the award does not come from the job\'s requester')
    if (this.held.has(a.leaseId)) return { accept: { jobId: a.jobId, leaseId: a.leaseId } }
    if (!this.isBidding()) return decline(this.draining ? 'draining' : `unavailable: ${this.availability?.reason ?? ''}`)
    const max = w.maxConcurrentLeases ?? MAX_CONCURRENT_LEASES
    if (this.held.size >= max) return decline(`at capacity (${this.held.size}/${max})`)
    if (w.power != null && decideBid({ jobId: a.jobId, region: this.own?.region ?? '', openShardUnits: [1], maxPricePerUnit: Infinity, deadline: Infinity, minReputation: 0 }, this.situation(), Date.now()).bid === false) {
      return decline('site power budget is spent')
    }
    const myBid = this.myBids.get(a.jobId)
    if (myBid != null && a.pricePerUnit < myBid.pricePerUnit) return decline(`price ${a.pricePerUnit} is below the bid's ${myBid.pricePerUnit}`)
    for (const h of this.held.values()) {
      if (h.view.jobId === a.jobId && h.view.shardIndex === a.shardIndex) return decline('already holds a replica of this shard')
    }
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
      deadline: Number(a.deadline)
    }
    const now = Date.now()
    const wl: HeldWorkerLease = {
      view,
      requester: known.requester,
      controller: new AbortController(),
      lastHeartbeat: now,
      timeoutMs: a.leaseTimeoutMs > 0 ? a.leaseTimeoutMs : this.leaseTimeoutMs,
      startedAt: now,
      ended: false
    }
    this.held.set(a.leaseId, wl)
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
      worker: this.components.peerId.toString(),
      state,
      reason,
      at: Date.now()
    }
    this.log('lease %s %s%s', wl.view.leaseId, state, reason != null ? ` (${reason})` : '')
    this.safeDispatchEvent('lease', { detail })
  }

  /** Ends a held lease once; returns false if it had ended already. */
  private endHeld (wl: HeldWorkerLease, state: LeaseState, reason?: string): boolean {
    if (wl.ended) return false
    wl.ended = true
    this.held.delete(wl.view.leaseId)
    wl.controller.abort(new Error(reason ?? state))
    this.emitHeld(wl, state, reason)
    return true
  }

  private async runLease (wl: HeldWorkerLease): Promise<void> {
    if (wl.ended || this.worker == null) return
    const t0 = Date.now()
    let result: Uint8Array<ArrayBuffer>
    try {
      const out = await this.worker.onLease({ ...wl.view }, wl.controller.signal)
      result = out instanceof Uint8Array ? new Uint8Array(out) : new Uint8Array()
    } catch (err: any) {
      if (wl.ended) return
      const reason = `failed: ${String(err?.message ?? err).slice(0, 180)}`
      this.endHeld(wl, 'released', reason)
      await this.exchange(wl.requester, { release: { jobId: wl.view.jobId, leaseId: wl.view.leaseId, reason } }, ['ack'], this.directTimeoutMs).catch(() => {})
      return
    }
    if (wl.ended) return
    if (result.byteLength > MAX_RESULT_BYTES) {
      const reason = `result is ${result.byteLength} bytes, over ${MAX_RESULT_BYTES}`
      this.endHeld(wl, 'released', reason)
      await this.exchange(wl.requester, { release: { jobId: wl.view.jobId, leaseId: wl.view.leaseId, reason } }, ['ack'], this.directTimeoutMs).catch(() => {})
      return
    }
    const computeMs = Math.min(0xffffffff, Date.now() - t0)
    for (let attempt = 0; attempt < 3 && !wl.ended; attempt++) {
      try {
        const reply = await this.exchange(wl.requester, { complete: { jobId: wl.view.jobId, leaseId: wl.view.leaseId, result, computeMs } }, ['ack'], this.directTimeoutMs)
        if (reply.message.ack?.ok === true) this.endHeld(wl, 'completed')
        else this.endHeld(wl, 'cancelled', `the requester refused the result: ${reply.message.ack?.code ?? ''}`)
        return
      } catch (err: any) {
        this.log('completion of %s not delivered - %s', wl.view.leaseId, err?.message ?? err)
        await sleep(Math.min(1000, wl.timeoutMs / 3))
      }
    }
    this.endHeld(wl, 'expired', 'could not deliver the result to the requester')
  }

  private onHeartbeat (v: ValidatedMarketMessage): MarketBody {
    const ids = v.message.heartbeat?.leaseIds ?? []
    const now = Date.now()
    const heldIds: string[] = []
    for (const id of ids) {
      const wl = this.held.get(id)
      if (wl == null || !wl.requester.equals(v.signer)) continue
      wl.lastHeartbeat = now
      heldIds.push(id)
    }
    return { heartbeat: { leaseIds: heldIds } }
  }

  private onCancel (v: ValidatedMarketMessage): MarketBody {
    const c = v.message.cancel
    if (c == null) return { ack: { ok: false, code: 'ERR_UNEXPECTED_MESSAGE' } }
    for (const wl of [...this.held.values()]) {
      if (!wl.requester.equals(v.signer) || wl.view.jobId !== c.jobId) continue
      if (c.leaseId !== '' && c.leaseId !== wl.view.leaseId) continue
      this.endHeld(wl, 'cancelled', c.reason)
    }
    return { ack: { ok: true, code: '' } }
  }

  private workerTick (): void {
    const now = Date.now()
    for (const wl of [...this.held.values()]) {
      if (now - wl.lastHeartbeat > wl.timeoutMs) this.endHeld(wl, 'expired', `requester gone: no heartbeat for ${now - wl.lastHeartbeat} ms`)
    }
    for (const [jobId, k] of this.offers) {
      if (Number(k.offer.deadline) < now) {
        this.offers.delete(jobId)
        this.myBids.delete(jobId)
      }
    }
  }
}
