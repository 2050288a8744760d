import { ALL_ANSWERED_SETTLE_MS, bidDrawn, bidsWantedFor, checkBidFields, checkOfferFields, decideBid, estimateRegionWorkers, MAX_BIDS_PER_JOB, PLACEMENT_TIMEOUT_MS, planAwards, REOFFER_WINDOW_MS, shouldAwardEarly, UNKNOWN_RTT_MS } from '@fleetmesh/market'
import { Bid, BidderRole, JobMode, JobOffer } from '@fleetmesh/protocol'
import { DIAL_ROUND_TRIPS, STREAM_ROUND_TRIPS } from './constants.js'
import { disseminate, reachOf, Spread } from './gossip.js'
import { Tasks } from './tasks.js'
import { STATION } from './nodes.js'
import type { TopicMesh } from './gossip.js'
import type { LinkModel } from './network.js'
import type { NodeTable } from './nodes.js'
import type { Rng } from './rng.js'
import type { ResolvedScenario } from './scenario.js'
import type { AuctionBid, AuctionTerms, PlannedAward, WorkerSituation } from '@fleetmesh/market'

/**
 * One job's market round, run through the market's own pure functions:
 *
 * 1. the requester builds the offer and checks it with `checkOfferFields`,
 *    then publishes it on its region's offers topic ({@link disseminate});
 * 2. each worker the offer reaches decides with `decideBid` (its price
 *    policy, held leases, vehicle availability, deadline); a bid is checked
 *    with `checkBidFields` and gossiped on the region's bids topic (with
 *    `vehiclesOnBidsTopic` false, a vehicle publishes it to its stations
 *    without joining the topic); a refusal with a NoBid code goes to the
 *    requester over a direct stream;
 * 3. the requester takes bids and refusals in arrival order, pings each
 *    bidder it is connected to (unless `pingBidders` is false: it knows
 *    their RTTs; `pendingRtt` until the ping returns), asks
 *    `shouldAwardEarly` after each (on its `all-answered` it waits
 *    ALL_ANSWERED_SETTLE_MS more, as the requester's `checkEarlyAward`
 *    does, unless enough bids come in first), and at the latest at the end of the
 *    bid window plans with `planAwards`; slots left open are planned again
 *    at the end of each re-offer window (REOFFER_WINDOW_MS, doubling up
 *    to 8×) with the bids in by then, until PLACEMENT_TIMEOUT_MS after the
 *    bid window (the re-offers' new bids are not modelled: the late bids
 *    of the first round stand for them);
 * 4. each award goes over a direct stream (a dial first when the two are
 *    not connected) and comes back accepted: the job runs when the last
 *    accept is in; on shared hosts a worker's first lease starts its
 *    inference runtime (`runnerStartMs` of its host's CPU) before its
 *    accept leaves, as the market starts the lease while it seals the
 *    accept.
 *
 * CPU: each hop of an offer or a bid, and each end of a direct exchange,
 * costs the scenario's `marketUnits` × `processingMs` (signed envelope
 * check with the certificate cached, sealing); a node's first gossiped
 * message of a signer costs `certificateUnits` × `processingMs` more
 * (its certificate verified, {@link certificateCheck}). Direct messages
 * find their signer's certificate cached (the worker saw the requester's
 * offer, the requester the worker's bid).
 *
 * Each node on a CPU of its own (a field fleet): the bids' gossip delay to
 * the requester is taken from one dissemination from the requester over
 * the bids mesh (links are symmetric in the model, so the delay from a
 * worker to the requester has the same law). On shared hosts (bench/scale)
 * every bid spreads on its own, hop by hop, and every step of an award's
 * direct exchange waits for its host; all of a round's work (and that of
 * the jobs submitted at once, {@link runOffers}) runs in virtual-time
 * order ({@link Tasks}), so each piece waits in its host's queue for the
 * work that reached the host before it.
 */

/** The simulator's epoch: virtual time 0 is this wall-clock ms (the market's checks compare deadlines with ms since the epoch). */
export const EPOCH_MS = Date.UTC(2026, 0, 1)

