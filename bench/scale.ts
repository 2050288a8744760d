/**
 * bench/scale: fleets of 50, 100 and 200 real nodes on 127.0.0.0/8 running
 * the market end to end. About 10 % of the nodes are stations (hosted in
 * this process), the rest vehicles (split over worker processes), spread
 * over two or more regions; every node is a worker with a model store.
 * Per size it measures
 *  - start-up: wall time until every node has an admitted peer, ÷ nodes,
 *  - idle cost: per-process RSS growth from before its nodes started, and
 *    CPU time over an idle window, ÷ the process's nodes; the window opens
 *    once start-up has settled: `--settle-ms` after every node was admitted
 *    and no node opened a connection for `--quiet-ms` (bounded by
 *    `--settle-max-ms`),
 *  - DHT findProviders of `region/<r>` from random nodes (time to the first
 *    provider other than the seeker; success within the timeout),
 *  - gossip to all nodes on the fleet-wide presence topic (publish to the
 *    last arrival),
 *  - the market: per region a station submits a tiny MLP job (2 shards) to
 *    its own region's workers; offer → every shard awarded, beyond the bid
 *    window; then receipt convergence: from the requester's settlement
 *    (receipts countersigned) until every node of the fleet holds them.
 * Prints one JSON object (also written to `--out`), with `figures` keyed
 * `n<size>`, and the scenario in words on stderr.
 * Run: npm run bench:scale -- [--sizes 50,100,200] [--processes 4] [--regions 2] [--bid-window 300] [--settle-ms 5000] [--quiet-ms 10000] [--idle-ms 60000] [--full-tables] [--vehicle-gossip D,Dlo,Dhi,Dout] [--bids-wanted N] [--jobs 3] [--out FILE]
 * [--cpu-profile DIR] [--heap-snapshot DIR] (V8 profiles of the idle window, stations and the first worker's vehicles, and of the market rounds in the stations' process)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { writeHeapSnapshot } from 'node:v8'
import { generateMlp } from '@fleetmesh/runtime'
import { createFleetKeys, createTestGrant, createTestIdentity, loopbackListen, serializeFleetKeys, serializeIdentity } from '@fleetmesh/test-utils'
import { IpcWorker, percentile } from './ipc-worker.js'
import { cpuProfile, ScaleProbe, startCpuProfile, startScaleNode, usage, warmUp } from './scale-node.js'
import type { PresenceArrival, ScaleFleet, ScaleNodeSpec } from './scale-node.js'
import type { ScaleWorkerCommand } from './scale-worker.js'
import type { MeshNode, NodeRole } from '@fleetmesh/peer'
import type { WireTensor } from '@fleetmesh/protocol'

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '50,100,200' },
    processes: { type: 'string', default: '4' },
    regions: { type: 'string', default: '2' },
    'bid-window': { type: 'string', default: '300' },
    'full-tables': { type: 'boolean', default: false },
    // vehicles' gossipsub mesh degree "D,Dlo,Dhi,Dout" in place of the peer's default (a side-by-side variant)
    'vehicle-gossip': { type: 'string' },
    // bids asked of a region per offer (the market's JobSpec.bidsWanted; 0: every worker bids, as before bid sampling); unset: the market's default
    'bids-wanted': { type: 'string' },
    jobs: { type: 'string', default: '3' },
    lookups: { type: 'string', default: '60' },
    messages: { type: 'string', default: '15' },
    // one period of libp2p's connection monitor (CONNECTION_MONITOR_INTERVAL_MS, 60 s), which pings every connection of a
    // node at once: a host's nodes start within seconds of each other, so a shorter window holds all of their rounds or none
    'idle-ms': { type: 'string', default: '60000' },
    'settle-ms': { type: 'string', default: '5000' },
    // start-up's last dials (vehicles' provides reaching the key's stations, their admissions) end seconds after
    // every node holds an admitted peer, and each stream they opened leaves libp2p's and Kad-DHT's 10 s timers
    // (AbortSignal.timeout) that fire 10 s later: an idle window that opens sooner measures start-up's tail
    'quiet-ms': { type: 'string', default: '10000' },
    'settle-max-ms': { type: 'string', default: '60000' },
    'lookup-timeout': { type: 'string', default: '5000' },
    'start-concurrency': { type: 'string', default: '4' },
    'heap-snapshot': { type: 'string' },
    'cpu-profile': { type: 'string' },
    out: { type: 'string' }
  }
})
/** "D,Dlo,Dhi,Dout" as a gossipsub mesh degree; undefined stays undefined. */
function parseDegree (text: string | undefined): ScaleFleet['vehicleGossip'] {
  if (text == null) return undefined
  const [D, Dlo, Dhi, Dout] = text.split(',').map(Number) as [number, number, number, number]
  if (![D, Dlo, Dhi, Dout].every(Number.isInteger)) throw new Error(`--vehicle-gossip wants D,Dlo,Dhi,Dout (four integers), not "${text}"`)
  return { D, Dlo, Dhi, Dout }
}
const ALL_REGIONS = ['u33d', 'u33e', 'u33f', 'gcpv', 'gcpu', 'dr5r']
const MLP = generateMlp({ inputs: 16, hidden: [16], outputs: 4, seed: 7 })
const SHARDS = 2
const log = (msg: string): void => { process.stderr.write(`[scale ${new Date().toISOString().slice(11, 19)}] ${msg}\n`) }
const sleep = async (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d
const mean = (xs: number[]): number => xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length
const pattern = (dims: number[]): WireTensor => ({ name: 'x', dtype: 'float32', dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37) * 0.5) })

