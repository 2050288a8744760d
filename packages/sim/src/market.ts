import { checkBidFields, checkOfferFields, decideBid, MAX_BIDS_PER_JOB, PLACEMENT_TIMEOUT_MS, planAwards, REOFFER_WINDOW_MS, shouldAwardEarly, UNKNOWN_RTT_MS } from '@fleetmesh/market'
import { Bid, BidderRole, JobMode, JobOffer } from '@fleetmesh/protocol'
import { DIAL_ROUND_TRIPS, STREAM_ROUND_TRIPS } from './constants.js'
import { disseminate, reachOf } from './gossip.js'
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
 *    `shouldAwardEarly` after each, and at the latest at the end of the
 *    bid window plans with `planAwards`; slots left open are planned again
 *    at the end of each re-offer window (REOFFER_WINDOW_MS, doubling up
 *    to 8×) with the bids in by then, until PLACEMENT_TIMEOUT_MS after the
 *    bid window (the re-offers' new bids are not modelled: the late bids
 *    of the first round stand for them);
 * 4. each award goes over a direct stream (a dial first when the two are
 *    not connected) and comes back accepted: the job runs when the last
 *    accept is in.
 *
 * CPU: each hop of an offer or a bid, and each end of a direct exchange,
 * costs the scenario's `marketUnits` × `processingMs` (signed envelope and
 * certificate checks, sealing).
 *
 * Each node on a CPU of its own (a field fleet): the bids' gossip delay to
 * the requester is taken from one dissemination from the requester over
 * the bids mesh (links are symmetric in the model, so the delay from a
 * worker to the requester has the same law). On shared hosts (bench/scale)
 * every bid spreads on its own, their validations queueing on the hosts'
 * CPU, and every step of a direct exchange waits for its host
 * ({@link runOffers} runs jobs submitted at once together).
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
}

/** One award of a round, by node number. */
export interface SimAward extends PlannedAward {
  /** node number of the bidder */
  worker: number
  /** virtual ms the accept reached the requester */
  acceptedAt: number
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
 * regions submit at once): every offer is spread first, then every worker
 * seals its bid in the order the workers decided, then the bids spread in
 * that order, then each requester plans and awards. On shared hosts the
 * jobs so share the hosts' CPU as they would (no job's bids ahead of the
 * other's offer).
 */
export function runOffers (w: MarketWorld, jobs: Array<{ requester: number, jobId: string }>, t0: number): OfferOutcome[] {
  const open = jobs.map(j => openOffer(w, j.requester, j.jobId, t0))
  const all = open.flatMap(o => o.bidders.map(b => ({ o, b })))
  if (w.net.cpu.shared) {
    all.sort((x, y) => x.b.decidedAt - y.b.decidedAt)
    for (const { o, b } of all) o.seal(b)
  }
  for (const { o, b } of all) o.spread(b)
  return open.map(o => o.close())
}

/** A worker's bid in a round, decided at a virtual ms. */
interface Bidder { node: number, decidedAt: number, bid: Bid }

/** One job's round between its phases ({@link runOffers}). */
interface OpenOffer {
  bidders: Bidder[]
  seal: (b: Bidder) => void
  spread: (b: Bidder) => void
  close: () => OfferOutcome
}

