import { IdSet } from '@fleetmesh/ledger'
import { GOSSIP_HEARTBEAT_MS, GOSSIP_PROBE_SPACING_MS, HOUR_MS, RECEIPT_POOL_JOBS, STREAM_ROUND_TRIPS } from './constants.js'
import { HostCpu } from './cpu.js'
import { Dht } from './dht.js'
import { disseminate, reachOf, TopicMesh, validate } from './gossip.js'
import { EPOCH_MS, exchange, runOffer, runOffers } from './market.js'
import { LinkModel } from './network.js'
import { NodeTable, STATION } from './nodes.js'
import type { FleetNode } from './nodes.js'
import { EventQueue } from './queue.js'
import { makeReceipt, RECEIPT_ENTRY_BYTES, ReceiptSets, reconcilePair, sessionCost } from './receipts.js'
import { Rng } from './rng.js'
import { resolveScenario } from './scenario.js'
import { percentile } from './stats.js'
import { buildTopology } from './topology.js'
import type { OfferOutcome } from './market.js'
import type { ResolvedScenario, Scenario } from './scenario.js'
import type { Balances } from '@fleetmesh/ledger'

/**
 * A run of a scenario: the fleet, its topic meshes and routing tables, and
 * the virtual clock driving job submissions (Poisson, `jobsPerHour`),
 * lease ends, receipts, anti-entropy, DHT lookups and churn (leaves at
 * `churnPerHour` per node, rejoins after an exponential time away).
 */

/** Options of {@link simulate}. */
export interface SimulateOptions {
  /** PeerId strings of the nodes (to compare with a real mesh) @default `sim-<i>` */
  names?: string[]
  /** fleet-wide gossip probes (messages from random nodes on the receipts topic) @default 20 */
  gossipProbes?: number
  /** the nodes one by one (role, region, price, availability), e.g. those of a real mesh */
  fleet?: FleetNode[]
  /** the scenario's `dhtLookups` one after another instead of at random times: the first at `atMs` (virtual ms), each next `gapMs` after the previous ended (bench/scale's lookups: a phase of their own, before its gossip probes and market rounds, each awaited before the next) */
  lookupSequence?: { atMs: number, gapMs: number }
  /** scripted submissions (virtual ms, requester node number) instead of Poisson arrivals at `jobsPerHour` */
  jobs?: Array<{ atMs: number, requester: number }>
}

