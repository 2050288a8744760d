import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { removeTempDirs, tempDir, waitUntil } from '@fleetmesh/test-utils'
import { issueGrant } from '../src/grant.js'
import { decodeShardReturn } from '../src/settle.js'
import { addrs, createLedgerFleet } from './utils/mesh.js'
import type { SettlementOutcome } from '../src/settlements.js'
import type { LedgerFleet, LedgerNode } from './utils/mesh.js'
import type { PbReceipt } from '@fleetmesh/protocol'

/** A receipt `worker` signs for a lease of `jobId` from `requester` (10 units at 0.5: 5 credits); the worker follows it until it is settled. */
async function workerReceipt (worker: LedgerNode, requester: LedgerNode, jobId: string, shardIndex: number): Promise<PbReceipt> {
  const bytes = await worker.ledger.shardReturn({
    lease: { leaseId: `lease-${jobId}-${shardIndex}`, jobId, requester: requester.peerId.toString(), shardIndex, replica: 0, units: 10, pricePerUnit: 0.5, modelCid: 'bafy-settle' },
    inputDigest: randomBytes(32),
    outputDigest: randomBytes(32),
    startedAt: Date.now() - 100
  })
  return decodeShardReturn(bytes).receipt
}

describe('settlement that survives the requester (SETTLE_PROTOCOL)', function () {
  this.timeout(60_000)
  let fleet: LedgerFleet
  afterEach(async () => {
    await fleet.stop()
    await removeTempDirs()
  })

  async function pair (): Promise<{ requester: LedgerNode, worker: LedgerNode, outcomes: SettlementOutcome[] }> {
    fleet = await createLedgerFleet()
    // reconciliation off: only the presentations carry the countersigned receipts back
    const ledger = { reconcileIntervalMs: 0, requireFunds: true, settlement: { presentAfterMs: 300, retryMs: 200 } }
    const requester = await fleet.add({ ledger })
    const worker = await fleet.add({ ledger, bootstrap: addrs(requester) })
    await waitUntil(() => requester.node.libp2p.services.admission.isAdmitted(worker.peerId) && worker.node.libp2p.services.admission.isAdmitted(requester.peerId), { timeoutMs: 20_000, message: 'admission' })
    await requester.ledger.addGrant(await issueGrant(fleet.authority.privateKey, { account: requester.peerId.toString(), credits: 100, expiresAt: Date.now() + 3600_000 }))
    const outcomes: SettlementOutcome[] = []
    worker.ledger.addEventListener('settlement', (e) => { outcomes.push(e.detail) })
    return { requester, worker, outcomes }
  }

  it('a receipt whose result the requester never accepted is refused, with the reason', async () => {
    const { requester, worker, outcomes } = await pair()
    const r = await workerReceipt(worker, requester, 'never-ran', 0)
    assert.equal(worker.ledger.unsettledReceipts().length, 1, 'the worker follows the receipt it signed')
    await waitUntil(() => outcomes.length === 1, { timeoutMs: 20_000, message: 'the presentation answered' })
    assert.equal(outcomes[0]?.status, 'refused')
    assert.match(outcomes[0]?.reason ?? '', /no accepted result of job never-ran shard 0 is recorded at this requester/)
    assert.deepEqual(worker.ledger.unsettledReceipts(), [])
    assert.equal(requester.ledger.balances().receipts, 0, 'nothing paid')
    assert.ok(r.body.length > 0)
  })

  it('while the job runs the requester answers pending; once it holds the settlement, a presented receipt is countersigned and the record ends', async () => {
    const { requester, worker, outcomes } = await pair()
    requester.ledger.commit('held-job', 10)
    const receipts = [await workerReceipt(worker, requester, 'held-job', 0), await workerReceipt(worker, requester, 'held-job', 1)]
    await waitUntil(() => worker.ledger.unsettledReceipts().every(u => u.attempts >= 2), { timeoutMs: 20_000, message: 'presentations answered pending' })
    assert.equal(outcomes.length, 0, 'a running job\'s receipts are neither countersigned nor refused')

    // the job completed: its accepted receipts are recorded (durably) and nobody settles them in this process
    await requester.ledger.holdSettlement('held-job', receipts)
    requester.ledger.release('held-job')
    assert.deepEqual(requester.ledger.pendingSettlements().map(p => [p.jobId, p.receipts]), [['held-job', 2]])
    await waitUntil(() => outcomes.length === 2, { timeoutMs: 20_000, message: 'both receipts settled through the worker' })
    assert.deepEqual(outcomes.map(o => o.status), ['countersigned', 'countersigned'])
    assert.deepEqual(requester.ledger.pendingSettlements(), [], 'every receipt countersigned: the record ended')
    const paid = await worker.ledger.receipts({ jobId: 'held-job' })
    assert.equal(paid.length, 2, 'the worker stored both countersigned receipts')
    assert.ok(paid.every(p => p.countersigned))
    assert.equal(worker.ledger.balances().peers[worker.peerId.toString()]?.earned, 10)
    assert.equal(requester.ledger.spendable(), 90)
  })

  it('a settlement recorded before a stop is resumed at the next start', async () => {
    fleet = await createLedgerFleet()
    const dir = await tempDir('fleetmesh-pending-')
    const ledger = { reconcileIntervalMs: 0, requireFunds: false, dir: `${dir}/ledger` }
    const requester = await fleet.add({ ledger })
    const worker = await fleet.add({ ledger: { reconcileIntervalMs: 0 } })
    const receipts = [await workerReceipt(worker, requester, 'resumed-job', 0)]
    await requester.ledger.holdSettlement('resumed-job', receipts)
    await fleet.stopNode(requester)
    const again = await fleet.add({ ledger, key: requester.key })
    await waitUntil(() => again.ledger.pendingSettlements().length === 0, { timeoutMs: 20_000, message: 'the settlement resumed' })
    const paid = await again.ledger.receipts({ jobId: 'resumed-job' })
    assert.equal(paid.length, 1)
    assert.equal(paid[0]?.countersigned, true)
  })
})
