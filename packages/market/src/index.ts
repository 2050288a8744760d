/**
 * @packageDocumentation
 *
 * The fleetmesh market: requesters gossip signed job offers on their
 * region's offers topic, workers gossip signed bids on the region's bids
 * topic, and each requester runs the auction for its own jobs — no central
 * coordinator. Awards, accepts, heartbeats, releases, cancels and
 * completions go over a direct stream (`/fleetmesh/market/1.0.0`). Leases
 * are kept alive by heartbeats; a lease that expires, a dropped
 * connection, a release or a drained vehicle makes the requester re-award
 * the shard to the next best bid, or re-offer it. A job whose shard stays
 * unplaced (every worker of the region refused, or nobody took it within
 * `placementTimeoutMs`) fails with a `NoBidsError` saying why, built from
 * the workers' `NoBid` answers by {@link explainNoBids}. Vehicles bid only
 * while their owner's availability policy allows, and only with a vehicle
 * state source.
 *
 * Lease handling is registrar style: the service that runs shards (the
 * inference service) calls {@link Market.handleLeases} when it starts; a
 * worker with no handler does not bid.
 *
 * The auction ({@link planAwards}, {@link scoreBid}), the validators
 * ({@link validateMarketMessage}), the worker policy ({@link decideBid}),
 * the availability policy ({@link isWorkAllowed}) and the failure
 * explanation ({@link explainNoBids}) are pure functions.
 *
 * Score of a bid for a shard of `u` units (lower wins; ties by PeerId):
 * `wPrice·(price·u)/(maxPrice·u) + wLatency·(setupMs + msPerUnit·u + rttMs)/(deadline − submittedAt) + wReputation·(1 − reputation)`.
 *
 * @example
 *
 * ```TypeScript
 * import { createMeshNode } from '@fleetmesh/peer'
 * import { market } from '@fleetmesh/market'
 *
 * // a worker: bids on offers in its region once a lease handler is registered
 * const worker = await createMeshNode({ ...init, services: { market: market({ certificate, trustedAuthorities, worker: {} }) } })
 * worker.libp2p.services.market.handleLeases(async (lease, signal) => new TextEncoder().encode(`shard ${lease.shardIndex} done`), {
 *   canServe: (offer) => (offer.modelBytes ?? 0) > 100e6 ? { code: 'MODEL_TOO_LARGE', message: 'over this worker\'s 100 MB model store' } : undefined
 * })
 * // a requester
 * const result = await requester.libp2p.services.market.submit({ modelCid, shardUnits: [100, 100], maxPricePerUnit: 2 })
 * ```
 */

import { MarketService } from './market.js'
import type { AvailabilityDecision, AvailabilityPolicy, VehicleState, VehicleStateSource } from './availability.js'
import type { ScoreWeights } from './auction.js'
import type { BidRefusalCode } from './no-bids.js'
import type { PowerBudget, PricePolicy, ThroughputEstimate } from './policy.js'
import type { MarketBudgets } from './budgets.js'
import type { ComponentLogger, Libp2pEvents, Metrics, PeerId, PeerStore, PrivateKey, PublicKey, TypedEventEmitter, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar } from '@libp2p/interface-internal'

export * from './auction.js'
export * from './bid-draw.js'
export * from './availability.js'
export * from './policy.js'
export * from './errors.js'
export * from './constants.js'
export * from './no-bids.js'
export * from './budgets.js'
export * from './lease-bounds.js'
export {
  sealMarketMessage, validateMarketMessage, verdictFor, toTopicValidatorResult, bodyKind, checkOfferFields, checkOfferInputs, checkBidFields, checkNoBidFields,
  checkNoBid, ReplayWindow, CertificateCache, MARKET_BODY_KINDS, MARKET_ERROR_CODES, validationOutcome
} from './messages.js'
export type { MarketErrorCode, MarketValidationOutcome, MarketBody, MarketBodyKind, MarketValidationContext, MarketValidationVerdict, NoBidJobView, ValidatedMarketMessage, SealMarketInit } from './messages.js'
export { marketTopicScoreParams } from './score-params.js'

/** One model input of a job, as one micro-batch carries it. Plain data. */
export interface JobInput {
  name: string
  /** element type, named as onnxruntime names it: float32, float16, float64, int8, uint8, int16, uint16, int32, uint32, int64, uint64, bool */
  dtype: string
  /** shape of one micro-batch, at most MAX_OFFER_INPUT_RANK (16) dimensions */
  dims: number[]
}