/** What a market round needs. */
export interface MarketWorld {
  scenario: ResolvedScenario
  nodes: NodeTable
  net: LinkModel
  rng: Rng
  /** offers topic mesh of each region */
  offers: TopicMesh[]
  /** bids topic mesh of each region */
  bids: TopicMesh[]
  /**
   * each requester's estimate of a region's would-be bidders (node -> region ->
   * workers), learned from its sampled offers' bids as the market's
   * RegionWorkerEstimates learns it
   */
  estimates?: Map<number, Map<number, number>>
  /** workers whose inference runtime started (their first lease took `runnerStartMs`) */
  runners?: Set<number>
  /** with `certificateUnits`: the signers each node's market has verified the certificate of (node × fleet size + signer) */
  certificates?: Set<number>
}

/**
 * The extra CPU of a gossiped market message of `signer` at each node that
 * validates it (the `extraMs` of a dissemination): `certificateUnits` ×
 * `processingMs` the first time the node sees that signer (its
 * certificate cache misses), nothing after; undefined without
 * `certificateUnits`.
 */
export function certificateCheck (w: MarketWorld, signer: number): ((node: number) => number) | undefined {
  const units = w.scenario.certificateUnits
  if (!(units > 0)) return undefined
  const seen = (w.certificates ??= new Set())
  const ms = units * w.net.processingMs
  const n = w.nodes.size
  return (node: number): number => {
    const key = node * n + signer
    if (seen.has(key)) return 0
    seen.add(key)
    return ms
  }
}

/** One award of a round, by node number. */
export interface SimAward extends PlannedAward {
  /** node number of the bidder */
  worker: number
  /** virtual ms the accept reached the requester (bench/scale's `acceptRead`) */
  acceptedAt: number
  /** virtual ms the worker had handled the award and sealed its accept (bench/scale's `leaseAccepted`; NaN off shared hosts) */
  servedAt: number
}

/** The outcome of {@link runOffer}. */
export interface OfferOutcome {
  jobId: string
  requester: number
  region: number
  /** online workers of the region (requester excluded) whose owner policy allows work: the offer's audience */
  eligible: number
  /** of those, reached by the offer within the bid window */
  reached: number
  /** node numbers the offer reached (by the end of placement) */
  reachedNodes: number[]
  /** bids the requester held when it planned */
  bids: AuctionBid[]
  /** virtual ms the requester validated each bid it heard, in the order heard (bench/scale's `bidHeard` timeline) */
  heardAt: number[]
  /** virtual ms each reached node of the region had validated the offer (bench/scale's `offerReached`) */
  reachedAt: number[]
  /** virtual ms each bidder sent its bid, sealed (bench/scale's `bidSent`; on shared hosts, else NaN each) */
  bidSentAt: number[]
  /** virtual ms the job was submitted */
  submittedAt: number
  /** virtual ms the requester planned */
  plannedAt: number
  /** why it planned then: `enough-bids`, `all-answered` or `window` */
  reason: string
  awards: SimAward[]
  /** slots no bid took */
  unplaced: number
  /** virtual ms from publishing until every online subscriber of the region's offers topic had the offer */
  offerToAllMs: number
  /** virtual ms from submit to the last accept (Infinity if a slot stayed unplaced) */
  offerToAwardsMs: number
  /** bytes on the wire: the offer's dissemination, every bid's, refusals and awards */
  bytes: number
  /** of those: the offer's dissemination, the bids' (each over the whole region's bids mesh), NoBids and awards (direct streams) */
  bytesOffer: number
  bytesBids: number
  bytesDirect: number
}

/** The auction terms of a job submitted at virtual `t0`. */
export function termsOf (s: ResolvedScenario, region: string, t0: number): AuctionTerms {
  return { shardUnits: [...s.job.shardUnits], maxPricePerUnit: s.job.maxPricePerUnit, minReputation: s.job.minReputation, deadline: EPOCH_MS + Math.floor(t0) + s.job.deadlineMs, submittedAt: EPOCH_MS + Math.floor(t0), region }
}

