import assert from 'node:assert/strict'
import { createAuthority } from '@fleetmesh/protocol'
import { encodeEntry, verifyEntry } from '../src/entry.js'
import { spendable } from '../src/funds.js'
import { issueGrant, verifyGrant } from '../src/grant.js'
import { signWorkerReceipt } from '../src/receipt.js'
import { settleJob, verificationJobId } from '../src/settle.js'
import { createTestIdentity, waitUntil } from '@fleetmesh/test-utils'
import { addrs, createLedgerFleet } from './utils/mesh.js'
import { fields, paidEntry, world } from './utils/receipts.js'
import type { VerifiedEntry } from '../src/entry.js'
import type { TestIdentity } from '@fleetmesh/test-utils'
import type { LedgerFleet } from './utils/mesh.js'
import type { CertificateVerifier } from '../src/certificates.js'
import type { FleetAuthority, NodeRole } from '@fleetmesh/protocol'

/** A certified device of region u33d. */
async function device (authority: FleetAuthority, role: NodeRole = 'station', owner?: string): Promise<TestIdentity> {
  return createTestIdentity(authority, { role, region: 'u33d', owner })
}

describe('funding: grants and spendable balances (pure)', () => {
  let authority: FleetAuthority
  let verifier: CertificateVerifier
  let requester: TestIdentity
  let worker: TestIdentity
  const t0 = Date.now() - 3600_000
  before(async () => {
    ({ authority, verifier } = await world())
    requester = await device(authority, 'station', 'office')
    worker = await device(authority, 'vehicle', 'owner-anna')
  })
  const grant = async (account: string, credits: number, issuedAt: number, expiresAt: number): Promise<VerifiedEntry> =>
    verifyEntry(encodeEntry({ grant: await issueGrant(authority.privateKey, { account, credits, issuedAt, expiresAt }) }), { certificates: verifier })
  /** a paid receipt of `credits` (units × 0.5) finished at `at` */
  const paid = async (jobId: string, credits: number, at: number): Promise<VerifiedEntry> =>
    verifyEntry((await paidEntry(requester, worker, jobId, 0, { units: credits * 2, startedAt: at - 1, finishedAt: at })).bytes, { certificates: verifier })

  it('without a grant a requester has nothing to spend; a grant funds it up to its amount', async () => {
    const r = requester.peerId.toString()
    const spent = await paid('job-1', 30, t0 + 10)
    assert.equal(spendable([], r, Date.now()), 0)
    assert.equal(spendable([spent], r, Date.now()), -30, 'paying without a grant overdraws')
    const g = await grant(r, 100, t0, Date.now() + 3600_000)
    assert.equal(spendable([g], r, Date.now()), 100)
    assert.equal(spendable([g, spent], r, Date.now()), 70)
    assert.equal(spendable([g, spent], worker.peerId.toString(), Date.now()), 30, 'the worker earned what the requester spent')
    assert.equal(spendable([g, spent], 'owner-anna', Date.now()), 30, 'so did its owner')
  })

  it('open commitments are set aside, less what their job already paid (its verification re-runs included)', async () => {
    const r = requester.peerId.toString()
    const g = await grant(r, 100, t0, Date.now() + 3600_000)
    const a = await paid('job-a', 10, t0 + 20)
    const v = await verifyEntry((await paidEntry(requester, await device(authority), verificationJobId('job-a', 0, 1), 0, { units: 10, finishedAt: t0 + 30, startedAt: t0 + 29 })).bytes, { certificates: verifier })
    const commitments = [{ jobId: 'job-a', requester: r, maxCost: 40 }, { jobId: 'job-b', requester: r, maxCost: 25 }]
    // 100 − 10 − 5 spent; job-a still sets aside 40 − 15, job-b 25
    assert.equal(spendable([g, a, v], r, Date.now(), commitments), 100 - 15 - 25 - 25)
  })

  it('unspent grant credits lapse at expiry; spending draws on the soonest-expiring grant first, then on earnings', async () => {
    const r = requester.peerId.toString()
    const soon = await grant(r, 50, t0, t0 + 1000)
    const later = await grant(r, 50, t0, t0 + 100_000_000)
    const spend = await paid('job-x', 40, t0 + 500)
    // at t0+500 the 40 came from the grant expiring at t0+1000: its last 10 lapse, the other grant is whole
    assert.equal(spendable([soon, later, spend], r, t0 + 2000), 50)
    assert.equal(spendable([soon, later, spend], r, t0 + 600), 60)
    assert.equal(spendable([soon, later], r, t0 + 100_000_001), 0, 'both lapsed')
  })

  it('the result does not depend on the order of the entries', async () => {
    const r = requester.peerId.toString()
    const list = [await grant(r, 20, t0, Date.now() + 1e6), await paid('o1', 5, t0 + 1), await grant(r, 7, t0 + 2, Date.now() + 1e6), await paid('o2', 9, t0 + 3)]
    assert.equal(spendable(list, r, Date.now()), spendable([...list].reverse(), r, Date.now()))
  })

  it('grants from an untrusted key, altered grants and bad amounts are refused (InvalidGrantError, InvalidSignatureError, InvalidConfigError)', async () => {
    const other = await createAuthority()
    const forged = await issueGrant(other.privateKey, { account: 'x', credits: 5, expiresAt: Date.now() + 1000 })
    await assert.rejects(verifyGrant(forged, { certificates: verifier }), (err: any) => err.name === 'InvalidGrantError' && err.code === 'ERR_INVALID_GRANT')
    const good = await issueGrant(authority.privateKey, { account: 'x', credits: 5, expiresAt: Date.now() + 1000 })
    const sig = new Uint8Array(good.signature)
    sig[0] = (sig[0] as number) ^ 1
    await assert.rejects(verifyGrant({ ...good, signature: sig }, { certificates: verifier }), { name: 'InvalidSignatureError' })
    await assert.rejects(issueGrant(authority.privateKey, { account: 'x', credits: 0, expiresAt: Date.now() + 1000 }), { name: 'InvalidConfigError' })
    await assert.rejects(issueGrant(authority.privateKey, { account: 'x', credits: 1, expiresAt: Date.now() - 1000 }), { name: 'InvalidConfigError' })
  })
})

