import assert from 'node:assert/strict'
import { STATION_GOSSIP_DEGREE, VEHICLE_GOSSIP_DEGREE } from '@fleetmesh/peer'
import { SCALE_GOSSIP_DEGREE } from '../src/constants.js'
import { HostCpu } from '../src/cpu.js'
import { disseminate, reachOf, TopicMesh } from '../src/gossip.js'
import { LinkModel } from '../src/network.js'
import { NodeTable, STATION } from '../src/nodes.js'
import { Rng } from '../src/rng.js'
import { resolveScenario, scaleJobs, scaleScenario } from '../src/scenario.js'
import { simulate } from '../src/simulator.js'
import { buildTopology } from '../src/topology.js'

describe('bench/scale topology: bootstrap connections, shared hosts, role degrees', () => {
  it('uses the gossip degrees the nodes use', () => {
    for (const k of ['D', 'Dlo', 'Dhi'] as const) {
      assert.equal(SCALE_GOSSIP_DEGREE.station[k], STATION_GOSSIP_DEGREE[k], `station ${k}`)
      assert.equal(SCALE_GOSSIP_DEGREE.vehicle[k], VEHICLE_GOSSIP_DEGREE[k], `vehicle ${k}`)
    }
  })

  it('connects as bench/scale bootstraps: stations to the first station and their region\'s first, vehicles to two stations of their region', () => {
    const s = resolveScenario(scaleScenario(100))
    const nodes = new NodeTable(s, new Rng(1))
    const { connections, hostOf, hosts } = buildTopology(s, nodes)
    assert.ok(connections != null && hostOf != null)
    assert.equal(hosts, 5)
    const stations = Array.from({ length: 100 }, (_, i) => i).filter(i => nodes.role[i] === STATION)
    assert.deepEqual(stations, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'one station in ten, the first nodes')
    // station 3 (region 1): station 0 and region 1's first station, 1
    assert.ok(connections.connected(3, 0) && connections.connected(3, 1))
    let vehicle = 0
    for (let v = 10; v < 100; v++, vehicle++) {
      const conns = connections
      const peers: number[] = Array.from({ length: conns.degree(v) }, (_, k) => conns.peer(v, k))
      assert.equal(peers.length, 2, `vehicle ${v} has two connections`)
      for (const p of peers) assert.ok(nodes.role[p] === STATION && nodes.region[p] === nodes.region[v], `vehicle ${v}'s peer ${p} is a station of its region`)
      assert.equal(hostOf[v], 1 + (vehicle % 4))
    }
    for (const st of stations) assert.equal(hostOf[st], 0)
  })

  it('grafts only along connections, and reaches every node over them', () => {
    const s = resolveScenario({ ...scaleScenario(100), processingMs: 1 })
    const rng = new Rng(2)
    const nodes = new NodeTable(s, rng)
    const { connections } = buildTopology(s, nodes)
    const mesh = new TopicMesh(Array.from({ length: 100 }, (_, i) => i), 100, rng, { connections, degreeOf: n => nodes.role[n] === STATION ? s.gossipDegree.station : s.gossipDegree.vehicle })
    for (let u = 0; u < mesh.size; u++) {
      for (let k = 0; k < mesh.degree[u]; k++) assert.ok(connections?.connected(mesh.members[u], mesh.members[mesh.adj[u * mesh.stride + k]]), `mesh link of ${u} is a connection`)
    }
    const net = new LinkModel(s, nodes)
    const d = disseminate(mesh, nodes, net, rng, 50, 0, { dataBytes: 100, connectedPeers: s.connectedPeers, ihave: false })
    assert.equal(reachOf(d, mesh, nodes, 0).reached, 100)
  })

  it('queues the work of one host: first come, first served, in the gaps left', () => {
    const cpu = new HostCpu(Int32Array.from([0, 0, 1, -1]), 2)
    assert.equal(cpu.run(0, 10, 5), 15)
    assert.equal(cpu.run(1, 11, 5), 20, 'node 1 waits for node 0 on host 0')
    assert.equal(cpu.run(2, 11, 5), 16, 'host 1 is free')
    assert.equal(cpu.run(3, 11, 5), 16, 'a node alone on its CPU never waits')
    assert.equal(cpu.run(0, 30, 5), 35)
    assert.equal(cpu.run(1, 18, 5), 25, 'the gap 20..30 takes it')
    assert.equal(cpu.run(1, 18, 6), 41, 'too short a gap (25..30): after 35')
    assert.equal(cpu.busyMs[0], 26)
  })

  it('shared hosts make a fleet slower than one with a CPU per node (bench/scale\'s bid storm)', async () => {
    const s = scaleScenario(60, 2)
    const shared = await simulate(s, { jobs: scaleJobs(s, 1), gossipProbes: 5 })
    const own = await simulate({ ...s, topology: 'random', gossipDegree: undefined, connectedPeers: 10 }, { jobs: scaleJobs(s, 1), gossipProbes: 5 })
    assert.equal(shared.figures.unplacedJobs, 0)
    assert.ok(shared.figures.offerToAwardsP50Ms > own.figures.offerToAwardsP50Ms, `offer to awards ${shared.figures.offerToAwardsP50Ms} ms on shared hosts, ${own.figures.offerToAwardsP50Ms} ms with a CPU each`)
    assert.ok(shared.figures.receiptConvergenceJobP50Ms >= 0 && Number.isFinite(shared.figures.receiptConvergenceJobP50Ms))
  })
})