/** The worker's situation as `decideBid` sees it (reputation 1: no evidence in the simulated fleet). */
export function situationOf (w: MarketWorld, node: number): WorkerSituation {
  const { nodes, scenario: s } = w
  return {
    region: nodes.regions[nodes.region[node]],
    held: nodes.held[node],
    maxConcurrent: s.workers.maxConcurrentLeases,
    pricing: { basePricePerUnit: nodes.basePrice[node], loadFactor: s.workers.loadFactor },
    availability: nodes.role[node] === STATION ? undefined : { allowed: nodes.available[node] === 1, reason: nodes.available[node] === 1 ? 'parked, owner policy allows work' : 'owner policy does not allow work now' },
    reputation: 1,
    estimate: { msPerUnit: s.workers.msPerUnit, setupMs: s.workers.setupMs, modelCached: false }
  }
}

/**
 * One direct-stream exchange of signed market messages from `a` to `b`
 * and back: the stream's protocol negotiation, the request and the answer
 * (each checked and signed: `marketUnits` of CPU at each end), plus
 * a dial when they are not connected.
 */
function directRoundTrip (w: MarketWorld, a: number, b: number, connected: boolean): number {
  let t = w.net.roundTrip(a, b, w.rng) + 2 * w.scenario.marketUnits * w.net.processingMs
  for (let r = 0; r < STREAM_ROUND_TRIPS; r++) t += w.net.roundTrip(a, b, w.rng)
  if (!connected) for (let d = 0; d < DIAL_ROUND_TRIPS; d++) t += w.net.roundTrip(a, b, w.rng)
  return t
}

/**
 * {@link directRoundTrip} started at virtual `t` on shared hosts: the
 * request waits for `b`'s host CPU and the answer for `a`'s.
 *
 * @returns the virtual ms `a` has validated the answer
 */
function directExchange (w: MarketWorld, a: number, b: number, t: number, connected: boolean): number {
  if (!w.net.cpu.shared) return t + directRoundTrip(w, a, b, connected)
  return exchange(w, a, b, t, STREAM_ROUND_TRIPS + (connected ? 0 : DIAL_ROUND_TRIPS), w.scenario.marketUnits * w.net.processingMs)
}

/**
 * `setup` round trips (each end's CPU `processingMs`), then one request
 * and its answer (each end's CPU `ms`) from `a` to `b` starting at
 * virtual `t`, every step on its host's CPU.
 *
 * @returns the virtual ms `a` has handled the answer
 */
export function exchange (w: MarketWorld, a: number, b: number, t: number, setup: number, ms: number): number {
  const { net, rng } = w
  let at = t
  for (let r = 0; r < setup; r++) {
    at = net.cpu.run(b, at + net.latency(a, b, rng), net.processingMs)
    at = net.cpu.run(a, at + net.latency(b, a, rng), net.processingMs)
  }
  at = net.cpu.run(b, at + net.latency(a, b, rng), ms)
  return net.cpu.run(a, at + net.latency(b, a, rng), ms)
}

/**
 * Runs the market round of job `jobId` submitted by `requester` at
 * virtual `t0` (model in the module docs). Lease counts are read, not
 * changed: the caller holds the awarded leases.
 */
export function runOffer (w: MarketWorld, requester: number, jobId: string, t0: number): OfferOutcome {
  return runOffers(w, [{ requester, jobId }], t0)[0]
}

/**
 * The market rounds of jobs submitted at the same virtual `t0` (bench/scale's
 * regions submit at once): every offer is spread first, then the rounds
 * run together in virtual-time order ({@link Tasks}): each worker seals
 * its bid when it decided, the bids spread hop by hop, each requester
 * takes them as it validates them, plans and awards, and each award's
 * exchange steps through its hosts. On shared hosts the jobs so share the
 * hosts' CPU as they would: each piece of work waits for the work that
 * reached its host before it.
 */
export function runOffers (w: MarketWorld, jobs: Array<{ requester: number, jobId: string }>, t0: number): OfferOutcome[] {
  const open = jobs.map(j => openOffer(w, j.requester, j.jobId, t0))
  const tasks = new Tasks()
  for (const o of open) o.start(tasks)
  tasks.run()
  return open.map(o => o.outcome())
}

/** A worker's bid in a round, decided at a virtual ms. */
interface Bidder { node: number, decidedAt: number, bid: Bid }

/** A bid or refusal as the requester has it: validated at `at`, its bidder's RTT known at `rttAt`. */
interface Answer { at: number, rttAt: number, node: number, bid?: AuctionBid }

