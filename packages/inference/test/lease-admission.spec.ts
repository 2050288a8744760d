import assert from 'node:assert/strict'
import { generateGru, generateMlp, GRU_STATE_PAIRS, gruInitialState, maxAbsDiff } from '@fleetmesh/runtime'
import { createTestMesh, delay, delayCertificate, removeTempDirs, tempDir, waitAdmitted } from '@fleetmesh/test-utils'
import { gruChunk, stepLocally } from './fixtures/state-models.js'
import { follow, pattern, runLocal } from './utils/jobs.js'
import type { MeshNode } from '@fleetmesh/peer'
import type { TestMesh } from '@fleetmesh/test-utils'
import type { MeshNodeInit } from '@fleetmesh/peer'
import type { WireTensor } from '@fleetmesh/protocol'

/**
 * A requester that is not connected to the bidder it awards dials it for
 * the award; the worker admits the requester, answers the award, and sends
 * its own certificate, which the requester verifies in its own time. The
 * worker's accept can therefore make the lease active before the requester
 * has admitted the worker: the job must still use the lease.
 */

const MLP = generateMlp({ inputs: 16, hidden: [32], outputs: 4, seed: 11 })

describe('a lease active before its worker is admitted by the requester', function () {
  this.timeout(90_000)
  let fleet: TestMesh | undefined
  afterEach(async () => {
    await fleet?.stop()
    fleet = undefined
    await removeTempDirs()
  })

  const store = async (): Promise<Partial<MeshNodeInit>> => ({ dataDir: await tempDir('fleetmesh-lease-admission-') })

  /** A requester and a worker that meet through a station (a worker too, asking more than anything here pays: it relays the offers topic and refuses every offer). */
  async function threeNodes (): Promise<{ requester: MeshNode, worker: MeshNode }> {
    fleet = await createTestMesh()
    const station = await fleet.add('station', 'u33d', { ...await store(), worker: { pricing: { basePricePerUnit: 100, loadFactor: 0 } } })
    const boot = station.getMultiaddrs().map(String)
    const requester = await fleet.add('station', 'u33d', { ...await store(), bootstrap: boot, market: { bidWindowMs: 400 } })
    const worker = await fleet.add('station', 'u33d', { ...await store(), bootstrap: boot, worker: true })
    await waitAdmitted(station, [requester, worker])
    await Promise.all([station, requester, worker].map(async n => n.announced()))
    await delay(1500) // gossipsub heartbeat grafts the mesh
    return { requester, worker }
  }

  it('a session\'s stage is built once its worker is admitted, and the session steps like a local one', async () => {
    const { requester, worker } = await threeNodes()
    // the requester is not connected to the worker: it dials it to ping or award it, and the worker's certificate comes late
    delayCertificate(worker, requester, 1000)
    await requester.libp2p.hangUp(worker.peerId)
    const gru = { hidden: 16, seed: 5 }
    const model = generateGru(gru)
    const inputs = Array.from({ length: 5 }, (_, i) => [gruChunk(i)])
    const expected = await stepLocally(model, [...GRU_STATE_PAIRS], gruInitialState(gru), inputs)
    const session = await requester.openSession({ model, state: [...GRU_STATE_PAIRS], maxPrice: 10, deadline: Date.now() + 30_000 })
    try {
      for (const [i, x] of inputs.entries()) {
        const out = await session.step(x)
        const d = maxAbsDiff(out[0] as WireTensor, (expected[i] as WireTensor[])[0] as WireTensor)
        assert.ok(d <= 1e-5, `step ${i}: max abs diff ${d}`)
      }
    } finally {
      await session.close().catch(() => {})
    }
  })

  it('the requester opens the lease\'s infer stream once the worker is admitted, and the job completes', async () => {
    const { requester, worker } = await threeNodes()
    // a first job: the worker caches the model and bids at once on the next offer
    const warm = await follow(requester.submit({ model: MLP, inputs: [pattern('x', [4, 16], 1)], shards: 1, maxPrice: 10, deadline: Date.now() + 25_000 }))
    assert.equal(warm.error, undefined, `the first job failed: ${String(warm.error?.message)}`)
    // the requester loses its connection to the worker: it dials the worker again to ping or award it,
    // and the worker's certificate on that connection comes late
    delayCertificate(worker, requester, 1000)
    await requester.libp2p.hangUp(worker.peerId)

    const input: WireTensor = pattern('x', [8, 16], 0)
    const r = await follow(requester.submit({ model: MLP, inputs: [input], shards: 1, maxPrice: 10, deadline: Date.now() + 25_000 }))
    assert.equal(r.error, undefined, `the job failed: ${String(r.error?.message)}`)
    const awarded = r.events.filter(e => e.type === 'awarded')
    assert.deepEqual(awarded.map(e => e.type === 'awarded' ? e.worker : ''), [worker.peerId.toString()], 'one lease, to the worker')
    const [expected] = await runLocal(MLP, [input])
    const d = maxAbsDiff(r.outputs?.[0] as WireTensor, expected as WireTensor)
    assert.ok(d <= 1e-5, `max abs diff ${d}`)
  })
})