/** Figures of a run (names shared with `bench/scale.ts` where they measure the same thing). */
export interface SimFigures {
  nodes: number
  regions: number
  /** fleet-wide gossip probes: time until every online node had the message, ms */
  gossipToAllP50Ms: number
  gossipToAllP99Ms: number
  /** offers: share of the region's eligible workers reached within the bid window (mean, and the worst offer) */
  offerReach: number
  offerReachMin: number
  /** region offers topic: time until every online subscriber had the offer, ms (p99 over offers) */
  offerToAllP99Ms: number
  findProvidersSuccess: number
  findProvidersP50Ms: number
  /** of the lookups that found a provider, the share whose provider came from a server the seeker was not connected to (`bootstrap` topology; NaN without a connection graph) */
  findProvidersDialledShare: number
  /** submit to the last accepted award, ms (jobs with every slot placed) */
  offerToAwardsP50Ms: number
  offerToAwardsP99Ms: number
  /** the same less the bid window (bench/scale's `offerToAwardsP50Ms`: offer to every shard awarded, beyond the window), p50, ms */
  offerToAwardsBeyondWindowP50Ms: number
  /** per job, ms from the submission until the requester validated its bids (bench/scale's `bidHeard` timeline: p50 over the job's bids; and its last bid), each the median over jobs */
  bidsHeardP50Ms: number
  lastBidHeardMs: number
  /**
   * per job, ms from the submission until the requester planned its awards
   * (bench/scale's `awardSent`), until the workers had handled them
   * (`leaseAccepted`) and until their accepts were read (`acceptRead`),
   * p50 over the job's awards, each the median over jobs (the last two
   * on shared hosts only)
   */
  awardSentP50Ms: number
  leaseAcceptedP50Ms: number
  /** per job, ms from the submission until the region's nodes had the offer (bench/scale's `offerReached`) and until its bidders sent their bids (`bidSent`, shared hosts only), p50 over the job's nodes, the median over jobs */
  offerReachedP50Ms: number
  bidSentP50Ms: number
  acceptReadP50Ms: number
  /** jobs submitted, and jobs with a slot no bid took */
  jobs: number
  unplacedJobs: number
  /** receipts created */
  receipts: number
  /** time from a receipt's creation until every online node holds it, ms: p50, p99 and max over receipts (the sampled ones in `sampled` mode) */
  receiptConvergenceP50Ms: number
  receiptConvergenceP99Ms: number
  receiptConvergenceMs: number
  /** exact mode, per job as bench/scale measures it (its `receiptConvergenceMs`): from the job's last receipt's countersignature until every online node holds all its receipts, p50 over jobs, ms */
  receiptConvergenceJobP50Ms: number
  /** connections per node by role, mean (the scenario's `connectedPeers` for a `random` topology) */
  connectionsMean: { station: number, vehicle: number }
  /** bytes each node sends per hour, mean (gossip, IHAVE/IWANT, market streams, reconciliation, DHT) */
  bytesPerNodePerHour: number
  /** of those, by part: offers, bids, market direct streams (NoBid, award, accept), receipt gossip, anti-entropy sessions, DHT lookups */
  bytesPerNodePerHourBy: { offers: number, bids: number, direct: number, receipts: number, reconcile: number, dht: number }
  /** node leaves during the run */
  leaves: number
  /** events the clock ran */
  events: number
  /** wall-clock ms of the run */
  wallMs: number
  /** peak RSS of this process during the run, MB */
  rssMB: number
}

/** A finished run: figures, and what the comparison test checks. */
export interface SimResult {
  scenario: ResolvedScenario
  figures: SimFigures
  offers: OfferOutcome[]
  /** exact mode: each node's balances over its receipt set at the end */
  balances?: Balances[]
  /** exact mode: true if every online node holds the same receipt set at the end */
  converged?: boolean
}

const SUBMIT = 1
const LEASE_END = 2
const RECEIPT_ARRIVE = 3
const RECONCILE_TICK = 4
const RECONCILE_APPLY = 5
const LEAVE = 6
const JOIN = 7
const LOOKUP = 8
const SUBMIT_BATCH = 9

/**
 * Runs a scenario to its end (exact receipts: the ledger's sessions run
 * for real, so this is async).
 *
 * @throws SimConfigError on a bad scenario
 */