/** One job's round between its phases ({@link runOffers}). */
interface OpenOffer {
  /** schedules the round's work (bids, refusals, the bid window's end) on the driver */
  start: (tasks: Tasks) => void
  /** the round's outcome, once the driver has run */
  outcome: () => OfferOutcome
}

/**
 * `exchange` as a task: each of its steps (the setup round trips, the
 * request, the answer) runs on its host's CPU when the driver reaches its
 * arrival, after the work that reached the host before it; `done` gets
 * the virtual ms `a` has handled the answer, `served` the virtual ms `b`
 * has handled the request; `beforeAnswerMs` of `b`'s CPU follows it at
 * once, before the answer leaves.
 */
export function exchangeTask (w: MarketWorld, tasks: Tasks, a: number, b: number, t: number, setup: number, ms: number, done: (at: number) => void, served?: (at: number) => void, beforeAnswerMs = 0): void {
  const { net, rng } = w
  const hops: Array<[number, number]> = []
  for (let r = 0; r < setup; r++) hops.push([b, net.processingMs], [a, net.processingMs])
  hops.push([b, ms], [a, ms])
  let k = 0
  let arrive = t + net.latency(a, b, rng)
  tasks.add(arrive, () => {
    const [node, cost] = hops[k]
    let end = net.cpu.run(node, arrive, cost)
    if (k === hops.length - 2) {
      served?.(end)
      // work `b` runs right after it handled the request, before its answer leaves (no new wake-up: it follows at once)
      if (beforeAnswerMs > 0) end = net.cpu.run(node, end, beforeAnswerMs, false)
    }
    if (++k === hops.length) { done(end); return Infinity }
    arrive = end + net.latency(node, hops[k][0], rng)
    return arrive
  })
}