/** What an offer asks of a worker, as `LeaseHandlerOptions.canServe` sees it before the worker bids. */
export interface OfferRequirements {
  jobId: string
  /** requester PeerId string */
  requester: string
  modelCid: string
  mode: 'data' | 'pipeline'
  /** model size, bytes (absent: the requester did not say) */
  modelBytes?: number
  /** largest single micro-batch input a lease will receive, bytes */
  maxFrameBytes?: number
  /** input shapes of one micro-batch */
  inputs?: JobInput[]
  /** the offer is a stateful session's (`JobSpec.session`) */
  session?: boolean
}

/** Why a lease handler refuses an offer: no bid, and the requester is told (`NoBid`). */
export interface BidRefusal {
  code: BidRefusalCode
  /** what is wrong, for the job's owner (at most MAX_MARKET_STRING_LENGTH characters are sent) */
  message: string
}

/** A lease as the worker's handler sees it. */
export interface WorkerLease {
  leaseId: string
  jobId: string
  /** requester PeerId string */
  requester: string
  shardIndex: number
  replica: number
  /** total shards of the job (stages, for a pipeline) */
  shardCount: number
  /** compute units of this shard */
  units: number
  /** credits per unit the requester pays */
  pricePerUnit: number
  modelCid: string
  mode: 'data' | 'pipeline'
  /** ms since the epoch */
  deadline: number
  /** the worker drops the lease when no requester heartbeat arrived for this long, ms (the requester's `leaseTimeoutMs`) */
  leaseTimeoutMs: number
  /** model size, bytes, as the offer stated it */
  modelBytes?: number
  /** largest single micro-batch input of this lease, bytes, as the offer stated it: bound frames by it */
  maxFrameBytes?: number
  /** input shapes of one micro-batch, as the offer stated them */
  inputs?: JobInput[]
  /** the lease is a stage of a stateful session (the offer's `session`): it counts against the worker's session limit from its award on */
  session?: boolean
}

/**
 * The shard work of a worker (the inference service registers one with
 * {@link Market.handleLeases}). Resolve with the result bytes (at most
 * MAX_RESULT_BYTES) when the shard is done; the worker then sends
 * `Complete` to the requester. Throw to hand the lease back (`Release`).
 * `signal` aborts when the lease ends early (cancelled, requester gone,
 * vehicle drained, service stopping). The worker's `lease` event with state
 * `active` is emitted before the handler is called.
 */
export type LeaseHandler = (lease: WorkerLease, signal: AbortSignal) => Promise<Uint8Array | undefined | void>

/** Options of {@link Market.handleLeases}. */
export interface LeaseHandlerOptions {
  /**
   * Called for each offer before the worker bids: return a refusal to not
   * bid (the requester gets a `NoBid` with its code and message), or
   * undefined to go on. A throw counts as an `UNSUPPORTED` refusal.
   * Called again for each award (with the leases held until then,
   * {@link Market.heldLeases}): a refusal then declines the award, so
   * bids made while the worker had room cannot over-commit it.
   */
  canServe?: (offer: OfferRequirements) => BidRefusal | undefined
}

/** The worker side of a market node. Omit it for a requester-only node. */
export interface WorkerInit {
  /**
   * runs each accepted lease's shard until a handler is registered with
   * {@link Market.handleLeases}, which takes precedence; with neither, the
   * worker does not bid
   */
  onLease?: LeaseHandler
  /** most leases held at once, all jobs together @default MAX_CONCURRENT_LEASES (4) */
  maxConcurrentLeases?: number
  /**
   * most leases one requester holds at once (past it: NoBid REQUESTER_LIMIT, awards declined)
   * @default ceil(REQUESTER_LEASE_SHARE (0.75) × maxConcurrentLeases): 3 of 4
   */
  maxLeasesPerRequester?: number
  /** asking price @default `{ basePricePerUnit: 1, loadFactor: 0.5 }` */
  pricing?: PricePolicy
  /** stations: the site power budget; capacity is limited to what fits in it */
  power?: PowerBudget
  /** vehicles: where the vehicle's state comes from; a vehicle without one never bids (`no vehicle state source`) */
  vehicleState?: VehicleStateSource
  /** vehicles: the owner's rule @default `{}` (parked with SoC ≥ 50 %, or charging; battery ≤ 45 °C) */
  availability?: AvailabilityPolicy
  /**
   * throughput estimate for a model (from the runtime's measured profile)
   *
   * @default `{ msPerUnit: DEFAULT_MS_PER_UNIT, setupMs: DEFAULT_UNCACHED_SETUP_MS, modelCached: false }`
   */
  estimate?: (modelCid: string) => ThroughputEstimate
  /** this worker's own reputation, 0..1, checked against an offer's minimum @default DEFAULT_REPUTATION (1) */
  reputation?: number
  /**
   * longest heartbeat timeout granted to a lease, ms, whatever the award
   * asks: a lease with no heartbeat for this long expires here and frees
   * its capacity @default MAX_LEASE_TIMEOUT_MS (10000)
   */
  maxLeaseTimeoutMs?: number
  /**
   * longest total life of a lease from its award, ms (it also ends at the
   * job's deadline, itself at most MAX_JOB_DEADLINE_MS away)
   * @default MAX_LEASE_LIFE_MS (1 h)
   */
  maxLeaseLifeMs?: number
}

