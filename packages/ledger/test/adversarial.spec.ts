import assert from 'node:assert/strict'
import { PbReceiptBody, RECEIPTS_TOPIC } from '@fleetmesh/protocol'
import { delay, waitUntil } from '@fleetmesh/test-utils'
import { decodeEntry, encodeEntry, entryId } from '../src/entry.js'
import { fromHex, toHex } from '../src/signing.js'
import { marketRerun, settleJob } from '../src/settle.js'
import { addrs, connect, converged, createLedgerFleet } from './utils/mesh.js'
import type { LedgerFleet, LedgerNode } from './utils/mesh.js'

async function admittedAll (nodes: LedgerNode[]): Promise<void> {
  await waitUntil(() => nodes.every(a => nodes.every(b => a === b || a.node.isAdmitted(b.peerId) || a.node.libp2p.getConnections(b.peerId).length === 0)), { timeoutMs: 20_000, message: 'admission' })
}

describe('ledger under partition, cheating and forgery', function () {
  this.timeout(120_000)
  let fleet: LedgerFleet
  afterEach(async () => { await fleet.stop() })

  it('partition the mesh in two (connection gater), run jobs on both sides, heal: all ledgers converge', async () => {
    fleet = await createLedgerFleet()
    const hub = await fleet.add({ worker: true })
    const nodes = [hub]
    for (let i = 1; i < 6; i++) nodes.push(await fleet.add({ worker: true, bootstrap: addrs(hub), ledger: { reconcileIntervalMs: 500 } }))
    await waitUntil(() => nodes.slice(1).every(n => hub.node.isAdmitted(n.peerId)), { timeoutMs: 20_000, message: 'all admitted by the hub' })
    const left = nodes.slice(0, 3)
    const right = nodes.slice(3)
    // partition: each side's gater refuses the other side; existing connections are closed
    for (const a of left) for (const b of right) { a.deny.add(b.peerId.toString()); b.deny.add(a.peerId.toString()) }
    await Promise.all(nodes.flatMap(a => nodes.filter(b => a.deny.has(b.peerId.toString())).map(async b => a.node.libp2p.hangUp(b.peerId))))
    // right side has no bootstrap peer of its own: connect it internally
    await connect(right[1] as LedgerNode, right[0] as LedgerNode)
    await connect(right[2] as LedgerNode, right[0] as LedgerNode)
    await connect(right[2] as LedgerNode, right[1] as LedgerNode)
    await delay(1500)
    for (const a of left) for (const b of right) assert.equal(a.node.libp2p.getConnections(b.peerId).length, 0, 'no connection across the partition')
    const run = async (side: LedgerNode[], tag: string): Promise<void> => {
      for (let j = 0; j < 5; j++) {
        const job = await (side[0] as LedgerNode).market.submit({ jobId: `${tag}-${j}`, modelCid: 'bafy-model', shardUnits: [10, 20], maxPricePerUnit: 5, deadline: Date.now() + 60_000 })
        await settleJob((side[0] as LedgerNode).ledger, job, { sampleRate: 0 })
      }
    }
    await Promise.all([run(left, 'left'), run(right, 'right')])
    await waitUntil(() => converged(left) && converged(right) && (left[0] as LedgerNode).ledger.size === 10 && (right[0] as LedgerNode).ledger.size === 10, { timeoutMs: 20_000, message: 'each side to converge on its own 10 receipts' })
    for (const a of left) for (const b of right) assert.equal(a.node.libp2p.getConnections(b.peerId).length, 0, 'still no connection across the partition')
    assert.notDeepEqual((left[0] as LedgerNode).ledger.entryIds(), (right[0] as LedgerNode).ledger.entryIds(), 'the halves diverged')
    // heal: gaters allow again, one link across; gossip of old receipts is over, anti-entropy merges
    for (const n of nodes) n.deny.clear()
    await connect(right[0] as LedgerNode, left[0] as LedgerNode)
    await waitUntil(() => nodes.every(n => n.ledger.size === 20) && converged(nodes), { timeoutMs: 30_000, message: 'all six ledgers to hold all 20 receipts' })
    const expected = JSON.stringify(hub.ledger.balances())
    for (const [i, n] of nodes.entries()) assert.equal(JSON.stringify(n.ledger.balances()), expected, `node ${i} balances`)
  })

  it('a worker returning perturbed outputs is caught by sampling, earns nothing for them, and loses later auctions', async () => {
    fleet = await createLedgerFleet()
    const requester = await fleet.add({ ledger: { reconcileIntervalMs: 500 } })
    // the cheater asks the lowest price so it wins shards
    const cheater = await fleet.add({ worker: { noise: 0.05, price: 0.2, capacity: 2 }, bootstrap: addrs(requester) })
    const honest = [] as LedgerNode[]
    for (let i = 0; i < 3; i++) honest.push(await fleet.add({ worker: { price: 1 + i / 10, capacity: 4 }, bootstrap: addrs(requester) }))
    const all = [requester, cheater, ...honest]
    await waitUntil(() => all.slice(1).every(n => requester.node.isAdmitted(n.peerId)), { timeoutMs: 20_000, message: 'admitted' })
    await delay(1500)
    const terms = { maxPricePerUnit: 5, deadlineMs: 60_000 }
    const rerun = marketRerun(requester.market, terms)
    // a long window that the fourth bid ends (minBids defaults to the 4 shards): under load the cheater's bid came after a 500 ms window
    const job = await requester.market.submit({ jobId: 'job-a', modelCid: 'bafy-model', shardUnits: [10, 10, 10, 10], maxPricePerUnit: 5, deadline: Date.now() + 60_000, bidWindowMs: 5000 })
    const cheated = job.shards.filter(s => s.worker === cheater.peerId.toString()).map(s => s.shardIndex)
    assert.ok(cheated.length > 0, 'the cheapest worker won shards')
    const settled = await settleJob(requester.ledger, job, { sampleRate: 1, rerun })
    const c = cheater.peerId.toString()
    assert.deepEqual(settled.verified.sort(), [0, 1, 2, 3], 'every shard was re-run (sample rate 1)')
    for (const i of cheated) assert.ok(settled.rejected.some(r => r.shardIndex === i && r.worker === c), `cheated shard ${i} not countersigned`)
    assert.ok(!settled.accepted.some(r => r.worker === c), 'no receipt of the cheater was countersigned')
    assert.ok(settled.evidence.length >= cheated.length, 'evidence for each caught shard')
    for (const e of settled.evidence) assert.equal(e.accused, c, 'evidence names the cheater')
    for (const i of [0, 1, 2, 3]) assert.ok(settled.outputs.has(i), `shard ${i} has an accepted output`)
    // evidence and receipts reach every node; reputation and balances agree everywhere
    await waitUntil(() => converged(all) && cheater.ledger.size === requester.ledger.size, { timeoutMs: 20_000, message: 'ledgers to converge' })
    for (const n of all) {
      assert.ok(n.ledger.reputation(c) < 0.5, `reputation of the cheater at every node: ${n.ledger.reputation(c)}`)
      assert.equal(n.ledger.balances().peers[c]?.earned ?? 0, 0, 'the cheater earned nothing')
    }
    for (const h of honest) assert.equal(requester.ledger.reputation(h.peerId), 1)
    // the next job asks for reputation ≥ 0.5: the cheapest bidder no longer wins
    const next = await requester.market.submit({ jobId: 'job-b', modelCid: 'bafy-model', shardUnits: [10, 10, 10], maxPricePerUnit: 5, minReputation: 0.5, deadline: Date.now() + 60_000 })
    assert.ok(next.shards.every(s => s.worker !== c), 'the cheater won no shard')
  })

  it('forged, altered and single-signed receipts never change a balance (gossip, add, reconciliation)', async () => {
    fleet = await createLedgerFleet()
    const a = await fleet.add({ ledger: { reconcileIntervalMs: 0 } })
    const b = await fleet.add({ bootstrap: addrs(a), ledger: { reconcileIntervalMs: 0 } })
    const mallory = await fleet.add({ bootstrap: addrs(a), ledger: { reconcileIntervalMs: 0 } })
    await admittedAll([a, b, mallory])
    await waitUntil(() => a.node.isAdmitted(mallory.peerId) && a.node.isAdmitted(b.peerId), { timeoutMs: 20_000, message: 'admitted' })
    await delay(1500)
    const honest = await a.ledger.countersign(await b.ledger.signReceipt({ jobId: 'j', shardIndex: 0, requester: a.peerId, modelCid: 'm', inputDigest: new Uint8Array(32), outputDigest: new Uint8Array(32), computeMs: 5, units: 10, pricePerUnit: 1, startedAt: Date.now() - 10, finishedAt: Date.now() - 5 }))
    await waitUntil(() => mallory.ledger.size === 1 && b.ledger.size === 1, { timeoutMs: 10_000, message: 'the honest receipt everywhere' })
    const before = JSON.stringify(a.ledger.balances())
    const rejected: string[] = []
    a.ledger.addEventListener('rejected', (e) => { rejected.push(e.detail.code) })
    // single-signed: mallory signs a receipt as worker for a job a never accepted
    const single = await mallory.ledger.signReceipt({ jobId: 'j', shardIndex: 1, requester: a.peerId, modelCid: 'm', inputDigest: new Uint8Array(32), outputDigest: new Uint8Array(32), computeMs: 5, units: 1000, pricePerUnit: 9, startedAt: Date.now() - 10, finishedAt: Date.now() - 5 })
    // altered: the honest countersigned receipt with 100x the units
    const body = PbReceiptBody.decode(honest.receipt.body)
    const altered = { ...honest.receipt, body: PbReceiptBody.encode({ ...body, units: body.units * 100n, worker: mallory.peerId.toMultihash().bytes }) }
    // forged: mallory signs as worker and "countersigns" with its own key in place of a's
    const forged = { ...single, requesterSignature: single.workerSignature, requesterCertificate: a.certificate as Uint8Array<ArrayBuffer> }
    const bad = [encodeEntry({ receipt: single }), encodeEntry({ receipt: altered as any }), encodeEntry({ receipt: forged })]
    for (const bytes of bad) await mallory.node.libp2p.services.pubsub.publish(RECEIPTS_TOPIC, bytes).catch(() => {})
    for (const bytes of bad) await assert.rejects(a.ledger.add(bytes))
    await waitUntil(() => rejected.length >= 3, { timeoutMs: 10_000, message: 'the gossiped forgeries to be rejected' })
    assert.deepEqual([...new Set(rejected)].sort(), ['ERR_INVALID_SIGNATURE', 'ERR_NOT_COUNTERSIGNED'])
    // reconciliation: mallory's ledger has them injected into its set; a pulls and refuses them
    const m = mallory.ledger as any
    const injected = new Set<string>()
    for (const bytes of [bad[1], bad[2]] as Uint8Array[]) {
      const id = toHex(entryId(decodeEntry(bytes)))
      injected.add(id)
      m.entries.set(id, { kind: 'receipt', id, bytes, receipt: {} })
      m.ids.add(fromHex(id))
    }
    const stats = await a.ledger.reconcileWith(mallory.peerId)
    assert.equal(injected.size, 2, 'the altered and the forged receipt (the single-signed one shares the forged one\'s body and id)')
    assert.equal(stats.entriesRejected, 2)
    assert.equal(stats.entriesReceived, 0)
    assert.equal(a.ledger.size, 1)
    assert.equal(JSON.stringify(a.ledger.balances()), before, 'balances unchanged')
    assert.equal(JSON.stringify(b.ledger.balances()), before, 'balances unchanged at b')
  })
})
