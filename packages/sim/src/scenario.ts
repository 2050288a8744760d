import { BASE_PRICE_PER_UNIT, BID_WINDOW_MS, DEFAULT_MS_PER_UNIT, DEFAULT_UNCACHED_SETUP_MS, LOAD_FACTOR, MAX_CONCURRENT_LEASES } from '@fleetmesh/market'
import { RECONCILE_INTERVAL_MS } from '@fleetmesh/ledger'
import { assertRegion } from '@fleetmesh/protocol'
import { CHURN_PER_HOUR, CONNECTED_PEERS, DEFAULT_SEED, GOSSIP_D, MARKET_MESSAGE_UNITS, GOSSIP_DHI, GOSSIP_DLO, OFFLINE_MEAN_MS, PROCESSING_MS, RECEIPT_SAMPLE, RECEIPT_UNITS, SCALE_BID_WINDOW_MS, SCALE_GOSSIP_DEGREE, SCALE_JOB_ROUNDS, SCALE_ROUND_MS, SCALE_VEHICLE_HOSTS } from './constants.js'
import { SimConfigError } from './errors.js'

/**
 * The scenario format: plain JSON data (survives `structuredClone` and a
 * file) describing a fleet, its network and its workload. The real
 * benchmark (`bench/scale.ts`) and the simulator (`bench/sim.ts`) read the
 * same scenario ({@link scaleScenario}), so their figures compare.
 */

/** One class of link: one-way latency and loss. */
export interface LinkClass {
  /** fixed one-way latency, ms */
  meanMs: number
  /** mean of the exponential jitter added to each message, ms */
  jitterMs: number
  /** chance that a message on this link is lost, 0..1 */
  loss: number
}

/** Links by class: station to station in a region, station to station across regions, and any link with a vehicle (cellular). */
export interface LinkClasses {
  backbone: LinkClass
  interRegion: LinkClass
  cellular: LinkClass
}

/** The job every requester submits (fields of `JobSpec`). */
export interface ScenarioJob {
  /** compute units of each shard */
  shardUnits: number[]
  /** credits per compute unit */
  maxPricePerUnit: number
  /** ms from submit to the deadline */
  deadlineMs: number
  /** ms the requester collects bids at most @default BID_WINDOW_MS (500) */
  bidWindowMs?: number
  /** @default 1 */
  redundancy?: number
  /** @default 0 */
  minReputation?: number
}

/** How workers price and run shards. */
export interface ScenarioWorkers {
  /** base prices are spread evenly over [min, max] credits per unit */
  basePricePerUnit: [number, number]
  /** @default LOAD_FACTOR (0.5) */
  loadFactor?: number
  /** @default MAX_CONCURRENT_LEASES (4) */
  maxConcurrentLeases?: number
  /** @default DEFAULT_MS_PER_UNIT (10) */
  msPerUnit?: number
  /** @default DEFAULT_UNCACHED_SETUP_MS (2000) */
  setupMs?: number
  /** share of vehicles whose owner policy allows work (parked with enough charge, or charging), 0..1 @default 1 */
  vehiclesAvailable?: number
}

/** A gossipsub mesh degree (`D`, `Dlo`, `Dhi` of @libp2p/gossipsub's options). */
export interface GossipDegree {
  /** peers a node grafts itself */
  D: number
  /** below this many mesh peers its heartbeat grafts more */
  Dlo: number
  /** grafts it accepts up to (its heartbeat prunes above) */
  Dhi: number
}