/** Init of {@link market}. */
export interface MarketInit {
  /** this node's device certificate (carried in every market message) */
  certificate: Uint8Array
  /** fleet authorities whose certificates are accepted in market messages */
  trustedAuthorities: PublicKey[]
  /** bid on offers and run leases; omit for a requester-only node */
  worker?: WorkerInit
  /** default bid window of submitted jobs, ms @default BID_WINDOW_MS (500) */
  bidWindowMs?: number
  /** wait for bids after a re-offer, ms (doubles each round up to 8×) @default REOFFER_WINDOW_MS (500) */
  reofferWindowMs?: number
  /** requester → worker heartbeat interval, ms @default HEARTBEAT_INTERVAL_MS (1000) */
  heartbeatIntervalMs?: number
  /** a lease with no heartbeat through for this long is dead, ms @default LEASE_TIMEOUT_MS (3000) */
  leaseTimeoutMs?: number
  /** wait for Accept/Decline, ms @default AWARD_TIMEOUT_MS (5000) */
  awardTimeoutMs?: number
  /** other direct exchanges, ms @default DIRECT_TIMEOUT_MS (5000) */
  directTimeoutMs?: number
  /** lifetime of the messages this node sends, ms @default MESSAGE_TTL_MS (60000) */
  messageTtlMs?: number
  /** score weights @default DEFAULT_WEIGHTS (all 1) */
  weights?: Partial<ScoreWeights>
  /** RTT assumed for a bidder not pinged in time, or not connected to this node (only connected bidders are pinged), ms @default UNKNOWN_RTT_MS (500) */
  unknownRttMs?: number
  /** reputation of a bidder (PeerId string), 0..1 @default the `ledger` component's reputation, else DEFAULT_REPUTATION (1) */
  reputation?: (peerId: string) => number
  /**
   * the RTT to a peer (PeerId string) this node measured already, ms, or
   * undefined: a bidder with one is scored with it and not pinged during the
   * bid window (a ping per connected bidder held the early award until each
   * answered). `createMeshNode` passes the RTTs its discovery measures when
   * it admits a peer.
   *
   * @default the connection monitor's `rtt` of a connection to the bidder
   */
  knownRtt?: (peerId: string) => number | undefined
  /** replay window entries kept at most @default MAX_REPLAY_ENTRIES (100000) */
  maxReplayEntries?: number
  /**
   * per-peer budgets of inbound requests; gossip over a budget is ignored,
   * a direct message over it refused with ERR_RATE_LIMITED
   * @default OFFER_BUDGET, BID_BUDGET, AWARD_BUDGET, NO_BID_BUDGET, DIRECT_BUDGET, DIRECT_CONCURRENCY_PER_PEER, MAX_BUDGET_PEERS
   */
  budgets?: Partial<MarketBudgets>
}

/** The gossipsub service as far as the market uses it (@libp2p/gossipsub's GossipSub fits). */
export interface MarketPubSub {
  topicValidators: Map<string, (propagationSource: PeerId, msg: any) => any>
  subscribe(topic: string): void
  unsubscribe(topic: string): void
  publish(topic: string, data: Uint8Array): Promise<unknown>
  addEventListener(type: 'gossipsub:message', listener: (evt: CustomEvent<{ propagationSource: PeerId, msgId: string, msg: any }>) => void): void
  removeEventListener(type: 'gossipsub:message', listener: (evt: CustomEvent<{ propagationSource: PeerId, msgId: string, msg: any }>) => void): void
  getScore?(peerId: string): number
}

