import assert from 'node:assert/strict'
import { delay, waitUntil } from '@fleetmesh/test-utils'
import { addrs, createLedgerFleet } from './utils/mesh.js'
import type { LedgerFleet, LedgerNode } from './utils/mesh.js'

/** Counts `node`'s own anti-entropy rounds (reconcile events it initiated). */
function countRounds (node: LedgerNode): { rounds: () => number } {
  let n = 0
  node.ledger.addEventListener('reconcile', (evt) => { if (evt.detail.initiator) n++ })
  return { rounds: () => n }
}

describe('ledger: anti-entropy rounds back off while the sets are equal', function () {
  this.timeout(60_000)
  let fleet: LedgerFleet
  afterEach(async () => { await fleet.stop() })

  it('rounds that find nothing double the interval up to reconcileMaxIntervalMs; a new entry brings the base interval back', async () => {
    fleet = await createLedgerFleet()
    const timing = { reconcileIntervalMs: 100, reconcileMaxIntervalMs: 5000 }
    const a = await fleet.add({ ledger: timing })
    const b = await fleet.add({ ledger: timing, bootstrap: addrs(a) })
    await waitUntil(() => a.node.isAdmitted(b.peerId) && b.node.isAdmitted(a.peerId), { timeoutMs: 20_000, message: 'admitted' })
    const seen = countRounds(a)
    await delay(3000)
    // at a fixed 100 ms interval 3 s hold ~30 rounds; backing off (100, 200, 400, 800, 1600 ms) about 5
    assert.ok(seen.rounds() >= 2 && seen.rounds() <= 10, `a ran ${seen.rounds()} rounds in 3 s with nothing to exchange`)

    // a new entry on a: the next round is due at the base interval, not after the 3.2 s the back-off reached
    const before = seen.rounds()
    const receipt = await b.ledger.signReceipt({ jobId: 'backoff', shardIndex: 0, requester: a.peerId, modelCid: 'bafy-model', inputDigest: new Uint8Array(32).fill(1), outputDigest: new Uint8Array(32).fill(2), computeMs: 10, units: 10, pricePerUnit: 1, startedAt: Date.now() - 20, finishedAt: Date.now() - 10 })
    await a.ledger.countersign(receipt)
    await waitUntil(() => seen.rounds() > before, { timeoutMs: 2000, intervalMs: 20, message: 'a round soon after the new entry' })
  })
})