/** A scenario. Every optional field has the default named in its docs. */
export interface Scenario {
  name: string
  /** @default DEFAULT_SEED (1) */
  seed?: number
  /** nodes in the fleet */
  nodes: number
  /** region geohash prefixes; nodes are spread evenly over them */
  regions: string[]
  /** share of stations, 0..1 (at least one per region) */
  stationShare: number
  links: LinkClasses
  /** CPU time per message a node handles, ms @default PROCESSING_MS (0.5) */
  processingMs?: number
  /** CPU a findProviders costs its requester before its first RPCs (kad-dht's query set-up), ms @default 0 */
  dhtLookupMs?: number
  /** CPU a DHT server spends answering one RPC, ms, beyond the round trip's `processingMs` @default 0 */
  dhtRpcMs?: number
  /** CPU a node spends on each gossip copy it sends (encoding, noise, yamux), beyond `processingMs`, ms @default 0 (counted in `processingMs`) */
  sendMs?: number
  /**
   * CPU a node spends on a gossip copy of a message it has already seen,
   * ms: the copy is decrypted and decoded, its message id hashed and found
   * in gossipsub's seen cache, and dropped (no signature check, no
   * validation, no forward); only on shared hosts (bench/scale), where a
   * station's process receives a copy from most of its mesh peers
   * @default 0
   */
  duplicateMs?: number
  /** delay from a message's arrival to the earliest moment its node's process runs it, taking no CPU (a process waking on a loaded machine), ms @default 0 */
  wakeMs?: number
  /** peers each node is connected to (`random` topology) @default CONNECTED_PEERS (40) */
  connectedPeers?: number
  /**
   * `random`: each node connected to `connectedPeers` random peers, each on
   * its own CPU; `bootstrap`: the connections of bench/scale's bootstrap
   * lists and its processes (stations in one, vehicles round robin over
   * `vehicleHosts`), see `buildTopology` @default 'random'
   */
  topology?: 'random' | 'bootstrap'
  /** processes hosting the vehicles (`bootstrap` topology) @default SCALE_VEHICLE_HOSTS (4) */
  vehicleHosts?: number
  /** `bootstrap` topology: the stations also connect to every other station (a station's routing-table refill dials the stations the DHT names) @default false */
  stationsFullyConnected?: boolean
  /** `bootstrap` topology: connections of a vehicle to stations beyond its two bootstrap stations (random stations of any region: its DHT lookups' dials), mean @default 0 */
  extraVehicleLinks?: number
  /** vehicles join their region's bids topic (and validate and forward every bid); false: a vehicle publishes its bid to the stations it is connected to without joining, and only stations carry a region's bids @default true */
  vehiclesOnBidsTopic?: boolean
  /** the requester pings each connected bidder in the bid window (the early award waits for each RTT); false: it knows their RTTs already @default true */
  pingBidders?: boolean
  /** gossipsub mesh degree by role @default gossipsub's D 6, Dlo 4, Dhi 12 for both */
  gossipDegree?: { station: GossipDegree, vehicle: GossipDegree }
  /** leaves per node per hour, 0..1 @default 0 */
  churnPerHour?: number
  /** mean time away of a node that left, ms @default OFFLINE_MEAN_MS (1 h) */
  offlineMeanMs?: number
  /** length of the run, ms */
  durationMs: number
  /** jobs submitted per hour, fleet-wide (requesters are random online nodes) */
  jobsPerHour: number
  job: ScenarioJob
  workers: ScenarioWorkers
  /**
   * Where each region key's provider records sit: region → node numbers of
   * the stations holding them (a region missing: the K servers closest to
   * its key, as provides over converged routing tables leave them). For
   * bench/scale's start-up, as its `recordsByStation` measures them (its
   * stations in start order are `scaleScenario`'s node numbers: 200 nodes,
   * each region's key on its 10 stations and on the other region's first
   * station only; 100 nodes, on 9 of the 10 stations) @default {}
   */
  recordHolders?: Record<string, number[]>
  /**
   * `bootstrap` topology: each station's routing table holds this many
   * stations (its connected stations first, then random ones), as
   * bench/scale's start-up leaves them (measured: `shape.station.routingTableMean`,
   * 6.4 of 19 at 200 nodes); 0: the converged table (K per 6-bit prefix) @default 0
   */
  serverTableSize?: number
  /** findProviders lookups run, from random nodes for a random region key @default 0 */
  dhtLookups?: number
  /** anti-entropy interval, ms @default RECONCILE_INTERVAL_MS (5000) */
  reconcileIntervalMs?: number
  /**
   * `exact`: every node holds its receipt set and reconciles with the real
   * sessions; `sampled`: the fleet-wide dissemination of a sample of
   * receipts is simulated in full, and repair by anti-entropy drawn from
   * the session rate @default 'exact' up to 2000 nodes, else 'sampled'
   */
  receipts?: 'exact' | 'sampled'
  /** a market message's CPU at each hop and each end of a direct exchange, in units of `processingMs` @default MARKET_MESSAGE_UNITS (3) */
  marketUnits?: number
  /** a received receipt's CPU in units of `processingMs`: one on the node's thread (gossipsub's check), the rest off it (the ledger's signature checks, in libuv's pool) @default RECEIPT_UNITS (2) */
  receiptUnits?: number
  /** `exact` mode: ledger entries a lease's settlement adds (its receipt, and those of its micro-batches and spot checks), each gossiped on its own @default 1 */
  receiptsPerLease?: number
  /** receipts simulated in full in `sampled` mode @default RECEIPT_SAMPLE (20) */
  receiptSample?: number
  /**
   * CPU a worker's first lease takes on its host's thread before the
   * worker's accept leaves, ms: the market starts the lease
   * (`setTimeout(runLease, 0)`) while the accept is being sealed, and a
   * worker's first lease starts its inference runtime (`createRuntime`
   * forks the runner process); bench/sim-cost.ts `measureRunnerStart`
   * measures it @default 0
   */
  runnerStartMs?: number
  /**
   * CPU a node spends, beyond `marketUnits`, on the first gossiped market
   * message (offer, bid) of each signer it validates, in units of
   * `processingMs`: the market's certificate cache misses and verifies the
   * signer's certificate (`verifyCertificate`; later messages of the same
   * signer find it cached); bench/sim-cost.ts `measureCertificateCheck`
   * measures it. Each node then keeps the signers it has seen (one set
   * per node: for the calibration's sizes, not for field fleets) @default 0
   */
  certificateUnits?: number
  /**
   * a worker's first lease's runner process: ms it runs as one more
   * runnable process on the machine while it boots (its CPU on another
   * core; bench/sim-cost.ts `measureRunnerStart`), slowing the hosts' work
   * meanwhile by the machine's load with it (`machine`) @default 0
   */
  runnerBootMs?: number
  /**
   * the machine the hosts share (bench/scale's): its cores and its
   * runnable processes on average (the run's load average), for
   * `runnerBootMs`; `otherLoad`, the runnable processes besides the hosts
   * (the load before the run): a host's work then waits `wakeMs` only
   * while the machine has no core free (see `HostCpu`) @default none
   */
  machine?: { cores: number, load: number, otherLoad?: number }
}