/** The admission service as far as the market uses it (@fleetmesh/peer's fits). */
export interface MarketAdmission {
  isAdmitted(peerId: PeerId): boolean
  isRefused(peerId: PeerId): boolean
  /** certificates of the admitted, connected peers: a requester counts the workers of a job's region from them */
  admitted?(): Array<{ peerId: PeerId, region: string }>
}

/**
 * The ledger as far as the market uses it (@fleetmesh/ledger's fits). The
 * funds methods are optional: a ledger without them neither checks nor
 * sets aside funds.
 */
export interface MarketLedger {
  /** a peer's reputation (PeerId string), 0..1 */
  reputation(peerId: string): number
  /**
   * worker: true if the requester (PeerId string) can pay `credits` as this
   * node's ledger sees it (grants + earned − spent); a worker asks it
   * before bidding on an offer, with the offer's maximum cost
   */
  canAfford?(peerId: string, credits: number): boolean
  /**
   * worker: one reconciliation session with a requester this node's ledger
   * sees short of funds, so that its grants and payments are known before
   * the worker refuses (a grant issued a moment ago has not reached every
   * worker yet)
   */
  reconcileWith?(peer: PeerId, options?: { signal?: AbortSignal }): Promise<unknown>
  /**
   * requester: sets a job's maximum cost (credits) aside when the job's
   * first shard is awarded
   *
   * @throws InsufficientFundsError when the requester's spendable balance does not cover it
   */
  commit?(jobId: string, maxCost: number): void
  /** requester: ends a job's commitment (the job failed or was cancelled; a completed job is released at settlement) */
  release?(jobId: string): void
}

/** The ping service as far as the market uses it (to measure bidders' RTT). */
export interface MarketPing {
  ping(peerId: PeerId, options?: { signal?: AbortSignal }): Promise<number>
}

/** What the market service needs from libp2p. */
export interface MarketComponents {
  peerId: PeerId
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  pubsub: MarketPubSub
  admission: MarketAdmission
  ping?: MarketPing
  /** a worker's bids carry its announced multiaddrs from here (`Bid.addrs`) */
  addressManager?: Pick<AddressManager, 'getAddresses'>
  /** a requester stores an unconnected winner's bid addresses here before it awards it */
  peerStore?: Pick<PeerStore, 'merge'>
  /** scores bidders when `MarketInit.reputation` is not given; a node without a ledger uses DEFAULT_REPUTATION */
  ledger?: MarketLedger
  /** the market registers its counters here when present (see metrics.ts) */
  metrics?: Metrics
}

/** What a job asks for. */
export interface JobSpec {
  /** @default a random UUID */
  jobId?: string
  /** CID of the model */
  modelCid: string
  /** @default 'data' */
  mode?: 'data' | 'pipeline'
  /** compute units of each shard (data) or stage (pipeline), each > 0 */
  shardUnits: number[]
  /** most credits per compute unit paid */
  maxPricePerUnit: number
  /** ms since the epoch, at most MAX_JOB_DEADLINE_MS (1 h) after submission @default now + JOB_DEADLINE_MS (5 min) */
  deadline?: number
  /** distinct workers per shard @default 1 */
  redundancy?: number
  /** 0..1 @default 0 */
  minReputation?: number
  /** region whose workers may bid @default this node's region */
  region?: string
  /**
   * the longest the requester collects bids, ms: it awards earlier once it
   * holds `minBids` acceptable bids that place every shard, or once every
   * worker of the region answered (see `shouldAwardEarly`)
   * @default MarketInit.bidWindowMs
   */
  bidWindowMs?: number
  /**
   * acceptable bids (asking at most maxPricePerUnit, from bidders of at
   * least minReputation, RTT measured) that end the bid window early
   * @default the shard count (`shardUnits.length`)
   */
  minBids?: number
  /**
   * bids asked of the job's region in its first offer (bid sampling,
   * `bidDrawn`): each worker that would bid does so only if its draw falls
   * below `bidsWanted / regionWorkers`, the requester's estimate of the
   * region's would-be bidders; each re-offer round asks for twice as many;
   * 0: every worker bids
   * @default max(MIN_BIDS_WANTED, BIDS_WANTED_PER_SLOT × shards × redundancy) (`bidsWantedFor`)
   */
  bidsWanted?: number
  /** spread shards over as many bidders as possible (see `PlanInput.spread`) @default false */
  spread?: boolean
  /**
   * data residency: only workers whose certificate names this jurisdiction
   * (e.g. `eu`) may bid or be awarded; checked by the workers (they do not
   * bid: NoBid `JURISDICTION`) and by the requester (other bids are refused)
   * @default '' (any)
   */
  jurisdiction?: string
  /** a stateful session (each stage's lease keeps state on its worker for the job's life): a worker at its most sessions refuses (`BUSY`) @default false */
  session?: boolean
  /** model size, bytes: workers whose model store cannot hold it refuse (`MODEL_TOO_LARGE`) */
  modelBytes?: number
  /** largest single micro-batch input a lease will receive, bytes: workers with a smaller frame limit refuse (`INPUT_TOO_LARGE`) */
  maxFrameBytes?: number
  /** input shapes of one micro-batch (at most MAX_OFFER_INPUTS) */
  inputs?: JobInput[]
  /**
   * a shard still unplaced this long after the first bid window (or after
   * its lease was lost) fails the job, ms; it starts again while a bidder
   * of the job holds one of its leases @default PLACEMENT_TIMEOUT_MS (10000)
   */
  placementTimeoutMs?: number
}