function openOffer (w: MarketWorld, requester: number, jobId: string, t0: number): OpenOffer {
  const { nodes, scenario: s, net, rng } = w
  const region = nodes.region[requester]
  const regionName = nodes.regions[region]
  const terms = termsOf(s, regionName, t0)
  // bid sampling as the requester states it: bids wanted for the round's slots, against its estimate of the region (first: its connected region peers)
  const connectedPeers = nodes.byRegion[region].filter(n => n !== requester && nodes.online[n] === 1).length
  const known = w.offers[region].connections
  const admitted = known != null ? nodes.byRegion[region].filter(n => n !== requester && nodes.online[n] === 1 && known.connected(requester, n)).length : Math.min(connectedPeers, s.connectedPeers)
  const estimates = (w.estimates ??= new Map()).get(requester) ?? new Map<number, number>()
  w.estimates.set(requester, estimates)
  const bidsWanted = bidsWantedFor(terms.shardUnits.length * s.job.redundancy, 0)
  const regionWorkers = estimates.get(region) ?? (admitted > 0 ? admitted : undefined)
  const sample = { jobId, round: 0, bidsWanted, regionWorkers }
  const offer: JobOffer = {
    jobId,
    requester: new Uint8Array(38),
    modelCid: 'bafkreisimulatedmodel',
    mode: JobMode.DATA,
    shardUnits: terms.shardUnits.map(u => BigInt(u)),
    maxPricePerUnit: terms.maxPricePerUnit,
    deadline: BigInt(terms.deadline),
    redundancy: s.job.redundancy,
    minReputation: terms.minReputation,
    region: regionName,
    round: 0,
    openShards: [],
    bidWindowMs: s.job.bidWindowMs,
    inputs: [],
    bidsWanted,
    regionWorkers
  }
  checkOfferFields(offer, EPOCH_MS + t0)
  const offerBytes = JobOffer.encode(offer).byteLength
  const offersMesh = w.offers[region]
  const bidsMesh = w.bids[region]
  // each hop's topic validator checks the signed envelope and its certificate
  const hop = s.marketUnits * net.processingMs
  const od = disseminate(offersMesh, nodes, net, rng, requester, net.cpu.run(requester, t0, hop), { dataBytes: offerBytes, connectedPeers: s.connectedPeers, processingMs: hop, extraMs: certificateCheck(w, requester) })
  // the bids' way back. On shared hosts each bid is gossiped on its own (their validations queue on the hosts' CPU, in the order the workers decided);
  // otherwise the delay from each worker to the requester is taken from one dissemination from the requester over the bids mesh
  const shared = net.cpu.shared
  const back = shared ? undefined : disseminate(bidsMesh, nodes, net, rng, requester, 0, { dataBytes: 120, connectedPeers: s.connectedPeers, processingMs: hop })
  let bytes = od.bytes
  let bytesBids = 0
  let bytesDirect = 0
  const windowEnd = t0 + s.job.bidWindowMs
  const conns = offersMesh.connections
  const connectedAll = nodes.byRegion[region].length - 1 <= s.connectedPeers
  const connected = (a: number, b: number): boolean => conns != null ? conns.connected(a, b) : connectedAll

  const answers: Answer[] = []
  let eligible = 0
  let reached = 0
  const reachedNodes: number[] = []
  const reachedAt: number[] = []
  const bidSentAt: number[] = []
  const regionPeers: string[] = []
  const bidders: Bidder[] = []
  for (const node of nodes.byRegion[region]) {
    if (node === requester || nodes.online[node] !== 1) continue
    if (conns != null ? conns.connected(requester, node) : (connectedAll || regionPeers.length < s.connectedPeers)) regionPeers.push(nodes.names[node])
    if (nodes.available[node] === 1) eligible++
    const li = offersMesh.local[node]
    // the worker's own check of the offer is the last hop's
    const arrived = li >= 0 ? od.handled[li] : Infinity
    if (arrived > windowEnd + PLACEMENT_TIMEOUT_MS) continue
    if (nodes.available[node] === 1 && arrived <= windowEnd) reached++
    reachedNodes.push(node)
    reachedAt.push(arrived)
    const decision = decideBid({ jobId, region: regionName, openShardUnits: terms.shardUnits, maxPricePerUnit: terms.maxPricePerUnit, deadline: terms.deadline, minReputation: terms.minReputation }, situationOf(w, node), EPOCH_MS + arrived)
    if (decision.bid) {
      // a worker not drawn for this round stays silent
      if (!bidDrawn(sample, nodes.names[node])) continue
      const bid: Bid = { jobId, bidder: new Uint8Array(38), pricePerUnit: decision.pricePerUnit, msPerUnit: decision.msPerUnit, setupMs: Math.round(decision.setupMs), capacity: decision.capacity, modelCached: decision.modelCached, role: nodes.role[node] === STATION ? BidderRole.STATION : BidderRole.VEHICLE, round: 0, addrs: [] }
      checkBidFields(bid)
      bidders.push({ node, decidedAt: arrived, bid })
    } else if (decision.code !== 'REGION' && decision.code !== 'NO_OPEN_SHARDS') {
      const at = arrived + directRoundTrip(w, node, requester, connected(node, requester)) / 2
      bytes += 200
      bytesDirect += 200
      answers.push({ at, rttAt: at, node })
    }
  }
  // the requester learns the region's size from the bidders its sample brought (averaged with what it knew)
  const fresh = estimateRegionWorkers(sample, bidders.length)
  if (fresh != null && regionWorkers != null) estimates.set(region, estimates.has(region) ? Math.ceil(((estimates.get(region) as number) + fresh) / 2) : fresh)
  const ri = bidsMesh.local[requester]
  // the auction as the requester runs it, in virtual-time order ({@link Tasks}): bids and refusals as they are validated, each RTT as it comes back
  const open = terms.shardUnits.flatMap((_, i) => Array.from({ length: s.job.redundancy }, (_, r) => ({ shardIndex: i, replica: r })))
  const held = new Map<string, AuctionBid>()
  const pending = new Set<string>()
  const refused: string[] = []
  let planned = false
  // every known region peer answered: the requester waits ALL_ANSWERED_SETTLE_MS before it plans
  let settling = false
  let plannedAt = windowEnd
  let reason = 'window'
  const awards: SimAward[] = []
  const used: Record<string, number> = {}
  const shardHolders: Record<number, string[]> = {}
  let remaining = open
  let window = REOFFER_WINDOW_MS
  const spreads: Spread[] = []
  const heardAt: number[] = []
  let tasks: Tasks
  const consider = (t: number, kind: 'bid' | 'rtt' | 'refusal', a: Answer): void => {
    if (planned || t > windowEnd) return
    const name = nodes.names[a.node]
    if (kind === 'bid') {
      // a job keeps at most MAX_BIDS_PER_JOB bidders (later ones are dropped, as acceptBid does)
      if (held.size >= MAX_BIDS_PER_JOB) return
      held.set(name, a.bid as AuctionBid)
      // its RTT is pending until the requester's ping comes back (a bidder it does not ping has none pending)
      if (a.rttAt > a.at) pending.add(name)
    } else if (kind === 'rtt') {
      if (!pending.delete(name)) return
    } else refused.push(name)
    // shouldAwardEarly's first rule: no early award while a bidder's RTT is pending (skips its O(bids) work)
    if (pending.size > 0) return
    const d = shouldAwardEarly({ terms, bids: [...held.values()], open, now: EPOCH_MS + t, score: { unknownRttMs: UNKNOWN_RTT_MS }, minBids: terms.shardUnits.length, pendingRtt: [...pending], regionPeers, refused })
    if (!d.award) return
    if (d.reason === 'all-answered') {
      // as the requester's checkEarlyAward: every region peer it knows answered, a worker it does not know may still bid through a station; the wait ends ALL_ANSWERED_SETTLE_MS later (or sooner on enough bids, or at the window's end)
      if (settling) return
      settling = true
      const end = t + ALL_ANSWERED_SETTLE_MS
      tasks.add(end, () => { if (!planned && end <= windowEnd) { reason = 'all-answered'; plan(end) } return Infinity })
      return
    }
    reason = d.reason
    plan(t)
  }
  // the first plan, then (slots left open) a re-offer round after each REOFFER_WINDOW_MS window, doubling up to 8×, with every bid in by then, until PLACEMENT_TIMEOUT_MS after the bid window
  const round = (at: number): void => {
    const plan = planAwards({ terms, bids: [...held.values()], open: remaining, held: used, shardHolders, now: EPOCH_MS + at, score: { unknownRttMs: UNKNOWN_RTT_MS } })
    for (const a of plan.awards) {
      const node = byName.get(a.bidder) as number
      bytes += 400
      bytesDirect += 400
      used[a.bidder] = (used[a.bidder] ?? 0) + 1
      ;(shardHolders[a.shardIndex] ??= []).push(a.bidder)
      const award: SimAward = { ...a, worker: node, acceptedAt: NaN, servedAt: NaN }
      awards.push(award)
      // each award goes over a direct stream (a dial first when not connected); on shared hosts each of its steps waits in its host's queue
      // a worker's first lease starts its inference runtime ahead of its accept (scenario `runnerStartMs`)
      const runners = (w.runners ??= new Set())
      const ranBefore = runners.has(node)
      const runnerStart = ranBefore ? 0 : s.runnerStartMs
      runners.add(node)
      const firstLease = !ranBefore
      // its runner process then boots on the machine's cores (scenario `runnerBootMs`), slowing every host meanwhile
      if (shared) exchangeTask(w, tasks, requester, node, at, STREAM_ROUND_TRIPS + (connected(requester, node) ? 0 : DIAL_ROUND_TRIPS), hop, end => { award.acceptedAt = end }, served => { award.servedAt = served; if (firstLease) net.cpu.addProcess(served + runnerStart, served + runnerStart + s.runnerBootMs) }, runnerStart)
      else award.acceptedAt = directExchange(w, requester, node, at, connected(requester, node)) + runnerStart
    }
    remaining = plan.unplaced.map(u => ({ shardIndex: u.shardIndex, replica: u.replica }))
    if (remaining.length === 0 || at + window > windowEnd + PLACEMENT_TIMEOUT_MS || at + window >= terms.deadline - EPOCH_MS) return
    const cut = at + window
    window = Math.min(window * 2, REOFFER_WINDOW_MS * 8)
    tasks.add(cut, () => {
      for (const a of answers) {
        if (a.bid == null || a.at <= windowEnd || a.at > cut) continue
        const name = nodes.names[a.node]
        if (!held.has(name) && held.size < MAX_BIDS_PER_JOB) held.set(name, a.bid)
      }
      round(cut)
      return Infinity
    })
  }
  const plan = (at: number): void => {
    planned = true
    plannedAt = at
    round(at)
  }
  const byName = new Map<string, number>()
  // a bid the requester validated at virtual `at`
  const heard = ({ node, bid }: Bidder, at: number): void => {
    byName.set(nodes.names[node], node)
    // the requester then pings the bidder if connected to it (libp2p ping: a stream and a round trip); an unconnected bidder has no RTT
    const direct = connected(requester, node)
    const pinged = direct && s.pingBidders
    const rtt = net.roundTrip(requester, node, rng)
    const pingMs = pinged ? rtt + STREAM_ROUND_TRIPS * net.roundTrip(requester, node, rng) : 0
    const a: Answer = {
      at,
      // on shared hosts the ping's stream and echo wait for both hosts' CPU
      rttAt: pinged && shared ? exchange(w, requester, node, at, STREAM_ROUND_TRIPS, net.processingMs) : at + pingMs,
      node,
      bid: { bidder: nodes.names[node], pricePerUnit: bid.pricePerUnit, msPerUnit: bid.msPerUnit, setupMs: bid.setupMs, capacity: bid.capacity, modelCached: bid.modelCached, role: nodes.role[node] === STATION ? 'station' : 'vehicle', region: regionName, ...(direct ? { rttMs: rtt } : {}), reputation: 1, expiresAt: terms.deadline }
    }
    answers.push(a)
    heardAt.push(at)
    tasks.add(a.at, () => { consider(a.at, 'bid', a); return Infinity })
    if (a.rttAt > a.at) tasks.add(a.rttAt, () => { consider(a.rttAt, 'rtt', a); return Infinity })
  }
  const start = (driver: Tasks): void => {
    tasks = driver
    for (const a of answers) if (a.bid == null) tasks.add(a.at, () => { consider(a.at, 'refusal', a); return Infinity })
    for (const b of bidders) {
      if (back != null) {
        // sealing the bid, its way to the requester (the law of one dissemination from the requester), and the requester's validation
        const bi = bidsMesh.local[b.node]
        const delay = bi >= 0 ? back.arrival[bi] : Infinity
        if (!Number.isFinite(delay)) continue
        bytes += back.bytes
        bytesBids += back.bytes
        heard(b, b.decidedAt + hop + delay + hop)
        continue
      }
      // on shared hosts the worker seals and publishes its bid when it decided, and the bid spreads hop by hop among the round's other work
      tasks.add(b.decidedAt, () => {
        const sentAt = net.cpu.run(b.node, b.decidedAt, hop)
        bidSentAt.push(sentAt)
        const sp = new Spread(bidsMesh, nodes, net, rng, b.node, b.decidedAt, { dataBytes: 120, connectedPeers: s.connectedPeers, processingMs: hop, sentAt, extraMs: certificateCheck(w, b.node) })
        spreads.push(sp)
        tasks.add(sp.next(), () => {
          // the requester has the bid once it validated it
          if (sp.step() === ri && ri >= 0) heard(b, sp.handled[ri])
          return sp.next()
        })
        return Infinity
      })
    }
    tasks.add(windowEnd, () => { if (!planned) plan(windowEnd); return Infinity })
  }
  const outcome = (): OfferOutcome => {
    for (const sp of spreads) { bytes += sp.bytes; bytesBids += sp.bytes }
    const unplaced = remaining.length
    const last = awards.reduce((m, a) => Math.max(m, a.acceptedAt), plannedAt)
    return {
      jobId,
      requester,
      region,
      eligible,
      reached,
      reachedNodes,
      bids: [...held.values()],
      heardAt,
      reachedAt,
      bidSentAt,
      submittedAt: t0,
      plannedAt,
      reason,
      awards,
      unplaced,
      offerToAllMs: reachOf(od, offersMesh, nodes, t0).allMs,
      offerToAwardsMs: unplaced > 0 ? Infinity : last - t0,
      bytes,
      bytesOffer: od.bytes,
      bytesBids,
      bytesDirect
    }
  }
  return { start, outcome }
}