function openOffer (w: MarketWorld, requester: number, jobId: string, t0: number): OpenOffer {
  const { nodes, scenario: s, net, rng } = w
  const region = nodes.region[requester]
  const regionName = nodes.regions[region]
  const terms = termsOf(s, regionName, t0)
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
    inputs: []
  }
  checkOfferFields(offer, EPOCH_MS + t0)
  const offerBytes = JobOffer.encode(offer).byteLength
  const offersMesh = w.offers[region]
  const bidsMesh = w.bids[region]
  // each hop's topic validator checks the signed envelope and its certificate
  const hop = s.marketUnits * net.processingMs
  const od = disseminate(offersMesh, nodes, net, rng, requester, net.cpu.run(requester, t0, hop), { dataBytes: offerBytes, connectedPeers: s.connectedPeers, processingMs: hop })
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

  type Answer = { at: number, rttAt: number, node: number, bid?: AuctionBid }
  const answers: Answer[] = []
  let eligible = 0
  let reached = 0
  const reachedNodes: number[] = []
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
    const decision = decideBid({ jobId, region: regionName, openShardUnits: terms.shardUnits, maxPricePerUnit: terms.maxPricePerUnit, deadline: terms.deadline, minReputation: terms.minReputation }, situationOf(w, node), EPOCH_MS + arrived)
    if (decision.bid) {
      const bid: Bid = { jobId, bidder: new Uint8Array(38), pricePerUnit: decision.pricePerUnit, msPerUnit: decision.msPerUnit, setupMs: Math.round(decision.setupMs), capacity: decision.capacity, modelCached: decision.modelCached, role: nodes.role[node] === STATION ? BidderRole.STATION : BidderRole.VEHICLE, round: 0 }
      checkBidFields(bid)
      bidders.push({ node, decidedAt: arrived, bid })
    } else if (decision.code !== 'REGION' && decision.code !== 'NO_OPEN_SHARDS') {
      const at = arrived + directRoundTrip(w, node, requester, connected(node, requester)) / 2
      bytes += 200
      bytesDirect += 200
      answers.push({ at, rttAt: at, node })
    }
  }
  const ri = bidsMesh.local[requester]
  // on shared hosts every worker seals its bid when it decided (in that order), before any bid's spread takes the hosts' CPU
  const sentAt = new Map<number, number>()
  const seal = (b: Bidder): void => { sentAt.set(b.node, net.cpu.run(b.node, b.decidedAt, hop)) }
  const spread = ({ node, decidedAt, bid }: Bidder): void => {
    let at: number
    if (back != null) {
      const bi = bidsMesh.local[node]
      const delay = bi >= 0 ? back.arrival[bi] : Infinity
      if (!Number.isFinite(delay)) return
      bytes += back.bytes
      bytesBids += back.bytes
      // sealing the bid, its way to the requester, and the requester's validation
      at = decidedAt + hop + delay + hop
    } else {
      // the worker seals and publishes its bid; the requester has it once it validated it
      const d = disseminate(bidsMesh, nodes, net, rng, node, decidedAt, { dataBytes: 120, connectedPeers: s.connectedPeers, processingMs: hop, sentAt: sentAt.get(node) })
      bytes += d.bytes
      bytesBids += d.bytes
      at = ri >= 0 ? d.handled[ri] : Infinity
      if (!Number.isFinite(at)) return
    }
    // the requester then pings the bidder if connected to it (libp2p ping: a stream and a round trip); an unconnected bidder has no RTT
    const direct = connected(requester, node)
    const pinged = direct && s.pingBidders
    const rtt = net.roundTrip(requester, node, rng)
    const pingMs = pinged ? rtt + STREAM_ROUND_TRIPS * net.roundTrip(requester, node, rng) : 0
    answers.push({
      at,
      // on shared hosts the ping's stream and echo wait for both hosts' CPU
      rttAt: pinged && shared ? exchange(w, requester, node, at, STREAM_ROUND_TRIPS, net.processingMs) : at + pingMs,
      node,
      bid: { bidder: nodes.names[node], pricePerUnit: bid.pricePerUnit, msPerUnit: bid.msPerUnit, setupMs: bid.setupMs, capacity: bid.capacity, modelCached: bid.modelCached, role: nodes.role[node] === STATION ? 'station' : 'vehicle', region: regionName, ...(direct ? { rttMs: rtt } : {}), reputation: 1, expiresAt: terms.deadline }
    })
  }
  const close = (): OfferOutcome => {
  // the requester's view in time order: a bid counts from its arrival, its RTT from one round trip later
    const events: Array<{ t: number, kind: 'bid' | 'rtt' | 'refusal', a: Answer }> = []
    for (const a of answers) {
      if (a.bid == null) events.push({ t: a.at, kind: 'refusal', a })
      else { events.push({ t: a.at, kind: 'bid', a }); events.push({ t: a.rttAt, kind: 'rtt', a }) }
    }
    events.sort((x, y) => x.t - y.t || (x.kind < y.kind ? -1 : x.kind > y.kind ? 1 : 0))
    const open = terms.shardUnits.flatMap((_, i) => Array.from({ length: s.job.redundancy }, (_, r) => ({ shardIndex: i, replica: r })))
    const held = new Map<string, AuctionBid>()
    const pending = new Set<string>()
    const refused: string[] = []
    let plannedAt = windowEnd
    let reason = 'window'
    for (const e of events) {
      if (e.t > windowEnd) break
      const name = nodes.names[e.a.node]
      if (e.kind === 'bid') {
      // a job keeps at most MAX_BIDS_PER_JOB bidders (later ones are dropped, as acceptBid does)
        if (held.size >= MAX_BIDS_PER_JOB) continue
        held.set(name, e.a.bid as AuctionBid)
        pending.add(name)
      } else if (e.kind === 'rtt') {
        if (!pending.delete(name)) continue
      } else refused.push(name)
      // shouldAwardEarly's first rule: no early award while a bidder's RTT is pending (skips its O(bids) work)
      if (pending.size > 0) continue
      const d = shouldAwardEarly({ terms, bids: [...held.values()], open, now: EPOCH_MS + e.t, score: { unknownRttMs: UNKNOWN_RTT_MS }, minBids: terms.shardUnits.length, pendingRtt: [...pending], regionPeers, refused })
      if (d.award) { plannedAt = e.t; reason = d.reason; break }
    }
    const byName = new Map<string, number>()
    for (const a of answers) byName.set(nodes.names[a.node], a.node)
    const awards: SimAward[] = []
    const used: Record<string, number> = {}
    const shardHolders: Record<number, string[]> = {}
    let remaining = open
    let bids = [...held.values()]
    // the first plan, then (slots left open) a re-offer round after each REOFFER_WINDOW_MS window, doubling up to 8×, with every bid in by then, until PLACEMENT_TIMEOUT_MS after the bid window
    let at = plannedAt
    let window = REOFFER_WINDOW_MS
    while (true) {
      const plan = planAwards({ terms, bids, open: remaining, held: used, shardHolders, now: EPOCH_MS + at, score: { unknownRttMs: UNKNOWN_RTT_MS } })
      for (const a of plan.awards) {
        const node = byName.get(a.bidder) as number
        bytes += 400
        bytesDirect += 400
        used[a.bidder] = (used[a.bidder] ?? 0) + 1
        ;(shardHolders[a.shardIndex] ??= []).push(a.bidder)
        awards.push({ ...a, worker: node, acceptedAt: directExchange(w, requester, node, at, connected(requester, node)) })
      }
      remaining = plan.unplaced.map(u => ({ shardIndex: u.shardIndex, replica: u.replica }))
      if (remaining.length === 0 || at + window > windowEnd + PLACEMENT_TIMEOUT_MS || at + window >= terms.deadline - EPOCH_MS) break
      at += window
      window = Math.min(window * 2, REOFFER_WINDOW_MS * 8)
      const cut = at
      for (const e of events) {
        if (e.kind !== 'bid' || e.t <= windowEnd || e.t > cut) continue
        const name = nodes.names[e.a.node]
        if (!held.has(name) && held.size < MAX_BIDS_PER_JOB) held.set(name, e.a.bid as AuctionBid)
      }
      bids = [...held.values()]
    }
    const unplaced = remaining.length
    const last = awards.reduce((m, a) => Math.max(m, a.acceptedAt), plannedAt)
    return {
      jobId,
      requester,
      region,
      eligible,
      reached,
      reachedNodes,
      bids,
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
  return { bidders, seal, spread, close }
}