/** One completed shard replica of a job. */
export interface ShardResult {
  shardIndex: number
  replica: number
  /** worker PeerId string */
  worker: string
  leaseId: string
  units: number
  pricePerUnit: number
  result: Uint8Array
  computeMs: number
}

/** A completed job. */
export interface JobResult {
  jobId: string
  shards: ShardResult[]
  /** how many times a shard was re-awarded after a lost lease */
  reawards: number
  /** how many re-offers were published */
  reoffers: number
  /** ms since the epoch */
  submittedAt: number
  /** ms since the epoch: when every first-round award had been sent */
  awardedAt?: number
  /** ms since the epoch */
  completedAt: number
}

/** States of a job, at its requester. */
export type JobState = 'bidding' | 'awarding' | 'running' | 'reoffered' | 'completed' | 'failed' | 'cancelled'

/** States of a lease. Requester side: awarded → active → completed | lost | declined | cancelled. Worker side: active → completed | released | expired | cancelled. */
export type LeaseState = 'awarded' | 'active' | 'declined' | 'completed' | 'lost' | 'released' | 'expired' | 'cancelled'

/** Detail of a `job` event. */
export interface JobEvent {
  jobId: string
  state: JobState
  /** offer round (0 = first offer) */
  round: number
  /** why, for failed/cancelled/reoffered */
  reason?: string
  /** ms since the epoch */
  at: number
}

/** Detail of a `lease` event. */
export interface LeaseEvent {
  leaseId: string
  jobId: string
  shardIndex: number
  replica: number
  /** which end emitted it */
  side: 'requester' | 'worker'
  requester: string
  worker: string
  state: LeaseState
  /** for lost/released/declined/expired/cancelled: why (`expired`, `disconnected`, `released: drained: driving`, …) */
  reason?: string
  /** compute units of the lease's shard (requester side) */
  units?: number
  /** credits per compute unit the lease was awarded at (requester side) */
  pricePerUnit?: number
  at: number
}

/** Detail of a `bid` event. */
export interface BidEvent {
  jobId: string
  bidder: string
  /** `received` at the requester; `sent` or `skipped` at the worker */
  side: 'received' | 'sent' | 'skipped'
  /** credits per compute unit */
  pricePerUnit?: number
  capacity?: number
  /** the bidder's throughput estimate, ms per compute unit (received bids) */
  msPerUnit?: number
  reason?: string
  /** skipped: the refusal code (a NoBidCode, sent to the requester as NoBid; or REGION / NO_OPEN_SHARDS / NOT_DRAWN (the offer's bid sample left this worker out), not sent) */
  code?: string
  at: number
}

/** Detail of a `refusal` event: a worker will not serve a job (its NoBid, or a bid the requester refused for price or reputation). */
export interface RefusalEvent {
  jobId: string
  /** worker PeerId string */
  worker: string
  /** a NoBidCode */
  code: string
  message: string
  /** the worker's ask, credits per compute unit (PRICE) */
  askPricePerUnit?: number
  at: number
}

/** Detail of a `gossip:rejected` event: a message a validator refused. */
export interface GossipRejection {
  topic: string
  /** the peer that forwarded it */
  from: string
  verdict: 'ignore' | 'reject'
  /** error code, e.g. ERR_INVALID_SIGNATURE */
  code: string
  at: number
}