describe('funding on real nodes', function () {
  this.timeout(60_000)
  let fleet: LedgerFleet
  afterEach(async () => { await fleet.stop() })

  it('a requester without a grant cannot countersign or commit, and a worker sees it cannot pay; with a grant it spends up to it and no further', async () => {
    fleet = await createLedgerFleet()
    const requester = await fleet.add({ ledger: { requireFunds: true } })
    const worker = await fleet.add({ role: 'vehicle', owner: 'owner-anna', bootstrap: requester.node.getMultiaddrs().map(String), ledger: { requireFunds: true } })
    await waitUntil(() => requester.node.libp2p.services.admission.isAdmitted(worker.peerId), { timeoutMs: 20_000, message: 'admission' })
    const r = { privateKey: requester.key, peerId: requester.peerId, certificate: requester.certificate }
    const w = { privateKey: worker.key, peerId: worker.peerId, certificate: worker.certificate }
    // 40 credits a receipt: 80 units at 0.5
    const receipt = async (shard: number): Promise<any> => signWorkerReceipt(w.privateKey, w.certificate, fields(r, w, 'funded-job', shard, { units: 80 }))

    assert.equal(worker.ledger.canAfford(requester.peerId, 1), false, 'the worker sees no funds before bidding')
    await assert.rejects(requester.ledger.countersign(await receipt(0)), (err: any) => err.name === 'InsufficientFundsError' && err.code === 'ERR_INSUFFICIENT_FUNDS' && err.needed === 40 && err.available === 0)
    assert.throws(() => { requester.ledger.commit('funded-job', 10) }, { name: 'InsufficientFundsError' })
    assert.equal(requester.ledger.balances().receipts, 0, 'nothing was paid')

    // the authority funds the requester with 100 credits; the grant reaches the worker by gossip or reconciliation
    await requester.ledger.addGrant(await issueGrant(fleet.authority.privateKey, { account: requester.peerId.toString(), credits: 100, expiresAt: Date.now() + 3600_000 }))
    await waitUntil(() => worker.ledger.grants().length === 1, { timeoutMs: 20_000, message: 'the grant at the worker' })
    assert.equal(worker.ledger.canAfford(requester.peerId, 100), true)
    assert.equal(worker.ledger.canAfford(requester.peerId, 101), false)

    requester.ledger.commit('funded-job', 80)
    assert.equal(requester.ledger.spendable(), 20)
    assert.throws(() => { requester.ledger.commit('other-job', 30) }, { name: 'InsufficientFundsError' }, 'the commitment is set aside')
    await requester.ledger.countersign(await receipt(0))
    await requester.ledger.countersign(await receipt(1))
    assert.equal(requester.ledger.spendable(), 20)
    requester.ledger.release('funded-job')
    assert.equal(requester.ledger.spendable(), 20)
    await assert.rejects(requester.ledger.countersign(await receipt(2)), (err: any) => err.name === 'InsufficientFundsError' && err.available === 20, 'a third would overdraw')
    const b = requester.ledger.balances()
    assert.equal(b.peers[requester.peerId.toString()]?.spent, 80)
    await waitUntil(() => worker.ledger.balances().receipts === 2, { timeoutMs: 20_000, message: 'receipts at the worker' })
    assert.equal(worker.ledger.canAfford(requester.peerId, 21), false, 'the worker sees the requester has 20 left')
    assert.equal(worker.ledger.spendable('owner-anna'), 80)
  })
})