/** A scenario with every default applied. */
export type ResolvedScenario = Required<Scenario> & { job: Required<ScenarioJob>, workers: Required<ScenarioWorkers> }

/**
 * Applies the defaults and checks the ranges.
 *
 * @throws SimConfigError naming the bad field
 */
export function resolveScenario (s: Scenario): ResolvedScenario {
  const check = (ok: boolean, what: string): void => { if (!ok) throw new SimConfigError(`scenario ${s.name ?? ''}: ${what}`) }
  check(Number.isInteger(s.nodes) && s.nodes >= 2, `nodes must be an integer of at least 2, not ${s.nodes}`)
  check(Array.isArray(s.regions) && s.regions.length >= 1, 'regions must list at least one region')
  for (const r of s.regions) {
    try { assertRegion(r) } catch { check(false, `region "${r}" is not a geohash prefix`) }
  }
  check(s.stationShare >= 0 && s.stationShare <= 1, `stationShare must be in 0..1, not ${s.stationShare}`)
  check(s.durationMs > 0, `durationMs must be positive, not ${s.durationMs}`)
  check(s.jobsPerHour >= 0, `jobsPerHour must not be negative, not ${s.jobsPerHour}`)
  check(s.job.shardUnits.length >= 1 && s.job.shardUnits.every(u => Number.isInteger(u) && u > 0), 'job.shardUnits must be positive integers')
  for (const k of ['backbone', 'interRegion', 'cellular'] as const) {
    const l = s.links?.[k]
    check(l != null && l.meanMs >= 0 && l.jitterMs >= 0 && l.loss >= 0 && l.loss < 1, `links.${k} needs meanMs ≥ 0, jitterMs ≥ 0 and loss in [0, 1)`)
  }
  for (const role of ['station', 'vehicle'] as const) {
    const d = s.gossipDegree?.[role]
    if (d == null) continue
    check(Number.isInteger(d.D) && d.D >= 1 && d.Dlo <= d.D && d.D <= d.Dhi && d.Dhi <= 255, `gossipDegree.${role} needs integers 1 ≤ D, Dlo ≤ D ≤ Dhi ≤ 255`)
  }
  check(s.receiptsPerLease == null || (Number.isInteger(s.receiptsPerLease) && s.receiptsPerLease >= 1), `receiptsPerLease must be a positive integer, not ${s.receiptsPerLease}`)
  check(s.marketUnits == null || s.marketUnits >= 0, `marketUnits must not be negative, not ${s.marketUnits}`)
  check(s.runnerStartMs == null || s.runnerStartMs >= 0, `runnerStartMs must not be negative, not ${s.runnerStartMs}`)
  check(s.certificateUnits == null || s.certificateUnits >= 0, `certificateUnits must not be negative, not ${s.certificateUnits}`)
  check(s.runnerBootMs == null || s.runnerBootMs >= 0, `runnerBootMs must not be negative, not ${s.runnerBootMs}`)
  check(s.receiptUnits == null || s.receiptUnits >= 0, `receiptUnits must not be negative, not ${s.receiptUnits}`)
  check((s.dhtLookupMs ?? 0) >= 0 && (s.dhtRpcMs ?? 0) >= 0, 'dhtLookupMs and dhtRpcMs must not be negative')
  check(s.sendMs == null || s.sendMs >= 0, `sendMs must not be negative, not ${s.sendMs}`)
  check(s.duplicateMs == null || s.duplicateMs >= 0, `duplicateMs must not be negative, not ${s.duplicateMs}`)
  check(s.wakeMs == null || s.wakeMs >= 0, `wakeMs must not be negative, not ${s.wakeMs}`)
  for (const [r, holders] of Object.entries(s.recordHolders ?? {})) check(s.regions.includes(r) && holders.every(h => Number.isInteger(h) && h >= 0 && h < s.nodes), `recordHolders.${r} needs a region of the scenario and node numbers 0..${s.nodes - 1}`)
  check(s.serverTableSize == null || s.serverTableSize >= 0, `serverTableSize must not be negative, not ${String(s.serverTableSize)}`)
  check(s.vehicleHosts == null || (Number.isInteger(s.vehicleHosts) && s.vehicleHosts >= 1), `vehicleHosts must be a positive integer, not ${s.vehicleHosts}`)
  const churn = s.churnPerHour ?? 0
  check(churn >= 0 && churn <= 1, `churnPerHour must be in 0..1, not ${churn}`)
  return {
    ...s,
    seed: s.seed ?? DEFAULT_SEED,
    processingMs: s.processingMs ?? PROCESSING_MS,
    connectedPeers: s.connectedPeers ?? CONNECTED_PEERS,
    wakeMs: s.wakeMs ?? 0,
    sendMs: s.sendMs ?? 0,
    duplicateMs: s.duplicateMs ?? 0,
    dhtLookupMs: s.dhtLookupMs ?? 0,
    dhtRpcMs: s.dhtRpcMs ?? 0,
    topology: s.topology ?? 'random',
    stationsFullyConnected: s.stationsFullyConnected ?? false,
    extraVehicleLinks: s.extraVehicleLinks ?? 0,
    vehiclesOnBidsTopic: s.vehiclesOnBidsTopic ?? true,
    pingBidders: s.pingBidders ?? true,
    vehicleHosts: s.vehicleHosts ?? SCALE_VEHICLE_HOSTS,
    gossipDegree: s.gossipDegree ?? { station: { ...DEFAULT_DEGREE }, vehicle: { ...DEFAULT_DEGREE } },
    churnPerHour: churn,
    offlineMeanMs: s.offlineMeanMs ?? OFFLINE_MEAN_MS,
    recordHolders: s.recordHolders ?? {},
    serverTableSize: s.serverTableSize ?? 0,
    dhtLookups: s.dhtLookups ?? 0,
    reconcileIntervalMs: s.reconcileIntervalMs ?? RECONCILE_INTERVAL_MS,
    receipts: s.receipts ?? (s.nodes <= 2000 ? 'exact' : 'sampled'),
    receiptSample: s.receiptSample ?? RECEIPT_SAMPLE,
    receiptsPerLease: s.receiptsPerLease ?? 1,
    receiptUnits: s.receiptUnits ?? RECEIPT_UNITS,
    marketUnits: s.marketUnits ?? MARKET_MESSAGE_UNITS,
    runnerStartMs: s.runnerStartMs ?? 0,
    certificateUnits: s.certificateUnits ?? 0,
    runnerBootMs: s.runnerBootMs ?? 0,
    machine: s.machine ?? { cores: 0, load: 0 },
    job: { bidWindowMs: BID_WINDOW_MS, redundancy: 1, minReputation: 0, ...s.job },
    workers: { loadFactor: LOAD_FACTOR, maxConcurrentLeases: MAX_CONCURRENT_LEASES, msPerUnit: DEFAULT_MS_PER_UNIT, setupMs: DEFAULT_UNCACHED_SETUP_MS, vehiclesAvailable: 1, ...s.workers }
  }
}

