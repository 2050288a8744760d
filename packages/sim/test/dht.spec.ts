import assert from 'node:assert/strict'
import { KAD_K } from '../src/constants.js'
import { HostCpu } from '../src/cpu.js'
import { Dht, distance, keyId } from '../src/dht.js'
import { LinkModel } from '../src/network.js'
import { STATION } from '../src/nodes.js'
import { buildTopology } from '../src/topology.js'
import { testScenario, world } from './helpers.js'

describe('dht: routing tables and findProviders', () => {
  it('holds only servers, at most K per 6-bit prefix, and answers the closest by XOR', () => {
    const s = testScenario({ nodes: 3000, stationShare: 0.5 })
    const { nodes, net, rng } = world(s)
    const dht = new Dht(nodes, net, rng, 40)
    assert.equal(dht.servers.length, 1500)
    const size = dht.tableSize(0)
    assert.ok(size <= 64 * KAD_K && size > 0, `table of ${size}`)
    const id = keyId('region/u33d')
    const close = dht.closest(0, id)
    assert.equal(close.length, KAD_K)
    for (let i = 1; i < close.length; i++) assert.ok(distance(nodes.kadId[close[i - 1]], id) <= distance(nodes.kadId[close[i]], id), `closest ${i} sorted`)
    for (const p of close) assert.equal(nodes.role[p], STATION, 'only servers are in tables')
    const truth = dht.trueClosest(id, 1)[0]
    assert.ok(distance(nodes.kadId[truth], id) <= distance(nodes.kadId[close[0]], id))
  })

  it('finds a provider in a few round trips, and fails when every record holder has left', () => {
    const s = testScenario({ nodes: 2000, stationShare: 0.5 })
    const { nodes, net, rng } = world(s)
    const dht = new Dht(nodes, net, rng, 40)
    dht.provide('model/x', 7)
    const src = nodes.byRegion[0][1999]
    const r = dht.findProviders(src, 'model/x', rng)
    assert.ok(r.found, 'found')
    assert.ok(r.ms >= 20 && r.ms <= 20 * 10, `${r.ms} ms: one or a few 20 ms round trips (plus dials)`)
    for (const p of dht.trueClosest(keyId('model/x'))) nodes.online[p] = 0
    const gone = dht.findProviders(src, 'model/x', rng)
    assert.equal(gone.found, false)
    assert.ok(gone.rpcs > 0)
  })

  it('on shared hosts, waits for the servers\' process: each RPC\'s arrival queues behind the work that reached the host before it', () => {
    // 10 servers (stations) in one process (host 0), the 40 clients in another (host 1); 10 ms links; every server holds the record (fewer than K)
    const s = testScenario({ nodes: 50, stationShare: 0.2 })
    const { nodes, rng } = world(s)
    const hostOf = Int32Array.from({ length: nodes.size }, (_, i) => nodes.role[i] === STATION ? 0 : 1)
    const idle = new Dht(nodes, new LinkModel(s, nodes, new HostCpu(hostOf, 2)), rng, 40, undefined, { lookupMs: 2, rpcMs: 3 })
    const busyCpu = new HostCpu(hostOf, 2)
    const busy = new Dht(nodes, new LinkModel(s, nodes, busyCpu), rng, 40, undefined, { lookupMs: 2, rpcMs: 3 })
    for (const d of [idle, busy]) d.provide('region/u33d', nodes.byRegion[0][0])
    const src = nodes.byRegion[0].find(n => nodes.role[n] !== STATION) as number
    // idle: the set-up (2), the stream's negotiation (10 there, 10 back, processingMs 0) and the request (10, 3 at the server, 10 back)
    const r = idle.findProviders(src, 'region/u33d', rng, 1000)
    assert.ok(r.found)
    assert.equal(r.ms, 2 + 20 + 10 + 3 + 10)
    // the servers' process busy from 1000 to 1500 ms (a bid storm): the request (its 3 ms of CPU) waits for it; the negotiation takes no CPU here (processingMs 0)
    busyCpu.run(nodes.byRegion[0].find(n => nodes.role[n] === STATION) as number, 1000, 500)
    const late = busy.findProviders(src, 'region/u33d', rng, 1000)
    assert.ok(late.found)
    assert.equal(late.ms, 500 + 3 + 10, 'the request is served once the host is free at 1500, its answer 10 ms later')
  })
  it('places records where the scenario says (bench/scale\'s start-up at 200 nodes): a vehicle whose stations hold none of the other region\'s key finds it in a second round', () => {
    // bench/scale at 200 nodes: two regions of 10 stations and 90 vehicles, its bootstrap connections, 10 ms links
    const s = testScenario({ nodes: 200, regions: ['u33d', 'u33e'], stationShare: 0.1, topology: 'bootstrap' })
    const { nodes, net, rng } = world(s)
    const { connections } = buildTopology(s, nodes)
    const stationsOf = (r: number): number[] => Array.from(nodes.byRegion[r]).filter(x => nodes.role[x] === STATION)
    // the key's region's stations and the other region's first station, as bench/scale measured them at 200 nodes
    const holders = [...stationsOf(1), Math.min(...stationsOf(0))]
    const closest = new Dht(nodes, net, rng, 40, connections)
    const startup = new Dht(nodes, net, rng, 40, connections)
    for (const i of nodes.byRegion[1]) {
      closest.provide('region/u33e', i)
      startup.provide('region/u33e', i, holders)
    }
    assert.equal(closest.holders('region/u33e').length, 20, 'K (20) closest: every station')
    assert.equal(startup.holders('region/u33e').length, 11)
    // a vehicle of u33d connected to none of the holders: its own stations answer with closer peers only
    const seeker = nodes.byRegion[0].find(v => nodes.role[v] !== STATION && Array.from({ length: connections?.degree(v) ?? 0 }, (_, k) => connections?.peer(v, k)).every(p => !holders.includes(p as number))) as number
    assert.ok(seeker != null, 'such a vehicle')
    const first = closest.findProviders(seeker, 'region/u33e', rng)
    const second = startup.findProviders(seeker, 'region/u33e', rng)
    assert.ok(first.found && second.found)
    // converged placement: its first answer has the record (two round trips, the stream's and the request's, on a connection)
    assert.equal(first.ms, 40)
    // start-up placement: the first answer names closer stations, one of which holds it and must be dialled first
    assert.ok(second.ms > first.ms + 40, `${second.ms} ms: a second round, with a dial`)
    assert.ok(second.rpcs > first.rpcs)
    assert.equal(first.dialled, false, 'answered by a station it was connected to')
    assert.equal(second.dialled, true, 'answered by a station it dialled')
  })
  it('holds start-up tables of the measured size at the servers: their connected servers first, then random ones', () => {
    const s = testScenario({ nodes: 200, regions: ['u33d', 'u33e'], stationShare: 0.1, topology: 'bootstrap' })
    const { nodes, net, rng } = world(s)
    const { connections } = buildTopology(s, nodes)
    const startup = new Dht(nodes, net, rng, 40, connections, { serverTableSize: 6.4 })
    const converged = new Dht(nodes, net, rng, 40, connections)
    for (const st of startup.servers) {
      assert.equal(startup.tableSize(st), 6, `station ${st}: 6.4 rounds to 6`)
      assert.equal(converged.tableSize(st), 19, 'converged: every other station (fewer than K per prefix)')
      const table = startup.closest(st, 0, 64)
      const connected = Array.from({ length: connections?.degree(st) ?? 0 }, (_, k) => connections?.peer(st, k) as number).filter(p => nodes.role[p] === STATION)
      // the fleet's first station is connected to every station: its table is 6 of them; the others' few connected stations are all in theirs
      if (connected.length >= 6) assert.ok(table.every(p => connected.includes(p)), `station ${st}: connected stations only`)
      else assert.ok(connected.every(p => table.includes(p)), `station ${st} holds its connected stations`)
    }
  })
})
