import assert from 'node:assert/strict'
import { delay, waitAdmitted } from '@fleetmesh/test-utils'
import { createMarketFleet, parkedVehicle, workFor } from './utils/mesh.js'
import type { MarketFleet } from './utils/mesh.js'

describe('early award when every known region peer answered: a worker the requester does not know still gets its bid in', function () {
  this.timeout(60_000)
  let fleet: MarketFleet
  afterEach(async () => { await fleet.stop() })

  it('a requester that knows only the station waits for the bid a vehicle sends through it, and spreads a 2-shard job over both', async () => {
    fleet = await createMarketFleet()
    const station = await fleet.add('station', 'u33d', { worker: { onLease: workFor(20), pricing: { basePricePerUnit: 1, loadFactor: 0 } } })
    const boot = station.node.getMultiaddrs().map(String)
    // the requester and the vehicle know only the station: the vehicle's bid reaches the requester a relay hop after the station's
    // the station's RTT known (as a long-held connection's is): its bid is final when it arrives
    const requester = await fleet.add('vehicle', 'u33d', { bootstrap: boot, market: { knownRtt: (peer) => peer === station.node.peerId.toString() ? 1 : undefined } })
    const vehicle = await fleet.add('vehicle', 'u33d', { bootstrap: boot, worker: { onLease: workFor(20), pricing: { basePricePerUnit: 1, loadFactor: 0 }, vehicleState: parkedVehicle() } })
    await waitAdmitted(station.node, [requester.node, vehicle.node])
    await delay(1500) // gossipsub heartbeat grafts the mesh
    assert.equal(requester.node.libp2p.getConnections(vehicle.node.peerId).length, 0, 'the requester is not connected to the vehicle')

    // two shards (two acceptable bids wanted) in a 5 s window: the station's bid alone is all the requester's region peers have to say
    const result = await requester.market.submit({ modelCid: 'bafy-model', shardUnits: [100, 100], maxPricePerUnit: 2, deadline: Date.now() + 30_000, bidWindowMs: 5000, spread: true })
    const workers = new Set(result.shards.map(s => s.worker))
    assert.deepEqual([...workers].sort(), [station.node.peerId.toString(), vehicle.node.peerId.toString()].sort(), 'one shard each: the vehicle\'s bid, relayed by the station, was in before the awards')
  })
})