const DEFAULT_DEGREE: Readonly<GossipDegree> = Object.freeze({ D: GOSSIP_D, Dlo: GOSSIP_DLO, Dhi: GOSSIP_DHI })

/** Loopback: every node of the real bench runs in one process on one machine. */
export const LOOPBACK_LINK: Readonly<LinkClass> = Object.freeze({ meanMs: 0.05, jitterMs: 0.05, loss: 0 })

/** Assumed field links: a station backbone inside a region (metro fibre). */
export const BACKBONE_LINK: Readonly<LinkClass> = Object.freeze({ meanMs: 2, jitterMs: 1, loss: 0 })

/** Assumed field links: stations of different regions (national backbone). */
export const INTER_REGION_LINK: Readonly<LinkClass> = Object.freeze({ meanMs: 20, jitterMs: 5, loss: 0 })

/** Assumed field links: a vehicle on LTE behind carrier NAT, relayed or hole-punched (one-way ~40 ms, 1 % loss). */
export const CELLULAR_LINK: Readonly<LinkClass> = Object.freeze({ meanMs: 40, jitterMs: 15, loss: 0.01 })

/**
 * The scenario of the real fleet-scale benchmark (`bench/scale.ts`) at
 * `nodes` nodes, as it runs on one machine:
 *
 * - two regions (`u33d`, `u33e`), one station in ten (at least one per
 *   region), nodes round robin over the regions, the stations first;
 * - its bootstrap lists as the connection graph, the stations in the bench
 *   process and the vehicles round robin over SCALE_VEHICLE_HOSTS (4)
 *   worker processes (`topology: 'bootstrap'`, see `buildTopology`);
 * - fleetmesh's gossip degrees by role (SCALE_GOSSIP_DEGREE: stations
 *   D 8 / Dlo 6 / Dhi 64, vehicles D 3 / Dlo 2 / Dhi 6);
 * - every node a worker at the market's default base price (1 credit per
 *   unit), vehicles parked and allowed to work;
 * - the job: 2 shards, bid window SCALE_BID_WINDOW_MS (300), submitted by
 *   the first station of each region at once, SCALE_JOB_ROUNDS (3) rounds
 *   SCALE_ROUND_MS apart ({@link scaleJobs}; no Poisson arrivals);
 * - loopback links.
 *
 * `processingMs` stands for the CPU a node spends on one plain gossip
 * message when its process shares the machine's cores with the others
 * (fitted by the calibration in `bench/sim.ts`).
 */
