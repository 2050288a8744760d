import assert from 'node:assert/strict'
import { PbReceipt, PbReceiptBody } from '@fleetmesh/protocol'
import { createTestIdentity } from '@fleetmesh/test-utils'
import { computeBalances, computeEarnings, computeReputation, receiptAmount } from '../src/balances.js'
import { outputDigest, tensorsClose } from '../src/digest.js'
import { encodeEntry, verifyEntry } from '../src/entry.js'
import { createEquivocationEvidence, createMismatchEvidence, verifyEvidence } from '../src/evidence.js'
import { countersignReceipt, receiptId, signWorkerReceipt, verifyReceipt } from '../src/receipt.js'
import { toHex } from '../src/signing.js'
import { fields, paidEntry, world } from './utils/receipts.js'
import type { CertificateVerifier } from '../src/certificates.js'
import type { VerifiedReceipt } from '../src/receipt.js'
import type { TestIdentity } from '@fleetmesh/test-utils'
import type { FleetAuthority, WireTensor } from '@fleetmesh/protocol'

describe('receipts: sign, countersign, verify', () => {
  let authority: FleetAuthority
  let verifier: CertificateVerifier
  let requester: TestIdentity
  let worker: TestIdentity
  before(async () => {
    ({ authority, verifier } = await world())
    requester = await createTestIdentity(authority, { role: 'station' })
    worker = await createTestIdentity(authority, { role: 'vehicle', owner: 'owner-anna' })
  })

  it('a worker-signed receipt verifies; the countersigned one keeps the same id (sha2-256 of the body)', async () => {
    const signed = await signWorkerReceipt(worker.privateKey, worker.certificate, fields(requester, worker, 'job-1', 0))
    const v1 = await verifyReceipt(signed, { certificates: verifier })
    assert.equal(v1.countersigned, false)
    assert.equal(v1.worker, worker.peerId.toString())
    assert.equal(v1.workerOwner, 'owner-anna')
    const counter = await countersignReceipt(requester.privateKey, requester.certificate, signed)
    const v2 = await verifyReceipt(PbReceipt.encode(counter), { certificates: verifier, requireCountersigned: true })
    assert.equal(v2.countersigned, true)
    assert.equal(v2.id, v1.id)
    assert.equal(v2.id, toHex(receiptId(counter)))
  })

  it('single-signed, altered and forged receipts are refused as ledger entries', async () => {
    const signed = await signWorkerReceipt(worker.privateKey, worker.certificate, fields(requester, worker, 'job-2', 0))
    await assert.rejects(verifyEntry(encodeEntry({ receipt: signed }), { certificates: verifier }), { name: 'NotCountersignedError' })
    const counter = await countersignReceipt(requester.privateKey, requester.certificate, signed)
    // altered: price doubled after both signed
    const body = PbReceiptBody.decode(counter.body)
    const altered = { ...counter, body: PbReceiptBody.encode({ ...body, pricePerUnit: body.pricePerUnit * 2 }) }
    await assert.rejects(verifyEntry(encodeEntry({ receipt: altered }), { certificates: verifier }), { name: 'InvalidSignatureError' })
    // forged: a third party signs as the requester
    const mallory = await createTestIdentity(authority, { role: 'station' })
    const forged = { ...signed, requesterSignature: (await countersignReceipt(mallory.privateKey, mallory.certificate, await signWorkerReceipt(worker.privateKey, worker.certificate, fields(mallory, worker, 'job-2', 0)))).requesterSignature, requesterCertificate: requester.certificate as Uint8Array<ArrayBuffer> }
    await assert.rejects(verifyEntry(encodeEntry({ receipt: forged }), { certificates: verifier }), { name: 'InvalidSignatureError' })
    // a certificate from another authority
    const other = await world()
    const outsider = await createTestIdentity(other.authority, { role: 'station' })
    const out = await paidEntry(requester, outsider, 'job-2', 1)
    await assert.rejects(verifyEntry(out.bytes, { certificates: verifier }), { name: 'UnknownAuthorityError' })
    // countersigning a receipt that names another requester is refused
    await assert.rejects(countersignReceipt(mallory.privateKey, mallory.certificate, signed), { name: 'InvalidReceiptError' })
    // a receipt from the future is ignored (not rejected)
    const future = await paidEntry(requester, worker, 'job-2', 2, { startedAt: Date.now() + 3600_000, finishedAt: Date.now() + 3600_000 })
    await assert.rejects(verifyEntry(future.bytes, { certificates: verifier }), { name: 'EntryFromFutureError' })
  })

  it('evidence: mismatch needs two agreeing witnesses of other workers; equivocation needs two bodies of one worker for one shard', async () => {
    const w2 = await createTestIdentity(authority, { role: 'station' })
    const w3 = await createTestIdentity(authority, { role: 'station' })
    const good = fields(requester, w2, 'job-3/verify/0/1', 0)
    const bad = await signWorkerReceipt(worker.privateKey, worker.certificate, fields(requester, worker, 'job-3', 0, { outputDigest: new Uint8Array(32).fill(7) }))
    const r2 = await signWorkerReceipt(w2.privateKey, w2.certificate, { ...good, inputDigest: fields(requester, worker, 'job-3', 0).inputDigest, outputDigest: new Uint8Array(32).fill(1) })
    const r3 = await signWorkerReceipt(w3.privateKey, w3.certificate, { ...fields(requester, w3, 'job-3/verify/0/2', 0), inputDigest: fields(requester, worker, 'job-3', 0).inputDigest, outputDigest: new Uint8Array(32).fill(1) })
    const ev = await createMismatchEvidence(requester.privateKey, requester.peerId, requester.certificate, bad, [r2, r3])
    const v = await verifyEvidence(ev, { certificates: verifier })
    assert.equal(v.kind, 'mismatch')
    assert.equal(v.accused, worker.peerId.toString())
    // the witnesses must agree; the reporter must be the requester
    await assert.rejects(verifyEvidence(await createMismatchEvidence(requester.privateKey, requester.peerId, requester.certificate, r2, [bad, r3]), { certificates: verifier }), { name: 'InvalidEvidenceError' })
    await assert.rejects(verifyEvidence(await createMismatchEvidence(w2.privateKey, w2.peerId, w2.certificate, bad, [r2, r3]), { certificates: verifier }), { name: 'InvalidEvidenceError' })
    // one witness may be the requester's own run (price 0), never the accused, and never a paid one
    const input = fields(requester, worker, 'job-3', 0).inputDigest
    const own = await signWorkerReceipt(requester.privateKey, requester.certificate, { ...fields(requester, requester, 'job-3/mb/0', 0), inputDigest: input, outputDigest: new Uint8Array(32).fill(1), pricePerUnit: 0 })
    const withOwn = await verifyEvidence(await createMismatchEvidence(requester.privateKey, requester.peerId, requester.certificate, bad, [r2, own]), { certificates: verifier })
    assert.equal(withOwn.accused, worker.peerId.toString())
    const paidOwn = await signWorkerReceipt(requester.privateKey, requester.certificate, { ...fields(requester, requester, 'job-3/mb/0', 0), inputDigest: input, outputDigest: new Uint8Array(32).fill(1) })
    await assert.rejects(verifyEvidence(await createMismatchEvidence(requester.privateKey, requester.peerId, requester.certificate, bad, [r2, paidOwn]), { certificates: verifier }), { name: 'InvalidReceiptError' })
    const ownBad = await signWorkerReceipt(requester.privateKey, requester.certificate, { ...fields(requester, requester, 'job-3/mb/0', 0), inputDigest: input, outputDigest: new Uint8Array(32).fill(7), pricePerUnit: 0 })
    await assert.rejects(verifyEvidence(await createMismatchEvidence(requester.privateKey, requester.peerId, requester.certificate, ownBad, [r2, r3]), { certificates: verifier }), { name: 'InvalidReceiptError' })
    await assert.rejects(verifyReceipt(own, { certificates: verifier }), { name: 'InvalidReceiptError' }, 'outside evidence an own-run receipt is refused')
    // equivocation
    const a = await signWorkerReceipt(worker.privateKey, worker.certificate, fields(requester, worker, 'job-4', 0))
    const b = await signWorkerReceipt(worker.privateKey, worker.certificate, fields(requester, worker, 'job-4', 0, { outputDigest: new Uint8Array(32).fill(9) }))
    const eq = await verifyEvidence(await createEquivocationEvidence(w3.privateKey, w3.peerId, w3.certificate, a, b), { certificates: verifier })
    assert.equal(eq.kind, 'equivocation')
    const c = await signWorkerReceipt(worker.privateKey, worker.certificate, fields(requester, worker, 'job-4', 1))
    await assert.rejects(verifyEvidence(await createEquivocationEvidence(w3.privateKey, w3.peerId, w3.certificate, a, c), { certificates: verifier }), { name: 'InvalidEvidenceError' })
    const rep = computeReputation([], [v, eq])
    assert.equal(rep.get(worker.peerId.toString())?.reputation, 0, 'equivocation zeroes reputation')
    const rep2 = computeReputation([], [v])
    assert.equal(rep2.get(worker.peerId.toString())?.reputation, 1 / 11, 'one mismatch, no good receipts: 1/(1+10)')
  })
})