describe('funds at bid time, on real nodes', function () {
  this.timeout(120_000)
  let fleet: LedgerFleet
  afterEach(async () => { await fleet.stop() })

  it('workers do not bid for a requester that cannot pay the offer\'s maximum cost (NoBidsError funds); with a grant it spends up to it and no further', async () => {
    fleet = await createLedgerFleet()
    const funds = { requireFunds: true }
    const requester = await fleet.add({ ledger: funds })
    const workers = [
      await fleet.add({ worker: { price: 1 }, bootstrap: addrs(requester), ledger: funds }),
      await fleet.add({ worker: { price: 1 }, bootstrap: addrs(requester), ledger: funds })
    ]
    await waitUntil(() => workers.every(w => requester.node.libp2p.services.admission.isAdmitted(w.peerId)), { timeoutMs: 20_000, message: 'admission' })
    await new Promise(resolve => setTimeout(resolve, 1500)) // gossip mesh
    // 2 shards of 30 units at most 1 credit a unit: 60 credits at most
    const job = { modelCid: 'bafy-funds', shardUnits: [30, 30], maxPricePerUnit: 1, bidWindowMs: 500, placementTimeoutMs: 60_000 }

    const broke = await requester.market.submit({ ...job, jobId: 'no-grant' }).then(() => undefined, (err: any) => err)
    assert.equal(broke?.name, 'NoBidsError', String(broke))
    assert.equal(broke.reason, 'funds')
    assert.match(broke.message, /grant/)
    assert.deepEqual(broke.refusals.map((r: any) => r.code), ['FUNDS', 'FUNDS'])
    assert.deepEqual(requester.ledger.commitments(), [], 'nothing set aside for a job that never awarded')

    await requester.ledger.addGrant(await issueGrant(fleet.authority.privateKey, { account: requester.peerId.toString(), credits: 100, expiresAt: Date.now() + 3600_000 }))
    await waitUntil(() => workers.every(w => w.ledger.grants().length === 1), { timeoutMs: 30_000, message: 'the grant at the workers' })
    const running = requester.market.submit({ ...job, jobId: 'funded' })
    await waitUntil(() => requester.ledger.commitments().length === 1, { timeoutMs: 30_000, message: 'the commitment at the first award' })
    assert.deepEqual(requester.ledger.commitments(), [{ jobId: 'funded', requester: requester.peerId.toString(), maxCost: 60 }])
    assert.equal(requester.ledger.spendable(), 40, 'the job\'s maximum cost is set aside while it runs')
    const settled = await settleJob(requester.ledger, await running, { sampleRate: 0 })
    assert.equal(settled.accepted.length, 2)
    assert.deepEqual(requester.ledger.commitments(), [], 'settlement ends the commitment')
    assert.equal(requester.ledger.spendable(), 40, '60 spent of the 100 granted')

    // the workers see the countersigned receipts: 40 left is less than a second job's 60
    await waitUntil(() => workers.every(w => w.ledger.balances().receipts === 2), { timeoutMs: 30_000, message: 'receipts at the workers' })
    const beyond = await requester.market.submit({ ...job, jobId: 'beyond-the-grant' }).then(() => undefined, (err: any) => err)
    assert.equal(beyond?.name, 'NoBidsError', String(beyond))
    assert.equal(beyond.reason, 'funds')
    assert.equal(requester.ledger.spendable(), 40, 'nothing more was spent')
    for (const w of workers) assert.equal(w.ledger.spendable(requester.peerId), 40, `requester's balance at worker ${w.peerId.toString()}`)
  })
})
