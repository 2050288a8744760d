import assert from 'node:assert/strict'
import { delay, waitAdmitted, waitUntil } from '@fleetmesh/test-utils'
import { createMarketFleet, parkedVehicle, workFor } from './utils/mesh.js'
import type { BidEvent } from '../src/index.js'
import type { MarketFleet } from './utils/mesh.js'

describe('bidder RTT: the requester measures only bidders it is connected to', function () {
  this.timeout(60_000)
  let fleet: MarketFleet
  afterEach(async () => { await fleet.stop() })

  it('a vehicle whose bid came through a station is scored with the unknown RTT, not dialled to be pinged', async () => {
    fleet = await createMarketFleet()
    const requester = await fleet.add('station', 'u33d')
    const station = await fleet.add('station', 'u33d', { bootstrap: requester.node.getMultiaddrs().map(String), worker: { onLease: workFor(50), pricing: { basePricePerUnit: 0.5, loadFactor: 0 }, maxConcurrentLeases: 2 } })
    const vehicle = await fleet.add('vehicle', 'u33d', { bootstrap: station.node.getMultiaddrs().map(String), worker: { onLease: workFor(50), pricing: { basePricePerUnit: 1.5, loadFactor: 0 }, maxConcurrentLeases: 1, vehicleState: parkedVehicle() } })
    await waitAdmitted(requester.node, [station.node])
    await waitAdmitted(station.node, [vehicle.node])
    await delay(1500) // gossipsub heartbeat grafts the mesh
    await requester.node.libp2p.hangUp(vehicle.node.peerId)

    // the real ping service, watched: who was pinged, and was a connection open at that moment
    const ping = (requester.node.libp2p.services as any).ping
    const original = ping.ping.bind(ping)
    const pinged: Array<{ peer: string, connected: boolean }> = []
    ping.ping = async (peer: any, options?: any) => {
      pinged.push({ peer: peer.toString(), connected: requester.node.libp2p.getConnections(peer).length > 0 })
      return original(peer, options)
    }
    const bids: BidEvent[] = []
    requester.market.addEventListener('bid', (e) => { bids.push(e.detail) })

    const result = await requester.market.submit({ modelCid: 'bafy-model', shardUnits: [100], maxPricePerUnit: 2, deadline: Date.now() + 30_000, bidWindowMs: 1500 })
    await waitUntil(() => bids.some(b => b.bidder === vehicle.node.peerId.toString()), { timeoutMs: 10_000, message: "the vehicle's bid to reach the requester through the station" })
    assert.equal(result.shards[0]?.worker, station.node.peerId.toString(), 'the cheaper station wins')
    const unconnected = pinged.filter(p => !p.connected)
    assert.deepEqual(unconnected, [], 'no bidder was dialled only to measure its RTT')
    assert.ok(pinged.some(p => p.peer === station.node.peerId.toString()), 'the connected station was pinged')
  })

  it('a bidder whose RTT this node knows already (MarketInit.knownRtt) is scored with it and not pinged; the job is awarded once its bids are in, before the window ends', async () => {
    fleet = await createMarketFleet()
    const known = new Map<string, number>()
    const requester = await fleet.add('station', 'u33d', { market: { knownRtt: (id: string) => known.get(id) } })
    const station = await fleet.add('station', 'u33d', { bootstrap: requester.node.getMultiaddrs().map(String), worker: { onLease: workFor(20) } })
    await waitAdmitted(requester.node, [station.node])
    await delay(1500) // gossipsub heartbeat grafts the mesh
    known.set(station.node.peerId.toString(), 4)

    const ping = (requester.node.libp2p.services as any).ping
    const original = ping.ping.bind(ping)
    const pinged: string[] = []
    ping.ping = async (peer: any, options?: any) => {
      pinged.push(peer.toString())
      return original(peer, options)
    }
    const bidWindowMs = 20_000
    const result = await requester.market.submit({ modelCid: 'bafy-model', shardUnits: [100], maxPricePerUnit: 2, deadline: Date.now() + 60_000, bidWindowMs })
    assert.equal(result.shards[0]?.worker, station.node.peerId.toString())
    assert.deepEqual(pinged, [], 'the bidder with a known RTT was not pinged')
    assert.ok((result.awardedAt ?? Infinity) < result.submittedAt + bidWindowMs, 'the one bid the job needs ended the window early')
  })
})
