import {
  bidsTopic, InvalidConfigError, MARKET_PROTOCOL, MAX_BID_BYTES, MAX_MARKET_DIRECT_BYTES, MAX_OFFER_BYTES, NotAdmittedError, SignerMismatchError, verifyCertificate
} from '@fleetmesh/protocol'
import { serviceCapabilities, serviceDependencies, TypedEventEmitter } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { KeptStream } from './kept-streams.js'
import { PeerBudgets } from './budgets.js'
import {
  AWARD_BUDGET, AWARD_TIMEOUT_MS, BID_BUDGET, BID_WINDOW_MS, DEFAULT_REPUTATION, DIRECT_BUDGET, DIRECT_CONCURRENCY_PER_PEER, DIRECT_TIMEOUT_MS, HEARTBEAT_INTERVAL_MS,
  KEPT_STREAM_IDLE_MS, KEPT_STREAMS_PER_PEER, LEASE_TIMEOUT_MS, MAX_BUDGET_PEERS, MAX_KEPT_STREAMS, MAX_MARKET_STREAMS, MAX_REPLAY_ENTRIES, MESSAGE_TTL_MS, NO_BID_BUDGET, OFFER_BUDGET, REOFFER_WINDOW_MS
} from './constants.js'
import { DirectExchangeError, RateLimitedError, UnsignedGossipError } from './errors.js'
import { KeptStreams } from './kept-streams.js'
import { CertificateCache, ReplayWindow, sealMarketMessage, validateMarketMessage, validationOutcome } from './messages.js'
import { MarketMetrics } from './metrics.js'
import { MarketRequester } from './requester.js'
import { MarketWorker } from './worker.js'
import type { MarketContext, MarketTimings } from './context.js'
import type {
  HeldLease, JobResult, JobSpec, JobState, LeaseHandler, LeaseHandlerOptions, Market, MarketComponents, MarketEvents, MarketInit, MarketLedger
} from './index.js'
import type { MarketBody, MarketBodyKind, ValidatedMarketMessage } from './messages.js'
import type { VerifiedCertificate } from '@fleetmesh/protocol'
import type { TopicValidatorResult } from '@libp2p/gossipsub'
import type { Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'

/**
 * The market service: a thin shell that composes the requester side
 * (requester.ts: this node's jobs) and, when `init.worker` is given, the
 * worker side (worker.ts: bids and leases). The shell owns start/stop, the
 * topics and their gossip validators, signing, and the direct market
 * stream, whose messages it dispatches to the part they are for. See the
 * package docs in index.ts. Not exported from the package; tests import it.
 */
export class MarketService extends TypedEventEmitter<MarketEvents> implements Market, Startable {
  readonly [Symbol.toStringTag] = '@fleetmesh/market'
  readonly [serviceCapabilities]: string[] = ['@fleetmesh/market']
  readonly [serviceDependencies]: string[] = ['@libp2p/pubsub', '@fleetmesh/admission']

  private readonly components: MarketComponents
  private readonly init: MarketInit
  private readonly log: Logger
  private readonly replay: ReplayWindow
  private readonly certs = new CertificateCache()
  private readonly validated = new WeakMap<object, ValidatedMarketMessage>()
  private readonly topicRefs = new Map<string, number>()
  private readonly timings: MarketTimings
  private readonly messageTtlMs: number
  private readonly requester: MarketRequester
  private readonly worker?: MarketWorker
  private readonly budgets: PeerBudgets
  private readonly metrics: MarketMetrics
  /** outbound market streams kept between a requester's messages to a worker (award, heartbeats, cancel) */
  private readonly kept: KeptStreams
  private started = false
  private own?: VerifiedCertificate
  private ledger?: MarketLedger

  constructor (components: MarketComponents, init: MarketInit) {
    super()
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('fleetmesh:market')
    this.replay = new ReplayWindow(init.maxReplayEntries ?? MAX_REPLAY_ENTRIES)
    this.timings = {
      bidWindowMs: init.bidWindowMs ?? BID_WINDOW_MS,
      reofferWindowMs: init.reofferWindowMs ?? REOFFER_WINDOW_MS,
      heartbeatIntervalMs: init.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS,
      leaseTimeoutMs: init.leaseTimeoutMs ?? LEASE_TIMEOUT_MS,
      awardTimeoutMs: init.awardTimeoutMs ?? AWARD_TIMEOUT_MS,
      directTimeoutMs: init.directTimeoutMs ?? DIRECT_TIMEOUT_MS
    }
    this.messageTtlMs = init.messageTtlMs ?? MESSAGE_TTL_MS
    this.kept = new KeptStreams({ idleMs: Math.min(KEPT_STREAM_IDLE_MS, this.timings.directTimeoutMs / 2), perPeer: KEPT_STREAMS_PER_PEER, max: MAX_KEPT_STREAMS })
    const b = init.budgets ?? {}
    this.budgets = new PeerBudgets({
      offer: b.offer ?? OFFER_BUDGET,
      bid: b.bid ?? BID_BUDGET,
      award: b.award ?? AWARD_BUDGET,
      noBid: b.noBid ?? NO_BID_BUDGET,
      direct: b.direct ?? DIRECT_BUDGET,
      directConcurrency: b.directConcurrency ?? DIRECT_CONCURRENCY_PER_PEER,
      maxPeers: b.maxPeers ?? MAX_BUDGET_PEERS
    })
    let metrics
    // optional: libp2p's components throw on a component that is not configured
    try { metrics = components.metrics } catch {}
    this.metrics = new MarketMetrics(metrics)
    if (components.pubsub == null) throw new InvalidConfigError('the market service needs the gossipsub service under the name "pubsub"')
    if (components.admission == null) throw new InvalidConfigError('the market service needs the admission service under the name "admission"')
    const ctx: MarketContext = {
      components,
      init,
      log: this.log,
      timings: this.timings,
      metrics: this.metrics,
      own: () => this.own,
      reputation: (peerId) => this.init.reputation?.(peerId) ?? this.ledger?.reputation(peerId) ?? DEFAULT_REPUTATION,
      ledger: () => this.ledger,
      isStarted: () => this.started,
      emit: (type, detail) => { this.safeDispatchEvent(type, { detail } as any) },
      join: (topic, kind, region) => { this.join(topic, kind, region) },
      leave: (topic) => { this.leave(topic) },
      publish: async (topic, body) => { await this.publish(topic, body) },
      exchange: async (peer, body, expect, timeoutMs) => this.exchange(peer, body, expect, timeoutMs),
      openKeptStream: async (peer, signal) => this.openKeptStream(peer, signal)
    }
    this.requester = new MarketRequester(ctx)
    if (init.worker != null) this.worker = new MarketWorker(ctx, init.worker)
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
    // optional: libp2p's components throw on a service that is not configured
    try { this.ledger = this.components.ledger } catch { this.ledger = undefined }
    await this.components.registrar.handle(MARKET_PROTOCOL, (stream, connection) => { void this.onStream(stream, connection) }, {
      maxInboundStreams: MAX_MARKET_STREAMS,
      maxOutboundStreams: MAX_MARKET_STREAMS,
      runOnLimitedConnection: true
    })
    this.components.pubsub.addEventListener('gossipsub:message', this.onGossip)
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    this.requester.start()
    this.started = true
    // who carries the home region's bids: stations (the region's backbone, which
    // every vehicle connects to) and nodes that are not workers (every node can
    // submit jobs: workers then already know this node listens when a job's offer
    // goes out). A vehicle worker publishes its bids without joining the topic
    // (gossipsub sends them to its peers that did: its stations, a connected
    // requester), and joins it only while a job of its own runs there
    // (requester.ts): every vehicle validating and forwarding every bid of its
    // region made a job's bids reach the requester over 1.4–6.6 s (bench/scale,
    // 100 nodes, 49 bids a job)
    if (this.worker == null || this.own.role === 'station') this.join(bidsTopic(this.own.region), 'bid', this.own.region)
    await this.worker?.start(this.own.region)
    this.log('started (%s in %s, worker %s)', this.own.role, this.own.region, this.worker != null)
  }

  /** Graceful part of stopping, while connections are still up: cancel own jobs, release held leases. */
  async beforeStop (): Promise<void> {
    if (!this.started) return
    this.requester.cancelAll('the requester is stopping')
    await this.worker?.beforeStop()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.requester.stop('the requester stopped')
    await this.worker?.stop()
    this.kept.clear()
    this.components.pubsub.removeEventListener('gossipsub:message', this.onGossip)
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    for (const topic of [...this.topicRefs.keys()]) {
      this.topicRefs.delete(topic)
      this.components.pubsub.topicValidators.delete(topic)
      try { this.components.pubsub.unsubscribe(topic) } catch {}
    }
    await this.components.registrar.unhandle(MARKET_PROTOCOL).catch(() => {})
  }

  // ---------------------------------------------------------------- the parts' API

  async submit (spec: JobSpec, options: { signal?: AbortSignal } = {}): Promise<JobResult> {
    return this.requester.submit(spec, options)
  }

  cancel (jobId: string, reason?: string): boolean {
    return this.requester.cancel(jobId, reason)
  }

  failJob (jobId: string, error: Error): boolean {
    return this.requester.failJob(jobId, error)
  }

  /** See `Market.finishPlacement`. */
  finishPlacement (jobId: string): boolean {
    return this.requester.finishPlacement(jobId)
  }

  releaseLease (leaseId: string, reason: string, options?: { reaward?: boolean }): boolean {
    return this.requester.releaseLease(leaseId, reason, options)
  }

  jobs (): Array<{ jobId: string, state: JobState, round: number, region: string, slots: number, done: number }> {
    return this.requester.jobs()
  }

  isBidding (): boolean {
    return this.worker?.isBidding() ?? false
  }

  heldLeases (): HeldLease[] {
    return this.worker?.heldLeases() ?? []
  }

  heldLease (leaseId: string): HeldLease | undefined {
    return this.worker?.heldLease(leaseId)
  }

  handleLeases (handler: LeaseHandler, options?: LeaseHandlerOptions): void {
    if (this.worker == null) this.log('handleLeases on a node that is not a worker: it never bids, the handler is not used')
    this.worker?.handleLeases(handler, options)
  }

  unhandleLeases (): void {
    this.worker?.unhandleLeases()
  }

  async drain (reason?: string): Promise<void> {
    await this.worker?.drain(reason)
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    this.requester.onDisconnect(evt.detail)
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
   * message must be signed by its gossip author, the author must be within
   * its per-peer budget for the kind (else ignore: an honest forwarder may
   * pass a flood on), and the market message must pass
   * {@link validateMarketMessage}. Each error carries the action chosen
   * where it was thrown; {@link validationOutcome} maps it to gossipsub's
   * result, the score effect and the metric label. Never throws.
   */
  private async validateGossip (topic: string, kind: 'offer' | 'bid', region: string, source: PeerId, msg: any): Promise<TopicValidatorResult> {
    let error: unknown
    try {
      const { admission } = this.components
      if (!admission.isAdmitted(source)) throw new NotAdmittedError(`${kind} forwarded by ${source}, which is not admitted`, { action: admission.isRefused(source) ? 'reject' : 'ignore' })
      if (msg?.type !== 'signed' || !(msg.data instanceof Uint8Array) || msg.from == null) throw new UnsignedGossipError(`${kind} gossip is not signed by its author`)
      const author = msg.from.toString()
      if (!this.budgets.take(kind, author, Date.now())) throw new RateLimitedError(`${kind}s from ${author} are over its budget`)
      const v = await validateMarketMessage({
        now: Date.now(),
        trustedAuthorities: this.init.trustedAuthorities,
        replay: this.replay,
        certificates: this.certs,
        maxBytes: kind === 'offer' ? MAX_OFFER_BYTES : MAX_BID_BYTES,
        expect: [kind],
        region
      }, msg.data)
      if (!v.signer.equals(msg.from)) throw new SignerMismatchError(`${kind} signed by ${v.signer} was published by ${msg.from}`)
      this.validated.set(msg, v)
    } catch (err: any) {
      error = err ?? new Error('validation failed')
    }
    const outcome = validationOutcome(error)
    this.metrics.gossipValidation(kind, outcome.verdict, outcome.code)
    if (outcome.verdict !== 'accept') {
      this.log('%s from %p on %s: %s (%s)', kind, source, topic, outcome.verdict, outcome.code)
      this.safeDispatchEvent('gossip:rejected', { detail: { topic, from: source.toString(), verdict: outcome.verdict, code: outcome.code, at: Date.now() } })
    }
    return outcome.result
  }

  private readonly onGossip = (evt: CustomEvent<{ propagationSource: PeerId, msg: any }>): void => {
    const v = this.validated.get(evt.detail.msg)
    if (v == null) return
    this.validated.delete(evt.detail.msg)
    try {
      if (v.kind === 'offer') void this.worker?.onOffer(v).catch(err => { this.log.error('offer handling failed - %e', err) })
      else if (v.kind === 'bid') this.requester.onBid(v)
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

  /**
   * One message, one answer, over a market stream. A requester's award,
   * heartbeat and cancel (what a worker answers the same way however often
   * it gets it) go over a kept stream to the peer when there is one (no
   * multistream-select round trip first), and leave theirs in the pool
   * afterwards; a kept stream that fails is dropped and the message sent
   * once more on a new stream. Everything else opens a stream and closes it.
   */
  private async exchange (peer: PeerId, body: MarketBody, expect: MarketBodyKind[], timeoutMs: number): Promise<ValidatedMarketMessage> {
    const signal = AbortSignal.timeout(timeoutMs)
    const keep = 'award' in body || 'heartbeat' in body || 'cancel' in body
    const reused = keep ? this.kept.take(peer) : undefined
    if (reused != null) {
      try {
        // sealed for each try: the worker's replay window refuses a message it has read once
        return await this.exchangeOn(reused, await this.seal(body), peer, expect, keep, signal)
      } catch (err: any) {
        // the worker answers these idempotently: an award it already holds is accepted again
        if (err?.name === 'RateLimitedError' || err?.name === 'DirectExchangeError' || signal.aborted) throw err
      }
    }
    let kept: KeptStream | undefined
    try {
      kept = KeptStreams.wrap(peer, await this.components.connectionManager.openStream(peer, MARKET_PROTOCOL, { signal }))
    } catch (err: any) {
      throw new DirectExchangeError(`market exchange with ${peer} failed: ${err?.message ?? err}`)
    }
    try {
      return await this.exchangeOn(kept, await this.seal(body), peer, expect, keep, signal)
    } catch (err: any) {
      if (err?.name === 'DirectExchangeError' || err?.name === 'RateLimitedError') throw err
      throw new DirectExchangeError(`market exchange with ${peer} failed: ${err?.message ?? err}`)
    }
  }

  /** Writes `sealed` on the stream and reads its answer; the stream goes back to the pool (`keep`) or is closed. */
  private async exchangeOn (kept: KeptStream, sealed: Uint8Array, peer: PeerId, expect: MarketBodyKind[], keep: boolean, signal: AbortSignal): Promise<ValidatedMarketMessage> {
    let v: ValidatedMarketMessage
    try {
      await kept.lp.write(sealed, { signal })
      const reply = await kept.lp.read({ signal })
      v = await this.validateDirect(reply.subarray(), peer, [...expect, 'ack'])
    } catch (err) {
      kept.stream.abort(err as Error)
      throw err
    }
    if (keep) this.kept.put(kept)
    else await kept.stream.close({ signal }).catch(() => {})
    if (v.kind === 'ack' && v.message.ack?.ok === false && v.message.ack.code === 'ERR_RATE_LIMITED') throw new RateLimitedError(`peer ${peer} refused the message: this node is over its budget there; slow down`)
    if (v.kind === 'ack' && !expect.includes('ack')) throw new DirectExchangeError(`peer ${peer} refused the message: ${v.message.ack?.code ?? ''}`)
    return v
  }

  /**
   * Opens a market stream to `peer` and keeps it for the next exchange (a
   * likely winner, during the bid window: its award then skips the stream's
   * multistream-select round trip). Errors are logged, never thrown.
   */
  private async openKeptStream (peer: PeerId, signal: AbortSignal): Promise<void> {
    try {
      this.kept.put(KeptStreams.wrap(peer, await this.components.connectionManager.openStream(peer, MARKET_PROTOCOL, { signal })))
    } catch (err: any) {
      this.log('opening a market stream to %p failed - %s', peer, err?.message ?? err)
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
   * Inbound market stream: one message, one answer, then the next message
   * on the same stream if the sender keeps it (a requester's award and
   * heartbeats to this worker, kept-streams.ts), each within
   * `directTimeoutMs`; the sender closing the stream, or sending nothing
   * for that long after an answer, ends it quietly. The message's own
   * certificate proves fleet membership (the stream may open before
   * admission finished on a fresh connection). Budgets first: a peer with
   * DIRECT_CONCURRENCY_PER_PEER streams in progress, or over its direct
   * message rate, is answered ERR_RATE_LIMITED (and the stream closed)
   * before its message is verified (before the first is read); awards and
   * NoBids have their own rates per signer.
   */
  private async onStream (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const slot = this.budgets.directInFlight.acquire(peer)
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_MARKET_DIRECT_BYTES })
      // one message and its answer at a time; a requester may send its next one on the same stream (kept-streams.ts)
      for (let n = 0; ; n++) {
        const signal = AbortSignal.timeout(this.timings.directTimeoutMs)
        let reply: MarketBody
        let refused = false
        try {
          if (!slot) throw new RateLimitedError(`${peer} has ${this.budgets.directInFlight.held(peer)} market streams in progress here, the most allowed`)
          // the first message's budget before it is read; a next one's once it came (nothing is written unasked)
          if (n === 0 && !this.budgets.take('direct', peer, Date.now())) throw new RateLimitedError(`direct market messages from ${peer} are over its budget`)
          let bytes
          try {
            bytes = await lp.read({ signal })
          } catch (err: any) {
            // the sender closed the stream before a next message (or kept it unused past the wait): it is done with it
            if (n > 0 || err?.name === 'UnexpectedEOFError' || stream.remoteWriteStatus !== 'writable') {
              await stream.close({ signal: AbortSignal.timeout(1000) }).catch(() => { stream.abort(err) })
              return
            }
            throw err
          }
          if (n > 0 && !this.budgets.take('direct', peer, Date.now())) throw new RateLimitedError(`direct market messages from ${peer} are over its budget`)
          const v = await this.validateDirect(bytes.subarray(), connection.remotePeer, ['award', 'heartbeat', 'cancel', 'release', 'complete', 'noBid'])
          if ((v.kind === 'award' || v.kind === 'noBid') && !this.budgets.take(v.kind, peer, Date.now())) throw new RateLimitedError(`${v.kind}s from ${peer} are over its budget`)
          reply = this.onDirect(v)
        } catch (err: any) {
          const { code } = validationOutcome(err)
          this.metrics.directRefused(code === 'OK' ? 'ERR_UNKNOWN' : code)
          this.log('refused market message from %p - %s', connection.remotePeer, err?.message ?? err)
          reply = { ack: { ok: false, code: err?.code ?? 'ERR_UNKNOWN' } }
          refused = true
        }
        await lp.write(await this.seal(reply), { signal })
        // a refusal ends the stream, as does a sender that does not keep it
        if (refused) {
          await stream.close({ signal }).catch(() => {})
          return
        }
      }
    } catch (err: any) {
      this.log('market stream from %p failed - %s', connection.remotePeer, err?.message ?? err)
      stream.abort(err)
    } finally {
      if (slot) this.budgets.directInFlight.release(peer)
    }
  }

  /** Dispatches a validated direct message to the part it is for and returns the answer. */
  private onDirect (v: ValidatedMarketMessage): MarketBody {
    const m = v.message
    if (m.release != null) return this.requester.onRelease(v)
    if (m.complete != null) return this.requester.onComplete(v)
    if (m.noBid != null) return this.requester.onNoBid(v)
    if (this.worker != null) {
      if (m.award != null) return this.worker.onAward(v)
      if (m.heartbeat != null) return this.worker.onHeartbeat(v)
      if (m.cancel != null) return this.worker.onCancel(v)
    } else {
      if (m.award != null) return { decline: { jobId: m.award.jobId, leaseId: m.award.leaseId, reason: 'this node is not a worker' } }
      if (m.heartbeat != null) return { heartbeat: { leaseIds: [] } }
      if (m.cancel != null) return { ack: { ok: true, code: '' } }
    }
    return { ack: { ok: false, code: 'ERR_UNEXPECTED_MESSAGE' } }
  }
}
