import assert from 'node:assert/strict'
import { delay, waitAdmitted } from '@fleetmesh/test-utils'
import { createMarketFleet, parkedVehicle, workFor } from './utils/mesh.js'
import type { MarketFleet } from './utils/mesh.js'

describe('requester: a likely winner whose bid came through a station is dialled during the bid window', function () {
  this.timeout(60_000)
  let fleet: MarketFleet
  afterEach(async () => { await fleet.stop() })

  it('the requester connects to the vehicle whose bid would win before the window ends, and awards it over that connection', async () => {
    fleet = await createMarketFleet()
    const station = await fleet.add('station', 'u33d', { worker: { onLease: workFor(20), pricing: { basePricePerUnit: 1.5, loadFactor: 0 } } })
    const boot = station.node.getMultiaddrs().map(String)
    // a second station that is no worker: a region peer the requester knows that never answers, so the window runs its full length
    const silent = await fleet.add('station', 'u33d', { bootstrap: boot })
    const requester = await fleet.add('vehicle', 'u33d', { bootstrap: [...boot, ...silent.node.getMultiaddrs().map(String)] })
    const worker = await fleet.add('vehicle', 'u33d', { bootstrap: boot, worker: { onLease: workFor(20), pricing: { basePricePerUnit: 0.5, loadFactor: 0 }, vehicleState: parkedVehicle() } })
    await waitAdmitted(station.node, [requester.node, worker.node, silent.node])
    await waitAdmitted(requester.node, [station.node, silent.node])
    await delay(1500) // gossipsub heartbeat grafts the mesh
    assert.equal(requester.node.libp2p.getConnections(worker.node.peerId).length, 0, 'the two vehicles are not connected: the bid can only come through the station')

    let connectedAt: number | undefined
    let awardedAt: number | undefined
    requester.node.libp2p.addEventListener('connection:open', (evt) => {
      if (evt.detail.remotePeer.equals(worker.node.peerId)) connectedAt ??= Date.now()
    })
    requester.market.addEventListener('lease', (evt) => {
      if (evt.detail.side === 'requester' && evt.detail.state === 'awarded' && evt.detail.worker === worker.node.peerId.toString()) awardedAt ??= Date.now()
    })
    const submittedAt = Date.now()
    const bidWindowMs = 4000
    const result = await requester.market.submit({ modelCid: 'bafy-model', shardUnits: [100], maxPricePerUnit: 2, deadline: Date.now() + 30_000, bidWindowMs, minBids: 3 })
    assert.equal(result.shards[0]?.worker, worker.node.peerId.toString(), 'the cheaper vehicle won')
    assert.ok(awardedAt != null, 'the vehicle was awarded')
    assert.ok(connectedAt != null, 'the requester connected to the vehicle')
    assert.ok(connectedAt < awardedAt, `the connection opened ${connectedAt - submittedAt} ms after the submit, before the award (${awardedAt - submittedAt} ms)`)
    assert.ok(connectedAt < submittedAt + bidWindowMs, `the connection opened within the bid window (${connectedAt - submittedAt} ms after the submit)`)
  })
})