describe('bench/scale variants: the bid path, the entries of a settlement, the wake-up wait', function () {
  this.timeout(120_000)

  it('keeps vehicles off the bids topic when told: their bids reach the requester through their stations', async () => {
    // eight shards, one lease per worker: three stations per region cannot take them all
    const base = scaleScenario(60, 0.5)
    const s = { ...base, job: { ...base.job, shardUnits: Array(8).fill(100) }, workers: { ...base.workers, maxConcurrentLeases: 1 }, vehiclesOnBidsTopic: false, pingBidders: false, stationsFullyConnected: true }
    const r = await simulate(s, { jobs: scaleJobs(s, 1), gossipProbes: 3 })
    assert.equal(r.figures.unplacedJobs, 0)
    for (const o of r.offers) assert.ok(o.awards.filter(a => r.scenario.nodes > a.worker && a.worker >= 6).length >= 5, `job ${o.jobId} awarded vehicles (nodes 6..59)`)
    const onTopic = await simulate({ ...s, vehiclesOnBidsTopic: true }, { jobs: scaleJobs(s, 1), gossipProbes: 3 })
    assert.ok(r.figures.bytesPerNodePerHourBy.bids < onTopic.figures.bytesPerNodePerHourBy.bids, 'fewer bid bytes with only stations carrying them')
  })

  it('gossips every entry of a lease\'s settlement, and converges on all of them', async () => {
    const s = { ...scaleScenario(40, 0.5), receiptsPerLease: 4 }
    const r = await simulate(s, { jobs: scaleJobs(s, 1), gossipProbes: 3 })
    assert.equal(r.figures.receipts, 2 * 2 * 4, 'two jobs of two shards, four entries each')
    assert.equal(r.converged, true)
    assert.equal(r.balances?.[0].receipts, 16)
  })

  it('waits for the wake-up on every hop: gossip takes longer, the CPU it takes does not change', async () => {
    const base = scaleScenario(60, 0.5)
    const quick = await simulate(base, { gossipProbes: 5, jobs: [] })
    const slow = await simulate({ ...base, wakeMs: 20 }, { gossipProbes: 5, jobs: [] })
    assert.ok(slow.figures.gossipToAllP50Ms > quick.figures.gossipToAllP50Ms + 20, `${slow.figures.gossipToAllP50Ms} vs ${quick.figures.gossipToAllP50Ms} ms`)
    await assert.rejects(simulate({ ...base, wakeMs: -1 }), (err: any) => err.name === 'SimConfigError' && /wakeMs/.test(err.message))
  })
})

