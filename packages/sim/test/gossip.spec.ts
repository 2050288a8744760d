import assert from 'node:assert/strict'
import { GOSSIP_D, GOSSIP_DHI } from '../src/constants.js'
import { HostCpu } from '../src/cpu.js'
import { disseminate, reachOf, TopicMesh } from '../src/gossip.js'
import { LinkModel } from '../src/network.js'
import { Connections } from '../src/topology.js'
import { testScenario, world } from './helpers.js'

describe('gossip: the topic mesh and dissemination', () => {
  it('grafts a mutual mesh of at least D and at most Dhi peers per subscriber', () => {
    const s = testScenario({ nodes: 300 })
    const { nodes, rng } = world(s)
    const mesh = new TopicMesh(nodes.byRegion[0], nodes.size, rng)
    assert.equal(mesh.size, 300)
    for (let u = 0; u < mesh.size; u++) {
      assert.ok(mesh.degree[u] >= GOSSIP_D && mesh.degree[u] <= GOSSIP_DHI, `degree of ${u} is ${mesh.degree[u]}`)
      for (let k = 0; k < mesh.degree[u]; k++) {
        const v = mesh.adj[u * GOSSIP_DHI + k]
        assert.ok(v !== u && mesh.has(v, u), `graft ${u}-${v} is mutual`)
      }
    }
  })

  it('reaches every subscriber without loss, no sooner than the hops allow', () => {
    const s = testScenario({ nodes: 200, connectedPeers: 8 })
    const { nodes, net, rng } = world(s)
    const mesh = new TopicMesh(nodes.byRegion[0], nodes.size, rng)
    const d = disseminate(mesh, nodes, net, rng, 0, 100, { dataBytes: 100, connectedPeers: 8, ihave: false })
    const r = reachOf(d, mesh, nodes, 100)
    assert.equal(r.reached, 200)
    for (let i = 1; i < mesh.size; i++) assert.ok(d.arrival[i] >= 110, `subscriber ${i} got it at ${d.arrival[i]}, after one 10 ms hop at least`)
    // a 200-node mesh of degree ≥ 6 with 8 first copies: a handful of hops
    assert.ok(r.allMs <= 10 * 8, `time to all ${r.allMs} ms`)
    assert.ok(d.copies >= 199, 'at least one copy per receiver')
  })

  it('recovers lost copies through IHAVE/IWANT gossip at the next heartbeats', () => {
    const s = testScenario({ nodes: 200 }, { meanMs: 10, jitterMs: 0, loss: 0.8 })
    const { nodes, net } = world(s)
    let without = 0; let withGossip = 0
    for (let seed = 1; seed <= 5; seed++) {
      const { rng } = world(s, seed)
      const mesh = new TopicMesh(nodes.byRegion[0], nodes.size, rng)
      without += reachOf(disseminate(mesh, nodes, net, rng, 0, 0, { dataBytes: 100, connectedPeers: 40, ihave: false }), mesh, nodes, 0).reached
      withGossip += reachOf(disseminate(mesh, nodes, net, rng, 0, 0, { dataBytes: 100, connectedPeers: 40 }), mesh, nodes, 0).reached
    }
    assert.ok(withGossip > without, `IHAVE gossip reaches more: ${withGossip} vs ${without} of 1000`)
  })

  it('never delivers to a node that is offline, and stops early at a target', () => {
    const s = testScenario({ nodes: 100 })
    const { nodes, net, rng } = world(s)
    const mesh = new TopicMesh(nodes.byRegion[0], nodes.size, rng)
    nodes.online[5] = 0
    nodes.leftAt[5] = 0
    const d = disseminate(mesh, nodes, net, rng, 0, 10_000, { dataBytes: 100, connectedPeers: 40 })
    assert.equal(d.arrival[mesh.local[5]], Infinity)
    assert.equal(reachOf(d, mesh, nodes, 10_000).reached, 99)
    const t = disseminate(mesh, nodes, net, rng, 0, 10_000, { dataBytes: 100, connectedPeers: 40, target: 42 })
    assert.ok(Number.isFinite(t.arrival[mesh.local[42]]), 'the target has it')
    assert.ok(t.copies < d.copies, 'fewer copies when stopping at the target')
  })

  it('charges each duplicate copy to its receiver\'s host CPU on shared hosts, without changing who has the message when', () => {
    // four subscribers, each connected to and grafted with the three others, each in its own process; node 0 publishes
    const run = (duplicateMs: number): { busy: number[], handled: number[] } => {
      const s = testScenario({ nodes: 4, stationShare: 1, processingMs: 1, duplicateMs })
      const { nodes, rng } = world(s)
      const connections = new Connections([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])
      const mesh = new TopicMesh([0, 1, 2, 3], 4, rng, { connections, degreeOf: () => ({ D: 3, Dlo: 3, Dhi: 3 }) })
      const cpu = new HostCpu(Int32Array.from([0, 1, 2, 3]), 4)
      const d = disseminate(mesh, nodes, new LinkModel(s, nodes, cpu), rng, 0, 0, { dataBytes: 100, connectedPeers: 3 })
      return { busy: [...cpu.busyMs], handled: [...d.handled] }
    }
    const plain = run(0)
    const dup = run(5)
    // the publisher signs (1 ms); each receiver validates its first copy (1 ms) from the publisher and gets one duplicate from each of the two others (5 ms each)
    assert.deepEqual(plain.busy, [1, 1, 1, 1])
    assert.deepEqual(dup.busy, [1, 11, 11, 11])
    assert.deepEqual(dup.handled, plain.handled, 'first copies are handled as before')
  })
})