export function scaleScenario (nodes: number, processingMs = PROCESSING_MS): Scenario {
  const regions = ['u33d', 'u33e']
  const stations = Math.max(regions.length, Math.round(nodes / 10))
  return {
    name: `scale-n${nodes}`,
    nodes,
    regions,
    stationShare: stations / nodes,
    links: { backbone: { ...LOOPBACK_LINK }, interRegion: { ...LOOPBACK_LINK }, cellular: { ...LOOPBACK_LINK } },
    processingMs,
    topology: 'bootstrap',
    vehicleHosts: SCALE_VEHICLE_HOSTS,
    gossipDegree: { station: { ...SCALE_GOSSIP_DEGREE.station }, vehicle: { ...SCALE_GOSSIP_DEGREE.vehicle } },
    durationMs: 20_000 + SCALE_JOB_ROUNDS * SCALE_ROUND_MS,
    jobsPerHour: 0,
    job: { shardUnits: [100, 100], maxPricePerUnit: 10, deadlineMs: 120_000, bidWindowMs: SCALE_BID_WINDOW_MS },
    workers: { basePricePerUnit: [BASE_PRICE_PER_UNIT, BASE_PRICE_PER_UNIT], maxConcurrentLeases: MAX_CONCURRENT_LEASES },
    dhtLookups: 60,
    receipts: 'exact'
  }
}