/** A node's host: this process (stations) or a worker process (vehicles), and its index there. */
interface Placed { role: NodeRole, region: string, host: number, index: number }
type Usage = ReturnType<typeof usage>

async function measure (size: number, root: string): Promise<Record<string, unknown>> {
  const regions = ALL_REGIONS.slice(0, Math.max(2, Number(values.regions)))
  const processCount = Math.max(1, Number(values.processes))
  const bidWindowMs = Number(values['bid-window'])
  const concurrency = Number(values['start-concurrency'])
  const stationCount = Math.max(regions.length, Math.round(size / 10))
  const keys = await createFleetKeys()
  const fleet: ScaleFleet = { ...serializeFleetKeys(keys), bidWindowMs, fullStationTables: values['full-tables'], vehicleGossip: parseDegree(values['vehicle-gossip']), grants: [] }
  const spec = async (role: NodeRole, region: string, i: number): Promise<ScaleNodeSpec> => {
    const identity = await createTestIdentity(keys.authority, { role, region })
    // the stations submit the jobs: every node starts with their credit grants
    if (role === 'station' && i >= 0) fleet.grants.push(Buffer.from(await createTestGrant(keys.authority, identity.peerId.toString())).toString('base64'))
    return {
      role,
      region,
      ...serializeIdentity(identity, keys),
      listen: loopbackListen(),
      storeDir: join(root, `n${size}-${i}`),
      bootstrap: []
    }
  }
  const stationSpecs: ScaleNodeSpec[] = []
  for (let i = 0; i < stationCount; i++) stationSpecs.push(await spec('station', regions[i % regions.length] as string, i))
  const vehicleSpecs: ScaleNodeSpec[] = []
  for (let i = stationCount; i < size; i++) vehicleSpecs.push(await spec('vehicle', regions[i % regions.length] as string, i))
  const scenario = {
    nodes: size,
    regions,
    stationsPerRegion: Object.fromEntries(regions.map(r => [r, stationSpecs.filter(s => s.region === r).length])),
    vehiclesPerRegion: Object.fromEntries(regions.map(r => [r, vehicleSpecs.filter(s => s.region === r).length])),
    hosts: `stations in the bench process, vehicles in ${processCount} worker processes (${Math.ceil(vehicleSpecs.length / processCount)} each)`,
    bootstrap: 'stations: the first station and the first station of their region; vehicles: two stations of their region',
    workers: 'every node (vehicles parked at SoC 0.9, stations always on), one onnxruntime runner per awarded worker, started on its first lease',
    bidWindowMs,
    vehicleGossip: fleet.vehicleGossip ?? 'defaults',
    dht: values['full-tables'] ? 'fullStationTables: stations walk towards the stations they know; vehicles provide to their 2 nearest stations of each key' : 'defaults',
    job: `MLP 16-16-4 (${MLP.byteLength} bytes), 4×16 float32 input, ${SHARDS} shards, submitted by the first station of each region to its own region; ${Number(values.jobs)} rounds, the regions at once`,
    timings: `settle ${Number(values['settle-ms'])} ms after start-up, then until no node opened a connection for ${Number(values['quiet-ms'])} ms (at most ${Number(values['settle-max-ms'])} ms in all), idle window ${Number(values['idle-ms'])} ms, ${Number(values.lookups)} lookups (timeout ${Number(values['lookup-timeout'])} ms), ${Number(values.messages)} gossip messages`
  }
  log(`n=${size}: ${JSON.stringify(scenario)}`)

  const probe = new ScaleProbe()
  const workers = await Promise.all(Array.from({ length: processCount }, async () => IpcWorker.fork<ScaleWorkerCommand>(new URL('./scale-worker.js', import.meta.url))))
  const placed: Placed[] = []
  try {
    // every host loads the node's code with a throwaway node before its baseline
    await Promise.all([warmUp(await spec('vehicle', regions[0] as string, -1), fleet), ...workers.map(async (w, wi) => w.call({ type: 'warm-up', spec: await spec('vehicle', regions[0] as string, -2 - wi), fleet }))])
    const base: Usage[] = [usage(), ...await Promise.all(workers.map(async w => w.call<Usage>({ type: 'usage' })))]
    const t0 = Date.now()
    // stations: the first alone, then the rest (first station + the first of their region as bootstrap)
    const first = await startScaleNode(stationSpecs[0] as ScaleNodeSpec, fleet, probe)
    placed.push({ role: 'station', region: first.region, host: 0, index: 0 })
    const addrOf = (n: MeshNode): string => n.getMultiaddrs().map(String)[0] as string
    const firstOfRegion = new Map<string, MeshNode>([[first.region, first]])
    const queue = stationSpecs.slice(1)
    for (const s of queue) {
      const boot = [addrOf(first)]
      const local = firstOfRegion.get(s.region)
      if (local != null && local !== first) boot.push(addrOf(local))
      const node = await startScaleNode({ ...s, bootstrap: boot }, fleet, probe)
      if (!firstOfRegion.has(s.region)) firstOfRegion.set(s.region, node)
      placed.push({ role: 'station', region: s.region, host: 0, index: probe.nodes.length - 1 })
    }
    const stationsOf = (region: string): string[] => probe.nodes.filter(n => n.region === region).map(addrOf)
    const shares: ScaleNodeSpec[][] = workers.map(() => [])
    vehicleSpecs.forEach((s, i) => {
      const local = stationsOf(s.region)
      const share = shares[i % workers.length] as ScaleNodeSpec[]
      share.push({ ...s, bootstrap: [local[i % local.length], local[(i + 1) % local.length]].filter((a, k, all): a is string => a != null && all.indexOf(a) === k) })
      placed.push({ role: 'vehicle', region: s.region, host: 1 + (i % workers.length), index: share.length - 1 })
    })
    const stationsMs = Date.now() - t0
    await Promise.all(workers.map(async (w, wi) => w.call({ type: 'start', specs: shares[wi] as ScaleNodeSpec[], fleet, concurrency })))
    const createdMs = Date.now() - t0
    const deadline = Date.now() + 180_000
    let admitted = 0
    while (Date.now() < deadline) {
      const counts = await Promise.all(workers.map(async w => w.call<{ admitted: number, waiting: unknown[] }>({ type: 'ready' })))
      admitted = probe.nodes.filter(n => n.peers().length > 0).length + counts.reduce((a, c) => a + c.admitted, 0)
      if (admitted === size) break
      if (process.env.BENCH_TRACE != null && Date.now() - t0 > 15_000) log(`waiting: ${JSON.stringify(counts.map(c => c.waiting))}`)
      await sleep(250)
    }
    const startupMs = Date.now() - t0
    log(`n=${size}: stations up after ${stationsMs} ms, every node created after ${createdMs} ms, ${admitted}/${size} admitted by a peer after ${startupMs} ms`)
    const settleFrom = Date.now()
    await sleep(Number(values['settle-ms']))
    // quiet: no connection opened on any host for quiet-ms (or settle-max-ms reached)
    let lastOpenAt = 0
    for (;;) {
      lastOpenAt = Math.max(probe.lastConnectionOpenAt, ...(await Promise.all(workers.map(async w => w.call<{ at: number }>({ type: 'last-open' })))).map(r => r.at))
      const wait = lastOpenAt + Number(values['quiet-ms']) - Date.now()
      if (wait <= 0 || Date.now() - settleFrom >= Number(values['settle-max-ms'])) break
      await sleep(Math.min(wait, Number(values['settle-max-ms']) - (Date.now() - settleFrom)))
    }
    const settleMs = Date.now() - settleFrom
    log(`n=${size}: settled ${settleMs} ms after every node was admitted (the last connection opened ${lastOpenAt - settleFrom} ms after it)`)

    // idle: RSS growth since before the nodes started, CPU over the idle window
    const idleStart: Usage[] = [usage(), ...await Promise.all(workers.map(async w => w.call<Usage>({ type: 'usage' })))]
    if (values['cpu-profile'] != null) {
      // profiles of the idle window: this process (stations) and the first worker (vehicles)
      await Promise.all([
        cpuProfile(Number(values['idle-ms']), join(values['cpu-profile'], `scale-n${size}-stations.cpuprofile`)),
        workers[0]?.call({ type: 'cpu-profile', ms: Number(values['idle-ms']), file: join(values['cpu-profile'], `scale-n${size}-vehicles.cpuprofile`) })
      ])
    } else {
      await sleep(Number(values['idle-ms']))
    }
    const idleEnd: Usage[] = [usage(), ...await Promise.all(workers.map(async w => w.call<Usage>({ type: 'usage' })))]
    const hostNodes = [probe.nodes.length, ...shares.map(s => s.length)]
    const cpuPct = idleEnd.map((u, h) => (u.cpuUs - (idleStart[h] as Usage).cpuUs) / ((u.at - (idleStart[h] as Usage).at) * 1000) * 100)
    const rssDelta = idleEnd.map((u, h) => u.rss - (base[h] as Usage).rss)
    const heapDelta = idleEnd.map((u, h) => u.heapUsed - (base[h] as Usage).heapUsed)
    const perNode = (xs: number[], hosts: number[]): number => xs.filter((_, h) => hosts.includes(h)).reduce((a, b) => a + b, 0) / hosts.reduce((a, h) => a + (hostNodes[h] as number), 0)
    const all = hostNodes.map((_, h) => h)
    const vehicleHosts = all.slice(1)
    if (values['heap-snapshot'] != null) {
      writeHeapSnapshot(join(values['heap-snapshot'], `scale-n${size}-stations.heapsnapshot`))
      await workers[0]?.call({ type: 'heap-snapshot', file: join(values['heap-snapshot'], `scale-n${size}-vehicles.heapsnapshot`) })
    }

    const shapes = [probe.shape(), ...await Promise.all(workers.map(async w => w.call<ReturnType<ScaleProbe['shape']>>({ type: 'shape' })))].flat()
    const byRole = (role: NodeRole): Record<string, unknown> => {
      const s = shapes.filter(x => x.role === role)
      return {
        nodes: s.length,
        connectionsMean: round(mean(s.map(x => x.connections))),
        connectionsMax: Math.max(...s.map(x => x.connections)),
        admittedMean: round(mean(s.map(x => x.admitted))),
        routingTableMean: round(mean(s.map(x => x.routingTable))),
        routingTableMin: Math.min(...s.map(x => x.routingTable)),
        // stations admitted (a station's or vehicle's table should hold each), and nodes whose table holds fewer than that
        admittedStationsMean: round(mean(s.map(x => x.admittedStations))),
        admittedStationsMin: Math.min(...s.map(x => x.admittedStations)),
        tableShortOfAdmittedStations: s.filter(x => x.routingTable < x.admittedStations).length,
        gossipMeshPeersMean: round(mean(s.map(x => x.meshPeers))),
        topicsMax: Math.max(...s.map(x => x.topics.length)),
        // peers lost since start, and this role's refusals by code
        disconnectsMean: round(mean(s.map(x => x.disconnects))),
        refusals: s.flatMap(x => x.refusals).reduce<Record<string, number>>((a, c) => { a[c] = (a[c] ?? 0) + 1; return a }, {}),
        // a node subscribed to a region-scoped topic of another region
        foreignRegionTopics: s.filter(x => x.topics.some(t => /\/(offers|bids)\//.test(t) && !t.endsWith(`/${x.region}`))).length
      }
    }

    // DHT lookups: random seekers, each region in turn
    const call = async <T>(p: Placed, cmd: any): Promise<T> => p.host === 0 ? await (localCall(probe, cmd) as Promise<T>) : await (workers[p.host - 1] as IpcWorker<ScaleWorkerCommand>).call<T>(cmd)
    const lookupMs: number[] = []
    let lookupsOk = 0
    const failedLookups: Array<Record<string, unknown>> = []
    // successful lookups: ms to the seeker's first query dial, and who answered with the provider
    const firstDialMs: number[] = []
    const firstSendMs: number[] = []
    const firstResponseMs: number[] = []
    const lookupTimelines: string[][] = []
    const answeredBy: Record<string, number> = {}
    const lookups = Number(values.lookups)
    // each station's provider records per region key as the lookups start (where the providers' walks put them)
    const recordsByStation = await probe.records(regions)
    // the cores the run's processes used over the lookup phase (CPU time ÷ wall time, summed): what slows a lookup's CPU, not the start-up's load
    const lookupStart: Usage[] = [usage(), ...await Promise.all(workers.map(async w => w.call<Usage>({ type: 'usage' })))]
    for (let i = 0; i < lookups; i++) {
      const seeker = placed[(i * 7919 + 13) % placed.length] as Placed
      const r = await call<{ ok: boolean, ms: number, firstDialMs?: number, firstSendMs?: number, firstResponseMs?: number, answeredBy?: string, events?: string[], trace?: Record<string, unknown> }>(seeker, { type: 'lookup', node: seeker.index, region: regions[i % regions.length], timeoutMs: Number(values['lookup-timeout']) })
      if (r.ok) {
        lookupsOk++
        lookupMs.push(r.ms)
        if (r.firstDialMs != null) firstDialMs.push(r.firstDialMs)
        if (r.firstSendMs != null) firstSendMs.push(r.firstSendMs)
        if (r.firstResponseMs != null) firstResponseMs.push(r.firstResponseMs)
        if (r.events != null && lookupTimelines.length < 10) lookupTimelines.push([`${seeker.role}/${seeker.region} -> ${regions[i % regions.length] as string}`, ...r.events])
        if (r.answeredBy != null) answeredBy[r.answeredBy] = (answeredBy[r.answeredBy] ?? 0) + 1
      } else failedLookups.push({ lookup: `${seeker.role}/${seeker.region} -> ${regions[i % regions.length] as string}`, ...r.trace })
    }
    const lookupEnd: Usage[] = [usage(), ...await Promise.all(workers.map(async w => w.call<Usage>({ type: 'usage' })))]
    const lookupPhaseCores = lookupEnd.reduce((a, u, h) => a + (u.cpuUs - (lookupStart[h] as Usage).cpuUs) / ((u.at - (lookupStart[h] as Usage).at) * 1000), 0)
    log(`n=${size}: lookups ${lookupsOk}/${lookups} p50 ${percentile(lookupMs, 50)} ms (the run's processes used ${round(lookupPhaseCores, 2)} cores meanwhile)`)

    // gossip to all on the presence topic
    const toAll: number[] = []
    const reach: number[] = []
    // the slowest receivers of each message that reached every node: their delay, role, deliverer and path; and each host's event-loop delay over the probes
    const slowest: string[] = []
    const paths = { publisher: 0, mesh: 0, outsideMesh: 0 }
    probe.loopLag()
    await Promise.all(workers.map(async w => w.call({ type: 'loop-lag' })))
    for (let m = 0; m < Number(values.messages); m++) {
      const publisher = placed[(m * 104729 + 7) % placed.length] as Placed
      const msgId = `scale-${size}-${m}-${Math.random()}`
      const { t } = await call<{ t: number }>(publisher, { type: 'publish', node: publisher.index, msgId })
      let times: number[] = []
      for (let wait = 0; wait < 20; wait++) {
        await sleep(250)
        times = [...probe.presenceTimes(msgId), ...(await Promise.all(workers.map(async w => w.call<{ times: number[] }>({ type: 'presence', msgId })))).flatMap(r => r.times)]
        if (times.length >= size - 1) break
      }
      reach.push(times.length / (size - 1))
      if (times.length >= size - 1) {
        toAll.push(Math.max(...times) - t)
        const arrivals = [...probe.presenceArrivals(msgId).map(a => ({ ...a, host: 'stations' })), ...(await Promise.all(workers.map(async (w, i) => (await w.call<{ arrivals: PresenceArrival[] }>({ type: 'presence-arrivals', msgId })).arrivals.map(a => ({ ...a, host: `worker${i}` }))))).flat()]
        for (const a of arrivals) paths[a.fromPublisher ? 'publisher' : a.inMesh ? 'mesh' : 'outsideMesh']++
        arrivals.sort((a, b) => b.t - a.t)
        slowest.push(`${Math.round(Math.max(...times) - t)} ms (publisher ${publisher.role}@${publisher.host}): ` + arrivals.slice(0, 3).map(a => `${Math.round(a.t - t)} ${a.role}@${a.host} from ${a.fromPublisher ? 'publisher' : a.from} ${a.fromPublisher ? '' : a.inMesh ? 'mesh' : 'outside-mesh'}`).join(', '))
      }
    }
    const loopLag = { stations: probe.loopLag(), vehicles: await Promise.all(workers.map(async w => w.call<{ p99Ms: number, maxMs: number }>({ type: 'loop-lag' }))) }
    log(`n=${size}: gossip to all p99 ${percentile(toAll, 99)} ms, reached all ${toAll.length}/${Number(values.messages)}`)

    // market: a tiny MLP job per region, the regions at once, several rounds
    const requesters = regions.map(r => firstOfRegion.get(r) as MeshNode)
    const awardsBeyond: number[] = []
    const convergence: number[] = []
    const jobFailures: string[] = []
    const receiptIds: string[] = []
    // per job, ms from the offer: bids heard, every shard awarded, settled
    const timelines: Array<Record<string, unknown>> = []
    // with --cpu-profile, the market rounds are profiled too (this process: the stations, the requesters among them)
    // the stations' received gossip per topic over the market rounds (first copies, duplicates, IHAVE ids)
    const gossipBefore = probe.gossipCounts()
    const gossipFrom = Date.now()
    const stopMarketProfile = values['cpu-profile'] != null ? await startCpuProfile() : undefined
    // the requesters' side of each award: sent (lease `awarded`) and its accept read (lease `active`), ms since the epoch, by job id
    const awardTrace = new Map<string, { sent: number[], active: number[], winners: string[] }>()
    for (const requester of requesters) {
      requester.libp2p.services.market.addEventListener('lease', (evt) => {
        const e = evt.detail
        if (e.side !== 'requester' || (e.state !== 'awarded' && e.state !== 'active')) return
        let t = awardTrace.get(e.jobId)
        if (t == null) awardTrace.set(e.jobId, t = { sent: [], active: [], winners: [] })
        if (e.state === 'awarded') {
          t.sent.push(e.at)
          // the winner's role, and whether the requester was connected to it when it awarded (else the award dials it)
          const peer = requester.peers().find(p => p.peerId.toString() === e.worker)
          t.winners.push(`${peer?.role ?? 'unconnected'}${peer?.rttMs != null ? ` rtt ${Math.round(peer.rttMs)}` : ''}`)
        } else t.active.push(e.at)
      })
    }
    for (let j = 0; j < Number(values.jobs); j++) {
      const settled = await Promise.all(requesters.map(async (requester) => {
        const handle = requester.submit({ model: MLP, inputs: [pattern([4, 16])], shards: SHARDS, maxPrice: 10, bidWindowMs, bidsWanted: values['bids-wanted'] != null ? Number(values['bids-wanted']) : undefined, deadline: Date.now() + 120_000 })
        let offeredAt = 0
        let jobId = ''
        const awarded = new Set<number>()
        let awardsAt = 0
        const bidAt: number[] = []
        try {
          for await (const e of handle) {
            if (e.type === 'offered' && offeredAt === 0) { offeredAt = e.at; jobId = e.jobId }
            if (e.type === 'bid') bidAt.push(e.at)
            if (e.type === 'awarded' && awardsAt === 0) {
              awarded.add(e.shard)
              if (awarded.size === SHARDS) awardsAt = e.at
            }
          }
          await handle.result
          const settlement = await handle.settlement
          const settledAt = performance.timeOrigin + performance.now()
          if (offeredAt > 0 && awardsAt > 0) awardsBeyond.push(awardsAt - offeredAt - bidWindowMs)
          // the workers' side of the job: offer arrivals, bids sent, leases accepted (ms from the offer: p50 / max)
          const seen = [probe.jobTimes(jobId), ...await Promise.all(workers.map(async w => w.call<ReturnType<ScaleProbe['jobTimes']>>({ type: 'job', jobId })))]
          const spread = (xs: number[]): string => xs.length === 0 ? '-' : `${xs.length}: ${Math.round(percentile(xs.map(x => x - offeredAt), 50) ?? 0)} / ${Math.round(Math.max(...xs) - offeredAt)}`
          timelines.push({
            region: requester.region,
            bids: bidAt.length,
            firstBidMs: bidAt.length > 0 ? Math.min(...bidAt) - offeredAt : null,
            lastBidMs: bidAt.length > 0 ? Math.max(...bidAt) - offeredAt : null,
            allAwardedMs: awardsAt - offeredAt,
            settledMs: Math.round(Date.now() - offeredAt),
            offerReached: spread(seen.flatMap(s => s.offers)),
            bidSent: spread(seen.flatMap(s => s.bids)),
            bidHeard: spread(bidAt),
            leaseAccepted: spread(seen.flatMap(s => s.accepted)),
            awardSent: spread(awardTrace.get(jobId)?.sent ?? []),
            acceptRead: spread(awardTrace.get(jobId)?.active ?? []),
            winners: (awardTrace.get(jobId)?.winners ?? []).join(',')
          })
          return { ids: settlement.accepted.map(r => r.id), settledAt }
        } catch (err: any) {
          jobFailures.push(`${requester.region}: ${err?.name ?? ''} ${err?.message ?? err}`)
          return undefined
        }
      }))
      for (const s of settled) {
        if (s == null) continue
        receiptIds.push(...s.ids)
        const until = Date.now() + 30_000
        while (Date.now() < until) {
          const arrivals = [probe.entryArrivals(s.ids), ...await Promise.all(workers.map(async w => w.call<ReturnType<ScaleProbe['entryArrivals']>>({ type: 'entries', ids: s.ids })))].flat()
          const holders = s.ids.map(id => arrivals.filter(a => a.id === id).reduce((a, x) => a + x.holders, 0))
          if (holders.every(h => h === size)) {
            const last = Math.max(...arrivals.map(a => a.lastAt ?? 0))
            convergence.push(Math.max(0, last - s.settledAt))
            break
          }
          await sleep(200)
        }
      }
    }
    if (stopMarketProfile != null) await stopMarketProfile(join(values['cpu-profile'] as string, `scale-n${size}-market-stations.cpuprofile`))
    log(`n=${size}: offer→awards beyond window p50 ${percentile(awardsBeyond, 50)} ms, receipts converged ${convergence.length}/${Number(values.jobs) * regions.length - jobFailures.length}, failures ${jobFailures.length}`)

    const figures = {
      startupMsPerNode: round(startupMs / size),
      rssPerNodeMB: round(perNode(rssDelta, all) / 1024 / 1024, 2),
      idleCpuPerNodePct: round(perNode(cpuPct, all), 3),
      gossipToAllP99Ms: percentile(toAll, 99),
      // for bench/sim's calibration: its fitted parameter is matched on the median, and its mesh takes the mean connection count
      gossipToAllP50Ms: percentile(toAll, 50),
      connectionsPerNode: round(mean(shapes.map(x => x.connections))),
      findProvidersSuccess: round(lookupsOk / lookups, 3),
      findProvidersP50Ms: percentile(lookupMs, 50),
      offerToAwardsP50Ms: percentile(awardsBeyond, 50),
      receiptConvergenceMs: percentile(convergence, 50)
    }
    return {
      figures,
      scenario,
      loadAverage1m: round(loadavg()[0] as number, 2),
      startup: { ms: startupMs, stationsMs, createdMs, admitted },
      idle: {
        windowMs: Number(values['idle-ms']),
        // ms from every node admitted to the window's start, and to the last connection opened before it
        settleMs,
        lastConnectionOpenMs: lastOpenAt - settleFrom,
        cpuPctByHost: cpuPct.map(x => round(x, 2)),
        nodesByHost: hostNodes,
        rssDeltaMBByHost: rssDelta.map(x => round(x / 1024 / 1024)),
        heapDeltaMBByHost: heapDelta.map(x => round(x / 1024 / 1024)),
        stationRssPerNodeMB: round(perNode(rssDelta, [0]) / 1024 / 1024, 2),
        vehicleRssPerNodeMB: round(perNode(rssDelta, vehicleHosts) / 1024 / 1024, 2),
        stationIdleCpuPerNodePct: round(perNode(cpuPct, [0]), 3),
        vehicleIdleCpuPerNodePct: round(perNode(cpuPct, vehicleHosts), 3)
      },
      shape: { station: byRole('station'), vehicle: byRole('vehicle') },
      dht: { lookups, ok: lookupsOk, phaseCores: round(lookupPhaseCores, 3), p50Ms: percentile(lookupMs, 50), p99Ms: percentile(lookupMs, 99), firstDialP50Ms: percentile(firstDialMs, 50), firstSendP50Ms: percentile(firstSendMs, 50), firstResponseP50Ms: percentile(firstResponseMs, 50), timelines: lookupTimelines, answeredBy, failed: failedLookups, recordsByStation },
      gossip: { messages: Number(values.messages), toAllP50Ms: percentile(toAll, 50), toAllP99Ms: percentile(toAll, 99), meanReach: round(mean(reach), 3), paths, loopLag, slowest },
      market: {
        jobs: Number(values.jobs) * regions.length,
        failures: jobFailures,
        offerToAwardsBeyondWindowP50Ms: percentile(awardsBeyond, 50),
        offerToAwardsBeyondWindowP99Ms: percentile(awardsBeyond, 99),
        receiptConvergenceP50Ms: percentile(convergence, 50),
        receiptConvergenceMaxMs: convergence.length > 0 ? round(Math.max(...convergence)) : null,
        receiptsConverged: convergence.length,
        receipts: receiptIds.length,
        stationGossip: { windowMs: Date.now() - gossipFrom, topics: gossipDelta(gossipBefore, probe.gossipCounts()) },
        timelines
      }
    }
  } finally {
    await Promise.allSettled(workers.map(async w => w.call({ type: 'stop' }, 60_000)))
    for (const w of workers) if (w.child.exitCode == null) w.child.kill('SIGKILL')
    await probe.stop()
  }
}

/** Per topic, the counts of `after` less those of `before` (ScaleProbe.gossipCounts). */
function gossipDelta (before: ReturnType<ScaleProbe['gossipCounts']>, after: ReturnType<ScaleProbe['gossipCounts']>): Record<string, Record<string, number>> {
  return Object.fromEntries(Object.entries(after).map(([t, c]) => [t, Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v - ((before[t] as Record<string, number> | undefined)?.[k] ?? 0)]))]))
}

/** The probe commands, run on this process's own nodes. */
async function localCall (probe: ScaleProbe, cmd: { type: string, node: number, region?: string, timeoutMs?: number, msgId?: string }): Promise<unknown> {
  if (cmd.type === 'lookup') return probe.lookup(cmd.node, cmd.region as string, cmd.timeoutMs as number)
  if (cmd.type === 'publish') return { t: await probe.publish(cmd.node, cmd.msgId as string) }
  throw new Error(`unknown local command ${cmd.type}`)
}

const root = await mkdtemp(join(tmpdir(), 'fleetmesh-bench-scale-'))
const runs: Record<string, Record<string, unknown>> = {}
const loadBefore = round(loadavg()[0] as number, 2)
try {
  for (const size of String(values.sizes).split(',').map(Number)) {
    runs[`n${size}`] = await measure(size, root)
  }
} finally {
  await rm(root, { recursive: true, force: true })
}
const output = {
  bench: 'scale',
  date: new Date().toISOString(),
  node: process.version,
  loadAverage1mBefore: loadBefore,
  figures: Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.figures])),
  runs
}
const text = JSON.stringify(output, null, 2)
console.log(text)
if (values.out != null) await writeFile(values.out, text + '\n')
process.exit(0)