export interface MarketEvents {
  /** a job changed state (requester) */
  job: CustomEvent<JobEvent>
  /** a lease changed state (either side) */
  lease: CustomEvent<LeaseEvent>
  /** a bid was received, sent or skipped */
  bid: CustomEvent<BidEvent>
  /** a worker refused one of this node's jobs (requester) */
  refusal: CustomEvent<RefusalEvent>
  /** an offer reached this worker */
  offer: CustomEvent<{ jobId: string, requester: string, region: string, round: number, at: number }>
  /** a vehicle's availability changed */
  availability: CustomEvent<AvailabilityDecision & { state: VehicleState, at: number }>
  /** a gossip validator refused a message */
  'gossip:rejected': CustomEvent<GossipRejection>
}

/** Snapshot of a lease held by this worker. */
export interface HeldLease extends WorkerLease {
  /** ms since the epoch */
  startedAt: number
}

/** The market service. */
export interface Market extends TypedEventEmitter<MarketEvents> {
  /**
   * Runs a job: publishes its offer, collects bids, awards shards, keeps
   * leases alive, re-awards lost ones and re-offers unplaced ones until every
   * shard is complete.
   *
   * @throws InvalidJobError on a bad spec
   * @throws NoBidsError when a shard finds no worker (every worker of the region refused, or none took it within `placementTimeoutMs`)
   * @throws JobFailedError at the deadline, or when a shard that lost its lease is not placed again within `placementTimeoutMs`; names the shards not done
   * @throws JobCancelledError on `cancel()`, `signal` abort or stop, carrying the reason
   * @throws the error given to `failJob()`, unchanged
   * @throws MarketNotStartedError if the service is not started
   */
  submit(spec: JobSpec, options?: { signal?: AbortSignal }): Promise<JobResult>
  /** Cancels a running job (its leases are cancelled at the workers); `submit` rejects with a JobCancelledError carrying `reason`. Returns false if no such job runs. */
  cancel(jobId: string, reason?: string): boolean
  /**
   * Ends a running job now: its leases are cancelled at the workers (the
   * reason sent is `error.message`) and `submit()` rejects with `error`
   * itself. Returns false if no such job runs.
   */
  failJob(jobId: string, error: Error): boolean
  /**
   * Ends a lease of one of this node's jobs (requester side): the worker
   * gets a Cancel with `reason`, a `lease` event (side requester, state
   * `released`) carries `reason`, and the worker is not awarded that job
   * again. With `reaward` (default true) the shard is re-awarded to the
   * next best bid or re-offered, exactly like a lost lease; without, it
   * stays open until the job places again or its placement timeout ends
   * the job. Returns false if no such live lease exists.
   */
  releaseLease(leaseId: string, reason: string, options?: { reaward?: boolean }): boolean
  /**
   * Tells the market that the requester needs nothing more placed for a
   * job (every output is in: in data-parallel any lease can have run any
   * micro-batch, so a shard without a lease has no work left). Its open
   * shards, and any whose lease ends from now on without completing, are
   * dropped instead of re-awarded or re-offered; the job completes once its
   * live leases complete (at once if none is left), and its `JobResult`
   * lists only the shards that completed. Returns false if no such job runs.
   */
  finishPlacement(jobId: string): boolean
  /** jobs this node runs as requester, with their state */
  jobs(): Array<{ jobId: string, state: JobState, round: number, region: string, slots: number, done: number }>
  /** leases this node holds as a worker */
  heldLeases(): HeldLease[]
  /** a lease this node holds as a worker, by id; undefined once it ended */
  heldLease(leaseId: string): HeldLease | undefined
  /**
   * Registers the worker's shard work (registrar style: the inference
   * service calls it in its `start()`); it replaces any handler registered
   * before and takes precedence over `WorkerInit.onLease`. Leases already
   * running keep the handler they started with. On a node without
   * `MarketInit.worker` it has no effect (such a node never bids).
   */
  handleLeases(handler: LeaseHandler, options?: LeaseHandlerOptions): void
  /** Removes the handler registered with handleLeases; with no `WorkerInit.onLease` the worker stops bidding. */
  unhandleLeases(): void
  /** true if this node is a worker that would bid now (not draining, vehicle available with a state source) */
  isBidding(): boolean
  /** Drains the worker: no new bids, every lease released to its requester. */
  drain(reason?: string): Promise<void>
}

/**
 * The market service factory, in libp2p's service shape: `createMeshNode({ services: { market: market(init) } })`.
 * Needs the `pubsub` (gossipsub) and `admission` services; `ping` if present is used to measure bidders' RTT.
 *
 * @throws InvalidConfigError at start if this node's certificate is invalid
 */
export function market (init: MarketInit): (components: MarketComponents) => Market {
  return (components) => new MarketService(components, init)
}
