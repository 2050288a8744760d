import assert from 'node:assert/strict'
import { capabilityCid, compareNearest } from '../src/index.js'
import { createTestMesh, waitUntil } from '@fleetmesh/test-utils'
import type { TestMesh } from '@fleetmesh/test-utils'
import type { MeshNode, MeshPeer } from '../src/index.js'
import type { PeerId } from '@libp2p/interface'

const TOPIC = '/fleetmesh/1/presence'

describe('discovery: 20 nodes from one bootstrap address', function () {
  this.timeout(120_000)
  let fleet: TestMesh
  let stations: MeshNode[]
  let vehicles: MeshNode[]

  before(async () => {
    fleet = await createTestMesh()
    const first = await fleet.add('station', 'u33d')
    const boot = first.getMultiaddrs().map(String)
    stations = [first]
    // region X = u33d (2 stations), a neighbour cell u33e (1), a far region gcpv (1)
    for (const region of ['u33d', 'u33e', 'gcpv']) {
      stations.push(await fleet.add('station', region, { bootstrap: boot }))
    }
    vehicles = []
    const vehicleRegions = ['u33d', 'u33d', 'u33d', 'u33d', 'u33d', 'u33e', 'u33e', 'u33e', 'u33e', 'gcpv', 'gcpv', 'gcpv', 'gcpv', 'gcpv', 'u33d', 'gcpv']
    for (const region of vehicleRegions) {
      vehicles.push(await fleet.add('vehicle', region, { bootstrap: boot }))
    }
    assert.equal(fleet.nodes.length, 20)
    await Promise.all(fleet.nodes.map(async n => n.announced()))
  })

  after(async () => { await fleet?.stop() })

  it('every node is admitted into the mesh and gossip reaches all 19 others', async () => {
    for (const node of fleet.nodes) {
      assert.ok(node.peers().length >= 1, `${node.role} ${node.region} has admitted peers`)
    }
    const received = new Map<string, number>()
    const key = (id: PeerId): string => id.toString()
    for (const node of fleet.nodes) {
      node.subscribe(TOPIC, (msg) => {
        if (new TextDecoder().decode(msg.data) === 'ping all') received.set(key(node.peerId), Date.now())
      })
    }
    const publisher = vehicles[0] as MeshNode
    // wait for the mesh: each subscriber has a topic peer
    await waitUntil(() => fleet.nodes.every(n => n.libp2p.services.pubsub.getSubscribers(TOPIC).length > 0), { timeoutMs: 10_000, message: 'topic peers' }).catch(err => {
      for (const n of fleet.nodes) console.log(n.role, n.region, 'conns', n.libp2p.getConnections().length, 'admitted', n.peers().length, 'subs', n.libp2p.services.pubsub.getSubscribers(TOPIC).length, 'gpeers', n.libp2p.services.pubsub.getPeers().length)
      throw err
    })
    await new Promise(resolve => setTimeout(resolve, 1100)) // one heartbeat grafts the mesh
    await publisher.publish(TOPIC, new TextEncoder().encode('ping all'))
    await waitUntil(() => received.size === 19, { timeoutMs: 10_000, message: `gossip to 19 nodes (got ${received.size})` })
    assert.equal(received.has(key(publisher.peerId)), false, 'the publisher does not receive its own message')
  })

  it('a vehicle in region X finds the stations of region X by DHT within 5 s, nearest first', async () => {
    const vehicle = vehicles.find(v => v.region === 'u33d' && !v.libp2p.getConnections().some(c => stations[1]?.peerId.equals(c.remotePeer))) ?? vehicles[1] as MeshNode
    const start = Date.now()
    const found = await vehicle.findPeers({ role: 'station', region: 'u33d', timeoutMs: 5000 })
    const took = Date.now() - start
    assert.ok(took <= 5000, `lookup took ${took} ms`)
    const expected = stations.filter(s => s.region === 'u33d').map(s => s.peerId.toString()).sort()
    assert.deepEqual(found.map(p => p.peerId.toString()).sort(), expected, 'exactly the two u33d stations')
    for (const p of found) {
      assert.equal(p.role, 'station')
      assert.equal(p.region, 'u33d')
      assert.ok(typeof p.rttMs === 'number' && p.rttMs >= 0, `RTT measured for ${p.peerId}`)
    }
    assert.ok((found[0]?.rttMs ?? 0) <= (found[1]?.rttMs ?? 0), 'same cell: lower RTT first')
  })

  it('a wider prefix ranks same-cell stations before neighbouring cells and leaves far regions out', async () => {
    const vehicle = vehicles.find(v => v.region === 'u33d') as MeshNode
    const found = await vehicle.findPeers({ role: 'station', region: 'u33', timeoutMs: 5000 })
    assert.deepEqual(found.map(p => p.region), ['u33d', 'u33d', 'u33e'])
    const sorted = [...found].sort(compareNearest)
    assert.deepEqual(found.map(p => p.peerId.toString()), sorted.map(p => p.peerId.toString()), 'returned in nearest-first order')
  })

  it('a vehicle announces its region cell and nothing wider (one provider record at start-up, not four); a station its role and every region prefix', async () => {
    const keys = (n: MeshNode): string[] => n.libp2p.services.capabilities.announced().sort()
    for (const v of vehicles.filter(v => v.region === 'u33d')) assert.deepEqual(keys(v), ['region/u33d'], 'a u33d vehicle\'s keys')
    assert.deepEqual(keys(stations[0] as MeshNode), ['region/u3', 'region/u33', 'region/u33d', 'role/station'], 'a u33d station\'s keys')
    // so a wider prefix finds that region's stations, its vehicles only by their cell
    const station = stations[3] as MeshNode // gcpv
    const wide = await station.findPeers({ region: 'u33', timeoutMs: 5000 })
    assert.ok(wide.length > 0 && wide.every(p => p.role === 'station'), `u33 finds stations: ${JSON.stringify(wide.map(p => [p.role, p.region]))}`)
  })

  it('finds vehicles by role and honours the limit', async () => {
    const station = stations[3] as MeshNode // gcpv
    const found = await station.findPeers({ role: 'vehicle', region: 'gcpv', limit: 3, timeoutMs: 5000 })
    assert.equal(found.length, 3)
    assert.ok(found.every(p => p.role === 'vehicle' && p.region === 'gcpv'), JSON.stringify(found.map(p => [p.role, p.region])))
  })

  it('finds providers of a model CID announced at run time', async () => {
    const modelCid = (await capabilityCid('model', 'example')).toString() // any CID string works as a model id
    const holders = [vehicles[2], stations[2]] as MeshNode[]
    await Promise.all(holders.map(async h => h.announce('model', modelCid)))
    const seeker = vehicles[10] as MeshNode
    // a provider record put by a DHT client (the vehicle) reaches the stations' tables a moment after announce() resolves
    const want = holders.map(h => h.peerId.toString()).sort()
    let found: MeshPeer[] = []
    await waitUntil(async () => {
      found = await seeker.findPeers({ model: modelCid, timeoutMs: 5000 })
      return found.length >= want.length
    }, { timeoutMs: 20_000, intervalMs: 250, message: 'both holders found' }).catch(() => {})
    assert.deepEqual(found.map(p => p.peerId.toString()).sort(), want)
  })

  it('rejects a query that names nothing to look for', async () => {
    await assert.rejects((vehicles[0] as MeshNode).findPeers({}), { name: 'InvalidQueryError' })
    await assert.rejects((vehicles[0] as MeshNode).findPeers({ region: 'Z!' }), { name: 'InvalidRegionError' })
    await assert.rejects((stations[0] as MeshNode).findPeers({ role: 'vehicle' }), { name: 'InvalidQueryError', message: /name the region/ })
  })
})
