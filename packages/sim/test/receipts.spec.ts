import assert from 'node:assert/strict'
import { computeBalances, IdSet } from '@fleetmesh/ledger'
import { makeReceipt, memoryPair, ReceiptSets, reconcilePair, sessionCost } from '../src/receipts.js'

const receipt = (i: number, worker: string): ReturnType<typeof makeReceipt> => makeReceipt({ jobId: `job-${Math.floor(i / 4)}`, shardIndex: i % 4, replica: 0, requester: 'req', worker, units: 100, pricePerUnit: 0.5 + (i % 3) * 0.25, startedAt: 1000 + i, finishedAt: 2000 + i })

describe('receipts: the ledger\'s sessions and balances over simulated receipt sets', () => {
  it('a memory pair carries messages both ways and ends reads on close', async () => {
    const [a, b] = memoryPair()
    await a.write(Uint8Array.of(1))
    assert.deepEqual(await b.read(), Uint8Array.of(1))
    const pending = a.read()
    await b.write(Uint8Array.of(2))
    assert.deepEqual(await pending, Uint8Array.of(2))
    const end = b.read()
    a.close()
    assert.equal(await end, undefined)
  })

  it('one real session brings both sides to the union, and the balances then agree', async () => {
    const sets = new ReceiptSets(2)
    const union = []
    for (let i = 0; i < 300; i++) {
      const r = receipt(i, `w${i % 5}`)
      const k = sets.create(r)
      if (i % 7 !== 0) sets.hold(0, k)
      if (i % 11 !== 0) sets.hold(1, k)
      // 0, 77, 154 and 231 are on neither side
      if (i % 7 !== 0 || i % 11 !== 0) union.push(r.receipt)
    }
    assert.notDeepEqual(sets.balancesOf(0), sets.balancesOf(1))
    const r = await reconcilePair(sets.sets[0].snapshot(), sets.sets[1].snapshot())
    for (const id of r.toInitiator) sets.holdId(0, id)
    for (const id of r.toResponder) sets.holdId(1, id)
    assert.equal(sets.sets[0].size, 296)
    assert.equal(sets.sets[1].size, 296)
    assert.deepEqual(sets.balancesOf(0), sets.balancesOf(1))
    assert.deepEqual(sets.balancesOf(0), computeBalances(union))
    assert.ok(r.initiator.rounds >= 1 && r.initiator.bytesSent > 0)
  })

  it('measures sessions: equal sets cost one exchange, a difference costs more', async () => {
    const same = await sessionCost(1000, 0)
    const one = await sessionCost(1000, 1)
    assert.equal(same.messages, 2, 'one message each way')
    assert.ok(one.messages > same.messages && one.bytes > same.bytes, `${JSON.stringify(one)} vs ${JSON.stringify(same)}`)
    assert.equal(new IdSet().size, 0)
  })
})