describe('balances, earnings and reputation are pure functions of the set', () => {
  it('same set in any order → identical balances; owners roll up; one payment per slot; exact micro-credit sums', async () => {
    const { authority, verifier } = await world()
    const req = await createTestIdentity(authority, { role: 'station', owner: 'fleet-ops' })
    const w1 = await createTestIdentity(authority, { role: 'vehicle', owner: 'owner-anna' })
    const w2 = await createTestIdentity(authority, { role: 'vehicle', owner: 'owner-anna' })
    const w3 = await createTestIdentity(authority, { role: 'station' })
    const receipts: VerifiedReceipt[] = []
    for (let i = 0; i < 30; i++) {
      const w = [w1, w2, w3][i % 3] as TestIdentity
      const e = await paidEntry(req, w, `job-${i % 7}`, i, { pricePerUnit: 0.1 + i / 100, units: 10 + i, finishedAt: Date.UTC(2026, 10, 1 + (i % 2), 12), startedAt: Date.UTC(2026, 10, 1 + (i % 2), 11) })
      const v = await verifyEntry(e.bytes, { certificates: verifier })
      assert.equal(v.kind, 'receipt')
      if (v.kind === 'receipt') receipts.push(v.receipt)
    }
    const a = computeBalances(receipts)
    const shuffled = [...receipts].sort(() => Math.random() - 0.5)
    assert.deepEqual(computeBalances(shuffled), a)
    const total = receipts.reduce((n, r) => n + receiptAmount(r), 0) / 1e6
    assert.equal(a.peers[req.peerId.toString()]?.credits, -total)
    assert.equal(a.owners['owner-anna']?.credits, (a.peers[w1.peerId.toString()]?.credits ?? 0) + (a.peers[w2.peerId.toString()]?.credits ?? 0))
    assert.equal(a.owners['fleet-ops']?.credits, -total)
    const sum = Object.values(a.peers).reduce((n, b) => n + Math.round(b.credits * 1e6), 0)
    assert.equal(sum, 0, 'credits are conserved')
    // a second countersigned receipt for the same slot does not pay twice
    const dup = await paidEntry(req, w1, 'job-0', 0, { pricePerUnit: 0.1, units: 10, computeMs: 99, finishedAt: Date.UTC(2026, 10, 1, 12), startedAt: Date.UTC(2026, 10, 1, 11) })
    const dv = await verifyEntry(dup.bytes, { certificates: verifier })
    if (dv.kind !== 'receipt') throw new Error('not a receipt')
    assert.equal(computeBalances([...receipts, dv.receipt]).receipts, 30)
    assert.equal(computeReputation([...receipts, dv.receipt], []).get(w1.peerId.toString())?.reputation, 0, 'two bodies for one slot is equivocation')
    // earnings per day
    const earn = computeEarnings(receipts, w3.peerId.toString())
    assert.deepEqual(earn.days.map(d => d.day), ['2026-11-01', '2026-11-02'])
    assert.equal(earn.total.shards, 10)
    assert.equal(earn.days.reduce((n, d) => n + d.shards, 0), 10)
    assert.equal(computeReputation(receipts, []).get(w3.peerId.toString())?.reputation, 1)
  })
})

