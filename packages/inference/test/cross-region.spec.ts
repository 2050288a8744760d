import assert from 'node:assert/strict'
import { ScriptedVehicleState } from '@fleetmesh/market'
import { generateMlp, maxAbsDiff } from '@fleetmesh/runtime'
import { createTestMesh, removeTempDirs, tempDir, waitUntil } from '@fleetmesh/test-utils'
import { follow, pattern, runLocal } from './utils/jobs.js'
import type { MeshNode } from '@fleetmesh/peer'
import type { WireTensor } from '@fleetmesh/protocol'
import type { TestMesh } from '@fleetmesh/test-utils'

const MODEL = generateMlp({ inputs: 16, hidden: [32], outputs: 4, seed: 33 })

/**
 * A requester that knows only one station of its own region runs a job on
 * the vehicles of another region: it finds them through the DHT
 * (`region/<prefix>` provider records), connects, and the offer's gossip
 * reaches them — no refusal on either side of the lookup-then-dial.
 */
describe('a job across regions', function () {
  this.timeout(120_000)
  let mesh: TestMesh
  after(async () => { await mesh?.stop(); await removeTempDirs() })

  it('a requester bootstrapped only to a station of region A completes a job whose workers are all vehicles of region B', async () => {
    mesh = await createTestMesh()
    const stationA = await mesh.add('station', 'u33d')
    const stationB = await mesh.add('station', 'u33e', { bootstrap: stationA.getMultiaddrs().map(String) })
    const parked = (): { vehicleState: ScriptedVehicleState } => ({ vehicleState: new ScriptedVehicleState({ drive: 'parked', soc: 0.9, batteryTempC: 20 }) })
    const vehicles: MeshNode[] = []
    for (let i = 0; i < 2; i++) {
      vehicles.push(await mesh.add('vehicle', 'u33e', { bootstrap: stationB.getMultiaddrs().map(String), worker: parked(), dataDir: await tempDir('fleetmesh-cross-') }))
    }
    const requester = await mesh.add('station', 'u33d', { bootstrap: stationA.getMultiaddrs().map(String), dataDir: await tempDir('fleetmesh-cross-'), market: { bidWindowMs: 500 } })
    await Promise.all(mesh.nodes.map(async n => n.announced()))
    await waitUntil(() => requester.isAdmitted(stationA.peerId), { timeoutMs: 15_000, message: 'the requester admitted by its station' })

    const input = pattern('x', [16, 16], 0.6)
    const r = await follow(requester.submit({ model: MODEL, inputs: [input], shards: 2, maxPrice: 10, region: 'u33e' }))
    assert.equal(r.error, undefined, `${r.error?.name}: ${r.error?.message}`)
    const [expected] = await runLocal(MODEL, [input])
    assert.ok(maxAbsDiff(r.outputs?.[0] as WireTensor, expected as WireTensor) <= 1e-5)
    const vehicleIds = new Set(vehicles.map(v => v.peerId.toString()))
    const ran = r.events.filter(e => e.type === 'shard-finished').map(e => (e as { worker: string }).worker)
    assert.ok(ran.length > 0 && ran.every(w => vehicleIds.has(w)), 'every micro-batch ran on a region-B vehicle')
    for (const n of [requester, ...vehicles]) assert.equal(n.refusals().length, 0, `no refusal at ${n.peerId.toString()}`)
  })
})
