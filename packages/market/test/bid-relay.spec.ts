import assert from 'node:assert/strict'
import { bidsTopic } from '@fleetmesh/protocol'
import { delay, waitAdmitted, waitUntil } from '@fleetmesh/test-utils'
import { createMarketFleet, parkedVehicle, workFor } from './utils/mesh.js'
import type { MarketFleet, MarketNode } from './utils/mesh.js'

const joinedBids = (n: MarketNode): boolean => n.node.libp2p.services.pubsub.getTopics().includes(bidsTopic('u33d'))

describe('bids topic: stations carry a region\'s bids, vehicle workers only send theirs', function () {
  this.timeout(60_000)
  let fleet: MarketFleet
  afterEach(async () => { await fleet.stop() })

  it('a vehicle worker\'s bid reaches a vehicle requester through their station, and vehicles join the bids topic only while a job of their own runs', async () => {
    fleet = await createMarketFleet()
    const station = await fleet.add('station', 'u33d', { worker: { onLease: workFor(20), pricing: { basePricePerUnit: 1.5, loadFactor: 0 } } })
    const boot = station.node.getMultiaddrs().map(String)
    const requester = await fleet.add('vehicle', 'u33d', { bootstrap: boot, worker: { onLease: workFor(20), vehicleState: parkedVehicle() } })
    const worker = await fleet.add('vehicle', 'u33d', { bootstrap: boot, worker: { onLease: workFor(20), pricing: { basePricePerUnit: 0.5, loadFactor: 0 }, vehicleState: parkedVehicle() } })
    await waitAdmitted(station.node, [requester.node, worker.node])
    await delay(1500) // gossipsub heartbeat grafts the mesh

    assert.ok(joinedBids(station), 'the station carries its region\'s bids')
    assert.ok(!joinedBids(requester), 'an idle vehicle worker has not joined the bids topic (requester)')
    assert.ok(!joinedBids(worker), 'an idle vehicle worker has not joined the bids topic (worker)')
    assert.equal(requester.node.libp2p.getConnections(worker.node.peerId).length, 0, 'the two vehicles are not connected: the bid can only come through the station')

    const job = requester.market.submit({ modelCid: 'bafy-model', shardUnits: [100], maxPricePerUnit: 2, deadline: Date.now() + 30_000, bidWindowMs: 1500 })
    assert.ok(joinedBids(requester), 'the requester joins the bids topic while its job runs')
    const result = await job
    assert.equal(result.shards[0]?.worker, worker.node.peerId.toString(), 'the cheaper vehicle\'s bid arrived through the station and won')
    await waitUntil(() => !joinedBids(requester), { timeoutMs: 5000, message: 'the requester to leave the bids topic once its job ended' })
    assert.ok(!joinedBids(worker), 'the worker never joined the bids topic')
  })
})