/**
 * bench/scale's submissions for a scenario of {@link scaleScenario}: in each
 * of `rounds` rounds (SCALE_ROUND_MS apart, the first at 20 s, after the
 * gossip probes) the first station of each region submits at once.
 *
 * @returns the `jobs` option of `simulate` (virtual ms, requester node number)
 */
export function scaleJobs (s: Scenario, rounds = SCALE_JOB_ROUNDS): Array<{ atMs: number, requester: number }> {
  // nodes round robin over the regions, stations first: node r is region r's first station
  const out: Array<{ atMs: number, requester: number }> = []
  for (let k = 0; k < rounds; k++) for (let r = 0; r < Math.min(s.regions.length, s.nodes); r++) out.push({ atMs: 20_000 + k * SCALE_ROUND_MS, requester: r })
  return out
}

/**
 * A field fleet: `nodes` nodes in `regions` regions of 1,000–5,000 nodes,
 * one station in ten, field links, `churnPerHour` churn (5 %), one hour.
 */
export function fleetScenario (nodes: number, churnPerHour = CHURN_PER_HOUR): Scenario {
  const regionCount = Math.max(1, Math.round(nodes / 5000))
  const base32 = '0123456789bcdefghjkmnpqrstuvwxyz'
  const regions = Array.from({ length: regionCount }, (_, i) => `u${base32[Math.floor(i / 32) % 32]}${base32[i % 32]}`)
  return {
    name: `fleet-n${nodes}`,
    nodes,
    regions,
    stationShare: 0.1,
    links: { backbone: { ...BACKBONE_LINK }, interRegion: { ...INTER_REGION_LINK }, cellular: { ...CELLULAR_LINK } },
    churnPerHour,
    durationMs: 60 * 60 * 1000,
    jobsPerHour: 20 * regionCount,
    job: { shardUnits: [100, 100, 100, 100, 100, 100, 100, 100], maxPricePerUnit: 2, deadlineMs: 120_000, bidWindowMs: BID_WINDOW_MS },
    workers: { basePricePerUnit: [0.5, 1.5], maxConcurrentLeases: 2, vehiclesAvailable: 0.3 },
    dhtLookups: 200,
    receipts: 'sampled'
  }
}