describe('per-copy send CPU', () => {
  it('holds the sender\'s host for each copy, and the publish returns after the last', () => {
    const s = resolveScenario({ ...scaleScenario(100), processingMs: 1, sendMs: 0.5 })
    const rng = new Rng(3)
    const nodes = new NodeTable(s, rng)
    const { connections, hostOf, hosts } = buildTopology(s, nodes)
    const mesh = new TopicMesh(Array.from({ length: 100 }, (_, i) => i), 100, rng, { connections, degreeOf: n => nodes.role[n] === STATION ? s.gossipDegree.station : s.gossipDegree.vehicle })
    const cpu = new HostCpu(hostOf, hosts)
    const d = disseminate(mesh, nodes, new LinkModel(s, nodes, cpu), rng, 0, 0, { dataBytes: 100, connectedPeers: s.connectedPeers, ihave: false })
    const copies = connections?.degree(0) ?? 0
    assert.ok(copies > 10, `station 0 floods ${copies} peers`)
    assert.ok(Math.abs(d.publishedAt - (1 + copies * 0.5)) < 1e-9, `published at ${d.publishedAt} ms: signing, then ${copies} copies of 0.5 ms`)
    const free = disseminate(mesh, nodes, new LinkModel({ ...s, sendMs: 0 }, nodes, new HostCpu(hostOf, hosts)), rng, 0, 0, { dataBytes: 100, connectedPeers: s.connectedPeers, ihave: false })
    assert.ok(reachOf(d, mesh, nodes, 0).allMs > reachOf(free, mesh, nodes, 0).allMs, 'sending costs time to all')
    assert.ok(cpu.busyMs[0] >= copies * 0.5, 'host 0 spent the sends')
  })
})

describe('ledger entries: the checks in libuv\'s pool', () => {
  it('resumes the validation after each pool job: every hop waits for its process once more per job', () => {
    const s = resolveScenario({ ...scaleScenario(60), processingMs: 1, sendMs: 0 })
    const rng = new Rng(5)
    const nodes = new NodeTable(s, rng)
    const { connections, hostOf, hosts } = buildTopology(s, nodes)
    const mesh = new TopicMesh(Array.from({ length: 60 }, (_, i) => i), 60, rng, { connections, degreeOf: n => nodes.role[n] === STATION ? s.gossipDegree.station : s.gossipDegree.vehicle })
    // a wait of 10 ms before a process runs anything that arrived (no rng: every wait is the mean)
    const spread = (poolJobs: number): Float64Array => disseminate(mesh, nodes, new LinkModel(s, nodes, new HostCpu(hostOf, hosts, 10)), new Rng(9), 7, 0, { dataBytes: 900, connectedPeers: s.connectedPeers, ihave: false, offThreadMs: 2, poolJobs }).handled
    const delay = spread(0)
    const resumed = spread(2)
    assert.equal(resumed[7], delay[7], 'the publisher holds it at once')
    for (let i = 0; i < 60; i++) {
      if (i === 7) continue
      assert.ok(resumed[i] - delay[i] >= 2 * 10 - 1e-9, `node ${i}: ${resumed[i]} ms with two resumes, ${delay[i]} ms with the pool as a delay`)
    }
  })

  it('waits for a core only while the machine has none free, when its other load is known', () => {
    // two hosts on 2 cores with 0.5 of other load: one busy host leaves a core free, two do not; waits of 10 ms (no rng: the mean)
    const quiet = new HostCpu(Int32Array.from([0, 1]), 2, 10, undefined, { cores: 2, load: 2, otherLoad: 0.5 })
    assert.equal(quiet.run(0, 0, 1), 1, 'alone on the machine: at once')
    assert.equal(quiet.run(1, 0, 100), 110, 'host 0 busy at 0: waits')
    assert.equal(quiet.run(0, 50, 1), 61, 'host 1 busy at 50: waits')
    assert.equal(quiet.run(0, 200, 1), 201, 'both idle again: at once')
    // a booting runner process is one more runnable process
    quiet.addProcess(300, 400)
    assert.equal(quiet.run(0, 350, 1), 350 + 10 * quiet.slowdownAt(350) + quiet.slowdownAt(350))
    // without the other load every piece of work waits
    const always = new HostCpu(Int32Array.from([0, 1]), 2, 10, undefined, { cores: 2, load: 2 })
    assert.equal(always.run(0, 0, 1), 11)
  })
})
