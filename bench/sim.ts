/**
 * bench/sim: the discrete-event simulator (@fleetmesh/sim).
 *
 * (a) Calibration: the simulator runs `scaleScenario(n)` — the scenario of
 *     `bench/scale.ts`: its bootstrap connections, its processes (stations
 *     in one, vehicles over four), its gossip degrees, its two-shard jobs
 *     submitted by each region's first station at once, its 15 gossip
 *     probes — and prints its figures beside the real ones with their
 *     ratio (sim ÷ real; goal 0.75..1.25), each measured as bench/scale
 *     measures it: gossipToAllP50Ms / P99Ms (publish to the last node),
 *     findProvidersSuccess / P50Ms, offerToAwardsP50Ms (beyond the bid
 *     window) and receiptConvergenceMs (per job from its settlement, p50).
 *     The real figures come from `--real <scale.json>[,<scale.json>…]`
 *     (bench/scale.ts `--out`: figures keyed n50/n100/n200, the gossip
 *     median and connection counts from its `runs`), or, without one, from
 *     a real mesh of `--real-mesh` nodes started here (bench/sim-real.ts),
 *     simulated at the same size with random connections. The simulator's
 *     one free parameter, `processingMs` (CPU of one plain gossip message
 *     on a host's thread, on the loaded machine), is fitted per run on
 *     gossipToAllP50Ms (gossipToAllP99Ms when the file has no median); the
 *     other figures are predictions, each the median over `--seeds` runs.
 *     `--model relay` simulates the bid
 *     path where vehicles send their bids to their stations without joining
 *     the bids topic, requesters know their bidders' RTTs (no ping in the
 *     window); `main` (default) the path where every vehicle carries its
 *     region's bids. The stations are taken to be connected to every
 *     other station when the file's station connection count says so.
 * (b) Scale: `fleetScenario(n)` (regions of ~5,000 nodes, one station in
 *     ten, field links, 5 % churn per hour, one hour) for each `--sizes`
 *     size: offer reach, offer to awards, receipt convergence, bytes per
 *     node per hour, wall time and RSS.
 *
 * Prints one JSON object with a `figures` object; `--out <file>` writes it
 * there too. Run: npm run bench:sim -- [--real scale.json[,scale.json]] [--real-mesh 24] [--real-runs 10]
 * [--calibrate 100,200] [--sizes 10000,100000] [--skip-calibration] [--processing-ms 0.367 --send-ms 0.131 --receipt-units 2.37 --market-units 1.40 --dht-lookup-ms 4.85 --dht-rpc-ms 5.44 --runner-start-ms 6.22 --runner-boot-ms 230 --certificate-units 0.66] [--duplicate-ms 0.22] [--always-wait] [--records measured|closest] [--records-from scale.json[,…]] [--model main|relay] [--seeds 3]
 *
 * `--duplicate-ms`: a duplicate gossip copy's CPU at its receiver (idle ms; default the measured receive less its signature check); `--always-wait`: every piece of work on a shared host waits `wakeMs`, ignoring the file's `loadAverage1mBefore` (the machine's other load, which otherwise lets work start at once while a core is free); `--records`: where the region keys' provider records sit, `measured` (default: on the stations the file's `recordsByStation` says, or, for a file without it, those of a `--records-from` file's run of the same size; else the K closest) or `closest` (the K closest servers, as before); the placement used is printed beside
 */
import { writeFileSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { availableParallelism, loadavg } from 'node:os'
import { basename } from 'node:path'
import { DEFAULT_MS_PER_UNIT } from '@fleetmesh/market'
import { fleetScenario, percentile, scaleJobs, scaleScenario, simulate } from '@fleetmesh/sim'
import { measureCertificateCheck, measureCopyCost, measureLookupFanout, measureMessageCost, measureRunnerStart } from './sim-cost.js'
import { measureRealMesh } from './sim-real.js'
import type { Scenario, SimFigures, SimulateOptions } from '@fleetmesh/sim'
import type { RealFigures } from './sim-real.js'

const { values } = parseArgs({
  options: {
    real: { type: 'string' },
    'real-mesh': { type: 'string', default: '24' },
    'real-runs': { type: 'string', default: '10' },
    calibrate: { type: 'string', default: '100,200' },
    sizes: { type: 'string', default: '10000,100000' },
    'skip-calibration': { type: 'boolean', default: false },
    'processing-ms': { type: 'string' },
    'receipt-units': { type: 'string' },
    'send-ms': { type: 'string' },
    'duplicate-ms': { type: 'string' },
    'dht-lookup-ms': { type: 'string' },
    'dht-rpc-ms': { type: 'string' },
    'market-units': { type: 'string' },
    'runner-start-ms': { type: 'string' },
    'certificate-units': { type: 'string' },
    'runner-boot-ms': { type: 'string' },
    'always-wait': { type: 'boolean', default: false },
    // where region keys' provider records sit: measured (the file's recordsByStation, else --records-from's of the same size, else the K closest) or closest (the K closest servers)
    records: { type: 'string', default: 'measured' },
    'records-from': { type: 'string' },
    model: { type: 'string', default: 'main' },
    seeds: { type: 'string', default: '3' },
    out: { type: 'string' }
  }
})

const COMPARED = ['gossipToAllP50Ms', 'gossipToAllP99Ms', 'findProvidersSuccess', 'findProvidersP50Ms', 'offerToAwardsP50Ms', 'receiptConvergenceMs'] as const
type Compared = typeof COMPARED[number]

/**
 * The simulator's figure that measures what bench/scale's figure of the
 * same name measures: its offer to awards is beyond the bid window, its
 * receipt convergence per job from the settlement (p50 over jobs).
 */
const SCALE_MEASURE: Record<Compared, keyof SimFigures> = {
  gossipToAllP50Ms: 'gossipToAllP50Ms',
  gossipToAllP99Ms: 'gossipToAllP99Ms',
  findProvidersSuccess: 'findProvidersSuccess',
  findProvidersP50Ms: 'findProvidersP50Ms',
  offerToAwardsP50Ms: 'offerToAwardsBeyondWindowP50Ms',
  receiptConvergenceMs: 'receiptConvergenceJobP50Ms'
}

/** The same for bench/sim-real.ts's in-process mesh (submit to running; the worst job's convergence). */
const MESH_MEASURE: Record<Compared, keyof SimFigures> = { ...SCALE_MEASURE, offerToAwardsP50Ms: 'offerToAwardsP50Ms', receiptConvergenceMs: 'receiptConvergenceMs' }

/** Shards of bench/scale's job. */
const SCALE_SHARDS = 2

/** bench/scale gossip probes per size (its `--messages` default): the sim's p99 is over as many. */
const SCALE_PROBES = 15
/** Virtual ms from one of the calibration's lookups to the next: bench/scale awaits each (an IPC round trip to the seeker's process) before it starts the next */
const SCALE_LOOKUP_GAP_MS = 5

/** This machine's cores (bench/scale ran here: its load average over them is the slowdown of its processes' CPU). */
const CORES = availableParallelism()

/** The measured CPU costs the calibration's scenarios take (ms on an idle core; units of `processingMs`). */
interface Costs { processingMs: number, sendMs: number, duplicateMs: number, receiptUnits: number, marketUnits: number, dhtLookupMs: number, dhtRpcMs: number, runnerStartMs: number, runnerBootMs: number, certificateUnits: number }
let measured: Costs | undefined
/**
 * CPU of one gossip copy at its receiver and at its sender on an idle core,
 * ms, a ledger entry's and a market message's in units of the first:
 * `--processing-ms`, `--send-ms`, `--receipt-units`, `--market-units`,
 * `--dht-lookup-ms`, `--dht-rpc-ms`, and the CPU a worker's first lease
 * takes to start its inference runtime ahead of its accept
 * `--runner-start-ms` and its runner process's CPU `--runner-boot-ms`,
 * a market message's certificate check on a node's
 * first message of a signer `--certificate-units`, or measured once (bench/sim-cost.ts: real nodes, a
 * real runtime) for those not given.
 */
async function idleMessageCost (): Promise<Costs> {
  const given = ['processing-ms', 'send-ms', 'receipt-units', 'market-units', 'dht-lookup-ms', 'dht-rpc-ms'] as const
  if (given.every(k => values[k] != null)) return { processingMs: Number(values['processing-ms']), sendMs: Number(values['send-ms']), duplicateMs: duplicateCost(Number(values['processing-ms']), Number(values['market-units'])), receiptUnits: Number(values['receipt-units']), marketUnits: Number(values['market-units']), dhtLookupMs: Number(values['dht-lookup-ms']), dhtRpcMs: Number(values['dht-rpc-ms']), runnerStartMs: (await runnerStartCost()).startMs, runnerBootMs: (await runnerStartCost()).bootMs, certificateUnits: await certificateCost(Number(values['processing-ms'])) }
  if (measured == null) {
    const m = await measureMessageCost()
    const c = await measureCopyCost()
    const receive = Number(values['processing-ms'] ?? c.receiveMsPerCopy)
    const send = Number(values['send-ms'] ?? c.sendMsPerCopy)
    measured = {
      processingMs: receive,
      sendMs: send,
      duplicateMs: duplicateCost(receive, 1 + m.envelopeOpenMs / receive),
      // one process: an entry's copy is its send and its receipt
      receiptUnits: Number(values['receipt-units'] ?? Math.max(1, (m.entryCpuMsPerCopy - send) / receive)),
      marketUnits: Number(values['market-units'] ?? 1 + m.envelopeOpenMs / receive),
      // the requester's CPU until the first provider: one process's CPU to the first provider less the station's share
      dhtLookupMs: Number(values['dht-lookup-ms'] ?? Math.max(0, m.lookupToFirstMs - c.lookupServerMs)),
      dhtRpcMs: Number(values['dht-rpc-ms'] ?? c.lookupServerMs),
      runnerStartMs: (await runnerStartCost()).startMs,
      runnerBootMs: (await runnerStartCost()).bootMs,
      certificateUnits: await certificateCost(receive)
    }
    // not a model input: how a lookup's CPU to its first provider grows with the peers in its table (bench/scale's vehicles hold 2.3–3.7)
    const f = await measureLookupFanout()
    process.stderr.write(`measured a lookup's CPU to its first provider (load ${round(loadavg()[0] as number)}): ${round(f.oneStation.cpuToFirstMs)} ms with ${f.oneStation.routingTable} peers in the seeker's routing table, ${round(f.moreStations.cpuToFirstMs)} ms with ${f.moreStations.routingTable} (${round(f.peerMs)} ms a peer; wall ${round(f.oneStation.wallMs)} / ${round(f.moreStations.wallMs)} ms)\n`)
    process.stderr.write(`measured CPU per copy (load ${round(loadavg()[0] as number)}): receive ${round(c.receiveMsPerCopy)} ms, send ${round(c.sendMsPerCopy)} ms (two processes); a ledger entry ${round(m.entryCpuMsPerCopy)} ms and a plain message ${round(m.cpuMsPerCopy)} ms (one process); a market envelope's check ${round(m.envelopeOpenMs)} ms; a lookup ${round(m.lookupToFirstMs)} ms to its first provider (one process), ${round(c.lookupClientMs)} ms at its requester in all, ${round(c.lookupServerMs)} ms at the station (wall p50 ${round(c.lookupWallMs)} ms)\n`)
  }
  return measured
}

/**
 * `--duplicate-ms`, or the CPU of a gossip copy whose message its receiver
 * has already seen, from two measurements: the receive of a first copy
 * (`receiveMs`) less its signature check (gossipsub's StrictSign check
 * runs on a first copy only; measured as a signed envelope's check, the
 * `marketUnits` − 1 of a receive); what is left, the copy's decryption,
 * decoding, message-id hash and seen-cache lookup (and a first copy's
 * delivery, small), a duplicate pays in full. ms on an idle core.
 */
function duplicateCost (receiveMs: number, marketUnits: number): number {
  if (values['duplicate-ms'] != null) return Number(values['duplicate-ms'])
  return Math.max(0, receiveMs * (2 - marketUnits))
}

let runnerStart: { startMs: number, bootMs: number } | undefined
/** `--runner-start-ms` and `--runner-boot-ms`, or the measured CPU of an inference runtime's start on the worker's thread and of its runner process (bench/sim-cost.ts `measureRunnerStart`, once), ms. */
async function runnerStartCost (): Promise<{ startMs: number, bootMs: number }> {
  if (values['runner-start-ms'] != null && values['runner-boot-ms'] != null) return { startMs: Number(values['runner-start-ms']), bootMs: Number(values['runner-boot-ms']) }
  if (runnerStart == null) {
    const r = await measureRunnerStart()
    process.stderr.write(`measured an inference runtime's start (load ${round(loadavg()[0] as number)}): ${round(r.syncCpuMs)} ms of the calling thread's CPU (median of ${r.starts}; the process's first ${round(r.firstSyncCpuMs)} ms), its runner ready after ${round(r.readyWallMs)} ms, the runner's own CPU ${round(r.bootCpuMs)} ms\n`)
    runnerStart = { startMs: Number(values['runner-start-ms'] ?? r.syncCpuMs), bootMs: Number(values['runner-boot-ms'] ?? r.bootCpuMs) }
  }
  return runnerStart
}

let certificateUnits: number | undefined
/** `--certificate-units`, or the measured CPU of an uncached certificate check (bench/sim-cost.ts `measureCertificateCheck`, once) in units of `processingMs` (`receiveMs`, idle). */
async function certificateCost (receiveMs: number): Promise<number> {
  if (values['certificate-units'] != null) return Number(values['certificate-units'])
  if (certificateUnits == null) {
    const ms = await measureCertificateCheck()
    process.stderr.write(`measured a certificate check (load ${round(loadavg()[0] as number)}): ${round(ms)} ms, ${round(ms / receiveMs)} receives\n`)
    certificateUnits = ms / receiveMs
  }
  return certificateUnits
}

const round = (x: number, digits = 3): number => Number.isFinite(x) ? Number(x.toPrecision(digits)) : x

/** A bench/scale.ts run of size `n` in an output file: its figures, the gossip median, connection counts and the load, if the file has them. */
interface ScaleRun { figures: Partial<RealFigures>, stationRoutingTable?: number, dialledShare?: number, records?: Record<string, string>, recordHolders?: Record<string, number[]>, stationConnections?: number, vehicleConnections?: number, loadAverage1m?: number, loadBefore?: number, leaseMs?: number, receiptsPerLease?: number, timeline: Partial<Record<Timeline, number>> }

/**
 * The bid path's timeline, compared beside the figures (not a goal of its
 * own: it says where offer → awards spends its time): per job, ms from the
 * offer until the region's nodes had it (`offerReached`), its bidders sent
 * their bids (`bidSent`), the requester has its bids (p50 over the job's bids, from
 * bench/scale's `bidHeard` "count: p50 / max"), and its last bid; then
 * its awards: planned and sent (`awardSent`), handled by their workers
 * (`leaseAccepted`) and their accepts read by the requester
 * (`acceptRead`), p50 over the job's awards; each the median over jobs.
 */
const TIMELINE = ['offerReachedP50Ms', 'bidSentP50Ms', 'bidsHeardP50Ms', 'lastBidHeardMs', 'awardSentP50Ms', 'leaseAcceptedP50Ms', 'acceptReadP50Ms'] as const
type Timeline = typeof TIMELINE[number]
/** The median over a bench/scale run's jobs of one timeline field's p50 (its "count: p50 / max" string). */
function spreadP50 (run: any, field: string): number {
  return percentile((run?.market?.timelines ?? []).map((t: any) => Number(/^\d+: (-?\d+) \//.exec(String(t[field]))?.[1])).filter(Number.isFinite), 0.5)
}

/**
 * A run's measured placement of provider records (bench/scale's
 * `dht.recordsByStation`: each station's provider store as the lookups
 * start, the stations in start order), per region key: how many of the
 * key's region's stations, of the other regions' first stations and of the
 * other stations hold a record of it ("held / stations"); undefined for a
 * file without it.
 */
function measuredRecords (list: unknown): Record<string, string> | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined
  const stations = list as Array<{ region: string, providers: Record<string, number> }>
  const firsts = new Set(stations.map(st => stations.find(x => x.region === st.region)))
  const out: Record<string, string> = {}
  for (const key of Object.keys(stations[0]?.providers ?? {})) {
    const share = (xs: typeof stations): string => `${xs.filter(x => (x.providers[key] ?? 0) > 0).length}/${xs.length}`
    const own = stations.filter(x => x.region === key)
    const first = stations.filter(x => x.region !== key && firsts.has(x))
    const other = stations.filter(x => x.region !== key && !firsts.has(x))
    out[key] = `own region ${share(own)}, other regions' first stations ${share(first)}, other stations ${share(other)}`
  }
  return out
}

/** The stations (by start order: `scaleScenario`'s node numbers) holding records of each region key in a run's `dht.recordsByStation`; undefined without it. */
function measuredHolders (list: unknown): Record<string, number[]> | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined
  const stations = list as Array<{ region: string, providers: Record<string, number> }>
  return Object.fromEntries(Object.keys(stations[0]?.providers ?? {}).map(key => [key, stations.flatMap((x, i) => (x.providers[key] ?? 0) > 0 ? [i] : [])]))
}

/** `--records-from`: the measured holders of runs by size, for files of the same size that lack them. */
function holdersFrom (files: string | undefined): Map<number, { file: string, holders: Record<string, number[]>, records?: Record<string, string> }> {
  const out = new Map<number, { file: string, holders: Record<string, number[]>, records?: Record<string, string> }>()
  for (const file of files?.split(',') ?? []) {
    for (const [k, run] of Object.entries(JSON.parse(readFileSync(file, 'utf8')).runs ?? {})) {
      const holders = measuredHolders((run as any)?.dht?.recordsByStation)
      if (holders != null && !out.has(Number(k.slice(1)))) out.set(Number(k.slice(1)), { file, holders, records: measuredRecords((run as any)?.dht?.recordsByStation) })
    }
  }
  return out
}

function realFromFile (file: string, n: number): ScaleRun | undefined {
  const json = JSON.parse(readFileSync(file, 'utf8'))
  const figures = (json.figures ?? json)[`n${n}`]
  if (figures == null) return undefined
  const run = json.runs?.[`n${n}`]
  const p50 = run?.gossip?.toAllP50Ms
  return {
    figures: { ...figures, ...(typeof p50 === 'number' ? { gossipToAllP50Ms: p50 } : {}) },
    records: measuredRecords(run?.dht?.recordsByStation),
    recordHolders: measuredHolders(run?.dht?.recordsByStation),
    // of the lookups that found a provider, the share answered by a station the seeker dialled
    dialledShare: run?.dht?.answeredBy != null && run.dht.ok > 0 ? Object.entries(run.dht.answeredBy as Record<string, number>).filter(([k]) => k.endsWith(' dialled')).reduce((a, [, v]) => a + v, 0) / run.dht.ok : undefined,
    stationConnections: run?.shape?.station?.connectionsMean,
    stationRoutingTable: run?.shape?.station?.routingTableMean,
    vehicleConnections: run?.shape?.vehicle?.connectionsMean,
    loadAverage1m: run?.loadAverage1m,
    // the machine's load before the run (other sessions' processes): what is left of the cores is the hosts'
    loadBefore: typeof run?.loadAverage1mBefore === 'number' ? run.loadAverage1mBefore : typeof json.loadAverage1mBefore === 'number' ? json.loadAverage1mBefore : undefined,
    // a lease's real duration, all awarded to settled (the runner's start, the model's transfer, the inference, the results; the simulator does not model that work)
    // the ledger entries a settled job added (receipts of leases, micro-batches and spot checks), per lease of its SHARDS
    receiptsPerLease: run?.market?.receipts > 0 && run?.market?.timelines?.length > 0 ? Math.max(1, Math.round(run.market.receipts / run.market.timelines.length / SCALE_SHARDS)) : undefined,
    leaseMs: percentile((run?.market?.timelines ?? []).filter((t: any) => t.settledMs > 0 && t.allAwardedMs > 0).map((t: any) => t.settledMs - t.allAwardedMs), 0.5),
    timeline: {
      offerReachedP50Ms: spreadP50(run, 'offerReached'),
      bidSentP50Ms: spreadP50(run, 'bidSent'),
      bidsHeardP50Ms: spreadP50(run, 'bidHeard'),
      lastBidHeardMs: percentile((run?.market?.timelines ?? []).map((t: any) => t.lastBidMs).filter((x: unknown) => typeof x === 'number'), 0.5),
      awardSentP50Ms: spreadP50(run, 'awardSent'),
      leaseAcceptedP50Ms: spreadP50(run, 'leaseAccepted'),
      acceptReadP50Ms: spreadP50(run, 'acceptRead')
    }
  }
}

/** Fits `processingMs` so that the simulated gossipToAllP50Ms matches `target` (proportional steps on a monotone function). */
async function fitProcessing (scenario: (p: number) => Scenario, options: SimulateOptions, target: number): Promise<{ processingMs: number, figures: SimFigures }> {
  const run = async (p: number): Promise<SimFigures> => (await simulate(scenario(p), options)).figures
  let p = 1
  let f = await run(p)
  for (let step = 0; step < 8; step++) {
    const g = f.gossipToAllP50Ms
    if (!(g > 0) || !Number.isFinite(target) || Math.abs(g - target) / target < 0.03) break
    // time to all ≈ hops × (processing + latency): scale the processing by the ratio
    p = Math.max(0.01, p * target / g)
    f = await run(p)
  }
  return { processingMs: p, figures: f }
}

/**
 * Fits `wakeMs` (the per-hop wait of a process on the loaded machine, no
 * CPU) so that the simulated gossipToAllP50Ms matches `target`: bisection
 * on [0, target] (time to all grows with it). 0 when the CPU alone already
 * takes longer than the target.
 */
async function fitWake (scenario: (wakeMs: number) => Scenario, options: SimulateOptions, target: number): Promise<{ wakeMs: number, figures: SimFigures }> {
  const run = async (w: number): Promise<SimFigures> => await simulateSeeds(scenario(w), options)
  let lo = 0
  let hi = Number.isFinite(target) ? target : 0
  let best = { wakeMs: 0, figures: await run(0) }
  if (!(best.figures.gossipToAllP50Ms < target)) return best
  for (let step = 0; step < 12; step++) {
    const mid = (lo + hi) / 2
    const f = await run(mid)
    if (Math.abs(f.gossipToAllP50Ms - target) < Math.abs(best.figures.gossipToAllP50Ms - target)) best = { wakeMs: mid, figures: f }
    if (Math.abs(f.gossipToAllP50Ms - target) / target < 0.01) break
    if (f.gossipToAllP50Ms < target) lo = mid
    else hi = mid
  }
  return best
}

/**
 * The scenario run with seeds 1..`--seeds`: each compared figure is the
 * median over the runs (a run has 15 probes and 6 jobs: one seed's p50 and
 * p99 move with its draws), the others those of the first run.
 */
async function simulateSeeds (scenario: Scenario, options: SimulateOptions): Promise<SimFigures> {
  const runs: SimFigures[] = []
  for (let seed = 1; seed <= Math.max(1, Number(values.seeds)); seed++) runs.push((await simulate({ ...scenario, seed }, options)).figures)
  const out = { ...runs[0] } as SimFigures
  for (const k of [...Object.values(SCALE_MEASURE), ...TIMELINE]) (out as any)[k] = percentile(runs.map(f => f[k] as number), 0.5)
  return out
}

type Row = { sim: number, real: number, ratio: number, within25: boolean }
function compare (sim: SimFigures, real: Partial<RealFigures>, measure: Record<Compared, keyof SimFigures>): Record<string, Row> {
  const out: Record<string, Row> = {}
  for (const k of COMPARED) {
    const r = real[k]
    if (r == null) continue
    const sv = sim[measure[k]] as number
    const ratio = r === 0 ? (sv === 0 ? 1 : Infinity) : sv / r
    out[k] = { sim: round(sv), real: round(r), ratio: round(ratio), within25: ratio >= 0.75 && ratio <= 1.25 }
  }
  return out
}

async function calibration (): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  const sizes = values.calibrate.split(',').map(Number).filter(n => n > 1)
  const recordSources = holdersFrom(values['records-from'])
  if (values.real != null) {
    for (const file of values.real.split(',')) {
      for (const n of sizes) {
        const key = `${basename(file, '.json')}/n${n}`
        const real = realFromFile(file, n)
        if (real == null) continue
        const base = scaleScenario(n)
        // the measured lease duration as the lease's setup (its compute part at the scenario's ms per unit kept)
        const setupMs = real.leaseMs != null && Number.isFinite(real.leaseMs) ? Math.max(0, real.leaseMs - DEFAULT_MS_PER_UNIT * Math.max(...base.job.shardUnits)) : undefined
        // CPU per message: measured on an idle core, slowed by the run's load (its runnable processes sharing this machine's cores)
        const slowdown = Math.max(1, (real.loadAverage1m ?? CORES) / CORES)
        const cost = await idleMessageCost()
        const processingMs = cost.processingMs * slowdown
        // the vehicles' measured connections beyond their two bootstrap stations; the code's bid path (--model)
        const extraVehicleLinks = Math.max(0, (real.vehicleConnections ?? 2) - 2)
        const model: Partial<Scenario> = values.model === 'relay' ? { vehiclesOnBidsTopic: false, pingBidders: false } : {}
        // the stations met every station when their measured connections, less their vehicles' links, reach most of the other stations
        const stations = Math.max(2, Math.round(n / 10))
        const stationPeers = (real.stationConnections ?? 0) - (real.vehicleConnections ?? 2) * (n - stations) / stations
        const stationsFullyConnected = stationPeers >= 0.8 * (stations - 1)
        // the provider records where the run measured them (or a run of the same size, --records-from), else the K closest servers
        const borrowed = real.recordHolders == null ? recordSources.get(n) : undefined
        const recordHolders = values.records === 'closest' ? undefined : real.recordHolders ?? borrowed?.holders
        // the stations' routing tables as the run measured them (start-up tables, not converged ones); --records closest: converged
        const serverTableSize = values.records === 'closest' ? undefined : real.stationRoutingTable
        const scenario = (wakeMs: number): Scenario => { const sc = { ...scaleScenario(n, processingMs), ...model, ...(recordHolders != null ? { recordHolders } : {}), ...(serverTableSize != null ? { serverTableSize } : {}), stationsFullyConnected, extraVehicleLinks, receiptsPerLease: real.receiptsPerLease, receiptUnits: cost.receiptUnits, marketUnits: cost.marketUnits, sendMs: cost.sendMs * slowdown, duplicateMs: cost.duplicateMs * slowdown, dhtLookupMs: cost.dhtLookupMs * slowdown, dhtRpcMs: cost.dhtRpcMs * slowdown, runnerStartMs: cost.runnerStartMs * slowdown, runnerBootMs: cost.runnerBootMs * slowdown, machine: { cores: CORES, load: real.loadAverage1m ?? CORES, ...(real.loadBefore != null && values['always-wait'] !== true ? { otherLoad: real.loadBefore } : {}) }, certificateUnits: cost.certificateUnits, wakeMs }; return setupMs != null ? { ...sc, workers: { ...sc.workers, setupMs } } : sc }
        // bench/scale's lookups run one after another in a phase of their own, before its gossip probes and market rounds: here after the
        // probes (one a virtual second from 0), each SCALE_LOOKUP_GAP_MS after the previous ended, none during a round's work
        const options = { jobs: scaleJobs(scenario(0)), gossipProbes: SCALE_PROBES, lookupSequence: { atMs: SCALE_PROBES * 1000 + 100, gapMs: SCALE_LOOKUP_GAP_MS } }
        const target = real.figures.gossipToAllP50Ms ?? real.figures.gossipToAllP99Ms ?? NaN
        const { wakeMs, figures } = await fitWake(scenario, options, target)
        const compared = compare(figures, real.figures, SCALE_MEASURE)
        // offer → awards from the offer (the window included): its ratio stays meaningful where the figure beyond the window is near 0 or negative
        const o2a = compared.offerToAwardsP50Ms
        if (o2a != null) {
          const windowMs = base.job.bidWindowMs ?? 0
          const sv = o2a.sim + windowMs
          const rv = o2a.real + windowMs
          compared.offerToAwardsFromOfferP50Ms = { sim: round(sv), real: round(rv), ratio: round(sv / rv), within25: sv / rv >= 0.75 && sv / rv <= 1.25 }
        }
        // lookups answered by a station the seeker dialled (a later round): where the records sit, not how fast the hosts are
        if (real.dialledShare != null && Number.isFinite(figures.findProvidersDialledShare)) {
          const sv = figures.findProvidersDialledShare
          compared.findProvidersDialledShare = { sim: round(sv, 3), real: round(real.dialledShare, 3), ratio: round(sv / real.dialledShare), within25: sv / real.dialledShare >= 0.75 && sv / real.dialledShare <= 1.25 }
        }
        const timeline = Object.fromEntries(TIMELINE.filter(k => Number.isFinite(real.timeline[k])).map(k => { const sv = figures[k]; const r = real.timeline[k] as number; return [k, { sim: round(sv), real: round(r), ratio: round(sv / r) }] }))
        out[key] = {
          source: file,
          loadAverage1m: real.loadAverage1m,
          processingMs: round(processingMs),
          processingMsIdle: round(cost.processingMs),
          sendMsIdle: round(cost.sendMs),
          duplicateMsIdle: round(cost.duplicateMs),
          dhtLookupMsIdle: round(cost.dhtLookupMs),
          dhtRpcMsIdle: round(cost.dhtRpcMs),
          runnerStartMsIdle: round(cost.runnerStartMs),
          runnerBootMsIdle: round(cost.runnerBootMs),
          certificateUnits: round(cost.certificateUnits),
          receiptUnits: round(cost.receiptUnits),
          marketUnits: round(cost.marketUnits),
          slowdown: round(slowdown),
          loadBefore: real.loadBefore,
          wakeMs: round(wakeMs),
          leaseMs: real.leaseMs,
          receiptsPerLease: real.receiptsPerLease,
          model: values.model,
          stationsFullyConnected,
          recordHolders: recordHolders == null ? 'the K closest servers' : real.recordHolders != null ? 'measured in this run' : `measured in ${String(borrowed?.file)}`,
          recordsMeasured: real.records ?? borrowed?.records,
          serverTableSize: serverTableSize ?? 'converged',
          fittedOn: `wakeMs on ${real.figures.gossipToAllP50Ms != null ? 'gossipToAllP50Ms' : 'gossipToAllP99Ms'}`,
          connectionsMean: { station: { sim: round(figures.connectionsMean.station), real: real.stationConnections }, vehicle: { sim: round(figures.connectionsMean.vehicle), real: real.vehicleConnections } },
          jobs: figures.jobs,
          unplacedJobs: figures.unplacedJobs,
          compared,
          timeline
        }
        process.stderr.write(`${key} (load ${String(real.loadAverage1m)}, processingMs ${round(processingMs)}, wakeMs ${round(wakeMs)}): ${Object.entries(compared).map(([k, r]) => `${k} ${r.sim} / ${r.real} = ${r.ratio}`).join('; ')}; timeline: ${Object.entries(timeline).map(([k, r]) => `${k} ${r.sim} / ${r.real} = ${r.ratio}`).join('; ')}\n`)
      }
    }
    return out
  }
  // no bench/scale.ts figures: a real mesh of --real-mesh nodes (each joining through node 0 and dialling a few others), and the simulator at that size
  const m = Number(values['real-mesh'])
  const runs = Number(values['real-runs'])
  const real = await measureRealMesh(m, { probes: runs, lookups: runs * 2, jobs: runs })
  const meshScenario = (p: number): Scenario => ({ ...scaleScenario(m, p), topology: 'random', connectedPeers: Math.round(real.connectionsPerNode), jobsPerHour: 600, gossipDegree: undefined })
  const { processingMs, figures } = await fitProcessing(meshScenario, {}, real.gossipToAllP50Ms)
  out[`n${m}`] = { source: `real mesh of ${m} nodes in this process`, processingMs: round(processingMs), connectedPeers: round(real.connectionsPerNode), compared: compare(figures, real, MESH_MEASURE) }
  return out
}

async function scale (): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  for (const n of values.sizes.split(',').map(Number).filter(n => n > 1)) {
    const { figures: f } = await simulate(fleetScenario(n))
    out[`n${n}`] = {
      churnPerHour: 0.05,
      regions: f.regions,
      jobs: f.jobs,
      offerReach: round(f.offerReach, 4),
      offerReachMin: round(f.offerReachMin, 4),
      offerToAwardsP50Ms: round(f.offerToAwardsP50Ms),
      offerToAwardsP99Ms: round(f.offerToAwardsP99Ms),
      receiptConvergenceP50Ms: round(f.receiptConvergenceP50Ms),
      receiptConvergenceMs: round(f.receiptConvergenceMs),
      gossipToAllP99Ms: round(f.gossipToAllP99Ms),
      findProvidersSuccess: round(f.findProvidersSuccess),
      findProvidersP50Ms: round(f.findProvidersP50Ms),
      bytesPerNodePerHour: Math.round(f.bytesPerNodePerHour),
      bytesPerNodePerHourBy: Object.fromEntries(Object.entries(f.bytesPerNodePerHourBy).map(([k, v]) => [k, Math.round(v)])),
      leaves: f.leaves,
      wallMs: Math.round(f.wallMs),
      rssMB: Math.round(f.rssMB)
    }
  }
  return out
}

const figures: Record<string, unknown> = {}
if (!values['skip-calibration']) figures.calibration = await calibration()
Object.assign(figures, await scale())
const report = { bench: 'sim', at: new Date().toISOString(), figures }
const text = JSON.stringify(report, null, 2)
console.log(text)
if (values.out != null) writeFileSync(values.out, text + '\n')