describe('output digests', () => {
  const t = (data: number[]): WireTensor => ({ name: 'y', dtype: 'float32', dims: [data.length], data: Float32Array.from(data) })
  it('honest float noise below the tolerance gives the same digest; a perturbation does not', () => {
    const base = [0.1234, -2.5001, 7.0, 0]
    const noisy = base.map(x => x + 1e-6)
    assert.deepEqual(outputDigest([t(base)], 1e-3), outputDigest([t(noisy)], 1e-3))
    assert.ok(tensorsClose([t(base)], [t(noisy)], 1e-3))
    const perturbed = base.map(x => x + 0.05)
    assert.notDeepEqual(outputDigest([t(base)], 1e-3), outputDigest([t(perturbed)], 1e-3))
    assert.ok(!tensorsClose([t(base)], [t(perturbed)], 1e-3))
    // the documented boundary limit: x/tol at k + 0.5 ± noise rounds apart
    assert.notDeepEqual(outputDigest([t([0.0005 - 1e-7])], 1e-3), outputDigest([t([0.0005 + 1e-7])], 1e-3))
    assert.ok(tensorsClose([t([0.0005 - 1e-7])], [t([0.0005 + 1e-7])], 1e-3), 'tensorsClose settles boundary cases')
    assert.throws(() => outputDigest([t(base)], 0), { name: 'InvalidConfigError' })
  })
})
