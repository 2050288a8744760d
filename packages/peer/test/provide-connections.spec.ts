import assert from 'node:assert/strict'
import { createTestMesh, delay, waitUntil } from '@fleetmesh/test-utils'
import { PROVIDE_LINGER_MS } from '../src/constants.js'
import type { TestMesh } from '@fleetmesh/test-utils'
import type { MeshNode } from '../src/index.js'

const stationsOf = (n: MeshNode): string[] => n.libp2p.getConnections().filter(c => c.status === 'open' && n.libp2p.services.admission.get(c.remotePeer)?.role === 'station').map(c => c.remotePeer.toString())

describe('a vehicle keeps its bootstrap stations, not the ones its provide walked to', function () {
  this.timeout(90_000)
  let fleet: TestMesh
  after(async () => { await fleet?.stop() })

  it('after its first announce a vehicle closes the station connections its provide opened; its record still finds it', async () => {
    fleet = await createTestMesh()
    const first = await fleet.add('station', 'u33d')
    const boot = first.getMultiaddrs().map(String)
    const stations = [first]
    for (let i = 0; i < 4; i++) stations.push(await fleet.add('station', 'u33d', { bootstrap: boot }))
    await Promise.all(stations.map(async s => s.announced()))
    // the first station knows the others, so a provide's walk from it finds the two nearest the key wherever they are
    await waitUntil(() => stationsOf(first).length === stations.length - 1 && ((first.libp2p.services.dht as unknown as { routingTable?: { size: number } }).routingTable?.size ?? 0) >= stations.length - 1, { timeoutMs: 30_000, message: 'the first station to hold the others in its routing table' })

    const vehicle = await fleet.add('vehicle', 'u33d', { bootstrap: boot })
    await vehicle.announced()
    const afterProvide = stationsOf(vehicle)
    assert.ok(afterProvide.length >= 2, `the provide reached stations beyond the bootstrap one (connected to ${afterProvide.length})`)
    await delay(PROVIDE_LINGER_MS + 1500)
    assert.deepEqual(stationsOf(vehicle), [first.peerId.toString()], `only the bootstrap station is left (was ${afterProvide.length})`)

    // the record lies on the stations it left: another vehicle finds it there and dials it
    const seeker = await fleet.add('vehicle', 'u33d', { bootstrap: stations[4]?.getMultiaddrs().map(String) })
    await seeker.announced()
    const found = await seeker.findPeers({ role: 'vehicle', region: 'u33d', timeoutMs: 5000 })
    assert.ok(found.some(p => p.peerId.equals(vehicle.peerId)), `the vehicle is found: ${JSON.stringify(found.map(p => p.peerId.toString()))}`)
  })
})