export async function simulate (input: Scenario, options: SimulateOptions = {}): Promise<SimResult> {
  const started = performance.now()
  let rss = process.memoryUsage().rss
  const s = resolveScenario(input)
  const rng = new Rng(s.seed)
  const nodes = new NodeTable(s, rng, options.names, options.fleet)
  const topology = buildTopology(s, nodes)
  const net = new LinkModel(s, nodes, new HostCpu(topology.hostOf, topology.hosts, s.wakeMs, rng, s.machine))
  const n = nodes.size
  const meshOptions = { connections: topology.connections, degreeOf: (node: number) => nodes.role[node] === STATION ? s.gossipDegree.station : s.gossipDegree.vehicle }
  const offers = nodes.byRegion.map(m => new TopicMesh(m, n, rng, meshOptions))
  // with vehiclesOnBidsTopic false only stations carry a region's bids (a vehicle publishes to its stations without joining)
  const bids = nodes.byRegion.map(m => new TopicMesh(s.vehiclesOnBidsTopic ? m : m.filter(x => nodes.role[x] === STATION), n, rng, meshOptions))
  const all = new TopicMesh(Array.from({ length: n }, (_, i) => i), n, rng, meshOptions)
  const dht = new Dht(nodes, net, rng, s.connectedPeers, topology.connections, { lookupMs: s.dhtLookupMs, rpcMs: s.dhtRpcMs, serverTableSize: s.serverTableSize > 0 ? s.serverTableSize : undefined })
  // every node provides its region's key (a DHT client puts its record through the servers); stations also role/station
  // where the scenario says its records sit (measured), else on the K closest servers
  const regionHolders = nodes.regions.map(r => s.recordHolders[r])
  for (let i = 0; i < n; i++) {
    dht.provide(`region/${nodes.regions[nodes.region[i]]}`, i, regionHolders[nodes.region[i]])
    if (nodes.role[i] === STATION) dht.provide('role/station', i)
  }
  rss = Math.max(rss, process.memoryUsage().rss)
  const q = new EventQueue()
  const world = { scenario: s, nodes, net, rng, offers, bids }
  let bytes = 0
  const by = { offers: 0, bids: 0, direct: 0, receipts: 0, reconcile: 0, dht: 0 }
  let leaves = 0
  let onlineCount = n
  const outcomes: OfferOutcome[] = []
  const lookups: Array<{ found: boolean, ms: number, dialled?: boolean }> = []
  const exact = s.receipts === 'exact'
  const sets = exact ? new ReceiptSets(n) : undefined
  const created: number[] = []
  const jobOf: string[] = []
  const holders: number[] = []
  const convergedAt: number[] = []
  let sampledReceipts = 0
  let closed = false
  let receiptCount = 0
  const sampledConvergence: number[] = []
  const receiptBytes: number[] = []
  // pending lease ends: what each one's receipt says
  const leases: Array<{ requester: number, worker: number, jobId: string, shardIndex: number, replica: number, units: number, price: number, startedAt: number }> = []
  const pendingApply: Uint8Array[][] = []

  // the cost of an idle anti-entropy session and of one that repairs a receipt, from the real sessions
  const idle = await sessionCost(Math.max(1, Math.round(s.jobsPerHour * s.durationMs / HOUR_MS * s.job.shardUnits.length)), 0)
  const repair = await sessionCost(Math.max(1, Math.round(s.jobsPerHour * s.durationMs / HOUR_MS * s.job.shardUnits.length)), 1)

  const indexOf = new Map<string, number>()
  const hex = (id: Uint8Array): string => Buffer.from(id).toString('hex')
  if (sets != null) {
    const create = sets.create.bind(sets)
    sets.create = (r) => { const i = create(r); indexOf.set(hex(r.id), i); return i }
  }
  const hold = (node: number, index: number): void => {
    if (sets == null || !sets.hold(node, index)) return
    holders[index]++
    if (holders[index] >= onlineCount && Number.isNaN(convergedAt[index])) convergedAt[index] = q.now
  }
  const checkConverged = (): void => {
    for (let i = 0; i < holders.length; i++) if (Number.isNaN(convergedAt[i]) && holders[i] >= onlineCount) convergedAt[i] = q.now
  }
  const randomOnline = (not: number): number => {
    for (let tries = 0; tries < 64; tries++) {
      const v = rng.int(n)
      if (v !== not && nodes.online[v] === 1) return v
    }
    return -1
  }

  const record = (o: OfferOutcome, requester: number, jobId: string): void => {
    outcomes.push(o)
    bytes += o.bytes
    by.offers += o.bytesOffer; by.bids += o.bytesBids; by.direct += o.bytesDirect
    if (o.unplaced === 0) {
      for (const a of o.awards) {
        nodes.held[a.worker]++
        const end = a.acceptedAt + s.workers.setupMs + s.workers.msPerUnit * a.units
        leases.push({ requester, worker: a.worker, jobId, shardIndex: a.shardIndex, replica: a.replica, units: a.units, price: a.pricePerUnit, startedAt: a.acceptedAt })
        q.schedule(end, LEASE_END, leases.length - 1)
      }
    }
  }
  q.on(SUBMIT, () => {
    if (closed) return
    const requester = randomOnline(-1)
    if (requester >= 0) {
      const jobId = `job-${outcomes.length}`
      record(runOffer(world, requester, jobId, q.now), requester, jobId)
    }
    if (s.jobsPerHour > 0) q.schedule(q.now + rng.exp(HOUR_MS / s.jobsPerHour), SUBMIT, -1)
  })
  // scripted submissions of one virtual ms run their rounds together (their offers and bids share the hosts)
  const batches: number[][] = []
  q.on(SUBMIT_BATCH, (k) => {
    if (closed) return
    const jobs = batches[k].filter(r => nodes.online[r] === 1).map((requester, i) => ({ requester, jobId: `job-${outcomes.length + i}` }))
    const results = runOffers(world, jobs, q.now)
    results.forEach((o, i) => { record(o, jobs[i].requester, jobs[i].jobId) })
  })

  // a receipt at a node: gossipsub's check on the host's thread (one unit), the ledger's signature checks in libuv's pool (the rest)
  const receiptOnThread = Math.min(1, s.receiptUnits) * net.processingMs
  const receiptOffThread = Math.max(0, s.receiptUnits - 1) * net.processingMs
  q.on(LEASE_END, (k) => {
    const l = leases[k]
    nodes.held[l.worker] = Math.max(0, nodes.held[l.worker] - 1)
    // Complete (with the worker-signed receipt) → Ack on a new stream, then the requester countersigns, stores and gossips the receipt
    // on shared hosts each step waits for its host's CPU
    const at = net.cpu.shared
      ? validate(net.cpu, l.requester, exchange(world, l.worker, l.requester, q.now, STREAM_ROUND_TRIPS, s.marketUnits * net.processingMs), receiptOnThread, receiptOffThread, RECEIPT_POOL_JOBS)
      : q.now + (1 + STREAM_ROUND_TRIPS) * net.roundTrip(l.worker, l.requester, rng) + 2 * s.marketUnits * net.processingMs + s.receiptUnits * net.processingMs
    receiptCount += s.receiptsPerLease
    if (nodes.online[l.requester] !== 1) return
    if (sets != null) {
      // the lease's entries (its receipt, and with receiptsPerLease > 1 those of its micro-batches), each countersigned and gossiped on its own, one after the other (the settlement awaits each add: its checks and its publish)
      let prev = at
      for (let e = 0; e < s.receiptsPerLease; e++) {
        const r = makeReceipt({ jobId: e === 0 ? l.jobId : `${l.jobId}/${e}`, shardIndex: l.shardIndex, replica: l.replica, requester: nodes.names[l.requester], worker: nodes.names[l.worker], units: l.units, pricePerUnit: l.price, startedAt: EPOCH_MS + l.startedAt, finishedAt: EPOCH_MS + q.now })
        const index = sets.create(r)
        jobOf[index] = l.jobId
        const signed = e === 0 ? at : validate(net.cpu, l.requester, prev, receiptOnThread, receiptOffThread, RECEIPT_POOL_JOBS)
        created[index] = signed
        holders[index] = 0
        convergedAt[index] = NaN
        const d = disseminate(all, nodes, net, rng, l.requester, signed, { dataBytes: RECEIPT_ENTRY_BYTES, connectedPeers: s.connectedPeers, processingMs: receiptOnThread, offThreadMs: receiptOffThread, poolJobs: RECEIPT_POOL_JOBS })
        prev = d.publishedAt
        bytes += d.bytes
        by.receipts += d.bytes
        for (let i = 0; i < all.size; i++) if (Number.isFinite(d.handled[i])) q.schedule(d.handled[i], RECEIPT_ARRIVE, all.members[i], index)
      }
    } else if (sampledReceipts < s.receiptSample && at > 0.1 * s.durationMs) {
      // sampled: gossip in full, then each online node it missed is repaired by its first anti-entropy session
      sampledReceipts++
      const d = disseminate(all, nodes, net, rng, l.requester, at, { dataBytes: RECEIPT_ENTRY_BYTES, connectedPeers: s.connectedPeers, processingMs: receiptOnThread, offThreadMs: receiptOffThread, poolJobs: RECEIPT_POOL_JOBS })
      let worst = 0
      for (let i = 0; i < all.size; i++) {
        const g = all.members[i]
        if (nodes.online[g] !== 1) continue
        let t = d.arrival[i]
        if (!Number.isFinite(t)) {
          // own sessions every interval (random phase) and other nodes' picks at the same rate
          const own = rng.next() * s.reconcileIntervalMs
          const theirs = rng.exp(s.reconcileIntervalMs)
          const partner = randomOnline(g)
          const oneWay = partner >= 0 ? net.latency(g, partner, rng) : 0
          t = at + GOSSIP_HEARTBEAT_MS + Math.min(own, theirs) + repair.messages * (oneWay + net.processingMs)
        }
        worst = Math.max(worst, t - at)
      }
      sampledConvergence.push(worst)
      receiptBytes.push(d.bytes)
    }
  })

  q.on(RECEIPT_ARRIVE, (node, index) => { if (nodes.online[node] === 1) hold(node, index) })

  q.on(RECONCILE_TICK, async (node) => {
    if (nodes.online[node] === 1 && sets != null) {
      const peer = randomOnline(node)
      if (peer >= 0) {
        const r = await reconcilePair(sets.sets[node].snapshot(), sets.sets[peer].snapshot())
        bytes += r.initiator.bytesSent + r.responder.bytesSent
        by.reconcile += r.initiator.bytesSent + r.responder.bytesSent
        const messages = r.initiator.rounds + r.responder.rounds
        let t = q.now
        for (let m = 0; m < messages; m++) t += net.latency(m % 2 === 0 ? node : peer, m % 2 === 0 ? peer : node, rng) + net.processingMs
        if (r.toInitiator.length > 0) { pendingApply.push(r.toInitiator); q.schedule(t, RECONCILE_APPLY, node, pendingApply.length - 1) }
        if (r.toResponder.length > 0) { pendingApply.push(r.toResponder); q.schedule(t, RECONCILE_APPLY, peer, pendingApply.length - 1) }
      }
    }
    q.schedule(q.now + s.reconcileIntervalMs, RECONCILE_TICK, node)
  })

  q.on(RECONCILE_APPLY, (node, k) => {
    const ids = pendingApply[k]
    if (sets == null || nodes.online[node] !== 1) return
    for (const id of ids) {
      if (!sets.holdId(node, id)) continue
      const index = indexOf.get(hex(id))
      if (index != null) { holders[index]++; if (holders[index] >= onlineCount && Number.isNaN(convergedAt[index])) convergedAt[index] = q.now }
    }
  })

  q.on(LEAVE, (node) => {
    if (nodes.online[node] === 1) {
      nodes.online[node] = 0
      nodes.leftAt[node] = q.now
      onlineCount--
      leaves++
      checkConverged()
      q.schedule(q.now + rng.exp(s.offlineMeanMs), JOIN, node)
    }
    q.schedule(q.now + rng.exp(HOUR_MS / (s.churnPerHour * n)), LEAVE, rng.int(n))
  })
  q.on(JOIN, (node) => {
    nodes.online[node] = 1
    onlineCount++
    // a rejoined node holds what it held before it left; its first anti-entropy session brings the rest
  })

  q.on(LOOKUP, () => {
    const src = randomOnline(-1)
    if (src < 0) return
    const r = dht.findProviders(src, `region/${nodes.regions[rng.int(nodes.regions.length)]}`, rng, q.now)
    lookups.push(r)
    bytes += r.bytes
    by.dht += r.bytes
    // in sequence: the next once this one has ended
    const seq = options.lookupSequence
    if (seq != null && lookups.length < s.dhtLookups) q.schedule(q.now + r.ms + seq.gapMs, LOOKUP)
  })

  if (options.jobs != null) {
    const at = new Map<number, number[]>()
    for (const j of options.jobs) at.set(j.atMs, [...(at.get(j.atMs) ?? []), j.requester])
    for (const [t, requesters] of at) { batches.push(requesters); q.schedule(t, SUBMIT_BATCH, batches.length - 1) }
  } else if (s.jobsPerHour > 0) q.schedule(rng.exp(HOUR_MS / s.jobsPerHour), SUBMIT, -1)
  if (s.churnPerHour > 0) q.schedule(rng.exp(HOUR_MS / (s.churnPerHour * n)), LEAVE, rng.int(n))
  if (options.lookupSequence != null) { if (s.dhtLookups > 0) q.schedule(options.lookupSequence.atMs, LOOKUP) } else for (let i = 0; i < s.dhtLookups; i++) q.schedule(rng.next() * s.durationMs, LOOKUP)
  if (exact) for (let i = 0; i < n; i++) q.schedule(rng.next() * s.reconcileIntervalMs, RECONCILE_TICK, i)

  // fleet-wide gossip probes, one after the other from the start (GOSSIP_PROBE_SPACING_MS apart: on shared hosts they do not queue behind each other)
  const probes: number[] = []
  for (let p = 0; p < (options.gossipProbes ?? 20); p++) {
    const origin = rng.int(n)
    const t0 = p * GOSSIP_PROBE_SPACING_MS
    const d = disseminate(all, nodes, net, rng, origin, t0, { dataBytes: 100, connectedPeers: s.connectedPeers })
    probes.push(reachOf(d, all, nodes, t0).allMs)
  }

  const step = Math.max(1000, s.durationMs / 100)
  for (let t = step; t <= s.durationMs + 1e-9; t += step) {
    if (exact) await q.runAsync(t)
    else q.run(t)
    rss = Math.max(rss, process.memoryUsage().rss)
  }
  // exact mode: let the last receipts settle (gossip, then anti-entropy), bounded; no new jobs
  closed = true
  if (exact) {
    checkConverged()
    for (let extra = 0; extra < 12 && convergedAt.some(Number.isNaN); extra++) {
      // no new jobs: the submissions stop at the end of the run
      await q.runAsync(q.now + s.reconcileIntervalMs)
      checkConverged()
    }
  }

  // per job, as bench/scale measures it: from its settlement (its last receipt countersigned) until every node holds all its receipts
  const jobConvergence: number[] = []
  if (exact) {
    const byJob = new Map<string, { settled: number, converged: number }>()
    created.forEach((c, i) => {
      const j = byJob.get(jobOf[i]) ?? { settled: -Infinity, converged: -Infinity }
      j.settled = Math.max(j.settled, c)
      j.converged = Math.max(j.converged, Number.isNaN(convergedAt[i]) ? Infinity : convergedAt[i])
      byJob.set(jobOf[i], j)
    })
    for (const j of byJob.values()) jobConvergence.push(Math.max(0, j.converged - j.settled))
  }
  const hours = s.durationMs / HOUR_MS
  const placed = outcomes.filter(o => o.unplaced === 0)
  const reach = outcomes.map(o => o.eligible === 0 ? 1 : o.reached / o.eligible)
  let convergence: number[]
  if (exact) convergence = created.map((c, i) => convergedAt[i] - c)
  else {
    convergence = sampledConvergence
    const perReceipt = receiptBytes.length > 0 ? receiptBytes.reduce((a, b) => a + b, 0) / receiptBytes.length : 0
    bytes += perReceipt * receiptCount
    by.receipts += perReceipt * receiptCount
    // every node initiates a session each interval; an idle one costs what the real session measured
    bytes += n * (s.durationMs / s.reconcileIntervalMs) * idle.bytes
    by.reconcile += n * (s.durationMs / s.reconcileIntervalMs) * idle.bytes
  }
  const figures: SimFigures = {
    nodes: n,
    regions: nodes.regions.length,
    gossipToAllP50Ms: percentile(probes, 0.5),
    gossipToAllP99Ms: percentile(probes, 0.99),
    offerReach: reach.length === 0 ? 1 : reach.reduce((a, b) => a + b, 0) / reach.length,
    offerReachMin: reach.length === 0 ? 1 : Math.min(...reach),
    offerToAllP99Ms: percentile(outcomes.map(o => o.offerToAllMs), 0.99),
    findProvidersSuccess: lookups.length === 0 ? NaN : lookups.filter(l => l.found).length / lookups.length,
    findProvidersP50Ms: percentile(lookups.filter(l => l.found).map(l => l.ms), 0.5),
    findProvidersDialledShare: topology.connections == null || !lookups.some(l => l.found) ? NaN : lookups.filter(l => l.found && l.dialled === true).length / lookups.filter(l => l.found).length,
    offerToAwardsP50Ms: percentile(placed.map(o => o.offerToAwardsMs), 0.5),
    offerToAwardsP99Ms: percentile(placed.map(o => o.offerToAwardsMs), 0.99),
    offerToAwardsBeyondWindowP50Ms: percentile(placed.map(o => o.offerToAwardsMs - s.job.bidWindowMs), 0.5),
    bidsHeardP50Ms: percentile(outcomes.filter(o => o.heardAt.length > 0).map(o => percentile(o.heardAt.map(t => t - o.submittedAt), 0.5)), 0.5),
    lastBidHeardMs: percentile(outcomes.filter(o => o.heardAt.length > 0).map(o => Math.max(...o.heardAt) - o.submittedAt), 0.5),
    awardSentP50Ms: percentile(placed.map(o => o.plannedAt - o.submittedAt), 0.5),
    offerReachedP50Ms: percentile(outcomes.filter(o => o.reachedAt.length > 0).map(o => percentile(o.reachedAt.map(t => t - o.submittedAt), 0.5)), 0.5),
    bidSentP50Ms: percentile(outcomes.filter(o => o.bidSentAt.length > 0).map(o => percentile(o.bidSentAt.map(t => t - o.submittedAt), 0.5)), 0.5),
    leaseAcceptedP50Ms: percentile(placed.map(o => percentile(o.awards.map(a => a.servedAt - o.submittedAt), 0.5)).filter(Number.isFinite), 0.5),
    acceptReadP50Ms: percentile(placed.map(o => percentile(o.awards.map(a => a.acceptedAt - o.submittedAt), 0.5)), 0.5),
    jobs: outcomes.length,
    unplacedJobs: outcomes.length - placed.length,
    receipts: receiptCount,
    receiptConvergenceP50Ms: percentile(convergence, 0.5),
    receiptConvergenceP99Ms: percentile(convergence, 0.99),
    receiptConvergenceMs: convergence.length === 0 ? NaN : Math.max(...convergence),
    receiptConvergenceJobP50Ms: percentile(jobConvergence, 0.5),
    connectionsMean: topology.connections == null
      ? { station: s.connectedPeers, vehicle: s.connectedPeers }
      : { station: topology.connections.meanDegree(u => nodes.role[u] === STATION), vehicle: topology.connections.meanDegree(u => nodes.role[u] !== STATION) },
    bytesPerNodePerHour: bytes / n / hours,
    bytesPerNodePerHourBy: { offers: by.offers / n / hours, bids: by.bids / n / hours, direct: by.direct / n / hours, receipts: by.receipts / n / hours, reconcile: by.reconcile / n / hours, dht: by.dht / n / hours },
    leaves,
    events: q.processed,
    wallMs: performance.now() - started,
    rssMB: Math.max(rss, process.memoryUsage().rss) / 2 ** 20
  }
  const result: SimResult = { scenario: s, figures, offers: outcomes }
  if (sets != null) {
    result.balances = Array.from({ length: n }, (_, i) => sets.balancesOf(i))
    const first = nodes.online.indexOf(1)
    const ref = first >= 0 ? sets.sets[first] : new IdSet()
    result.converged = sets.sets.every((set, i) => nodes.online[i] !== 1 || (set.size === ref.size && set.fingerprint(0, set.size).every((b, k) => b === ref.fingerprint(0, ref.size)[k])))
  }
  return result
}
