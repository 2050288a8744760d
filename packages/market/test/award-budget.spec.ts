import assert from 'node:assert/strict'
import { delay, waitAdmitted } from '@fleetmesh/test-utils'
import { createMarketFleet, workFor } from './utils/mesh.js'
import type { MarketFleet } from './utils/mesh.js'

describe('a worker over its award budget for a requester: the award is placed again, not lost', function () {
  this.timeout(60_000)
  let fleet: MarketFleet
  afterEach(async () => { await fleet.stop() })

  it('jobs back to back faster than the worker\'s award budget all complete on it (the refused award waits for the budget to refill; the worker is not left out of the job)', async () => {
    fleet = await createMarketFleet()
    // one award a second, two at once: the third job in a burst finds the budget spent
    const worker = await fleet.add('station', 'u33d', { worker: { onLease: workFor(5), pricing: { basePricePerUnit: 1, loadFactor: 0 } }, market: { budgets: { award: { perSecond: 1, burst: 2 } } } })
    const requester = await fleet.add('station', 'u33d', { bootstrap: worker.node.getMultiaddrs().map(String) })
    await waitAdmitted(worker.node, [requester.node])
    await delay(1500) // gossipsub heartbeat grafts the mesh
    const refused: string[] = []
    requester.market.addEventListener('lease', (e) => { if (e.detail.state === 'declined') refused.push(e.detail.reason ?? '') })
    for (let i = 0; i < 4; i++) {
      const result = await requester.market.submit({ modelCid: 'bafy-model', shardUnits: [10], maxPricePerUnit: 2, deadline: Date.now() + 30_000, bidWindowMs: 300 })
      assert.equal(result.shards[0]?.worker, worker.node.peerId.toString(), `job ${i} ran on the worker`)
    }
    assert.ok(refused.some(r => /ERR_RATE_LIMITED|budget/.test(r)), `an award was refused over the budget: ${JSON.stringify(refused)}`)
  })
})
