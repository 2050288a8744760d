import assert from 'node:assert/strict'
import { computeBalances, payingReceipts } from '../src/balances.js'
import { verifyEntry } from '../src/entry.js'
import { spendable } from '../src/funds.js'
import { issueGrant } from '../src/grant.js'
import { encodeEntry } from '../src/entry.js'
import { baseJobId, microBatchJobId, parseMicroBatchJobId } from '../src/micro-batch.js'
import { verificationJobId } from '../src/settle.js'
import { checkEvents, verificationRecords } from '../src/verification.js'
import { createTestIdentity } from '@fleetmesh/test-utils'
import { paidEntry, plainReceipt, world } from './utils/receipts.js'
import type { CertificateVerifier } from '../src/certificates.js'
import type { FleetAuthority } from '@fleetmesh/protocol'
import type { TestIdentity } from '@fleetmesh/test-utils'

describe('micro-batch receipts (pure)', () => {
  it('job ids: <jobId>/mb/<seq> parses back, and the base job strips micro-batch and re-run suffixes', () => {
    assert.equal(microBatchJobId('j1', 7), 'j1/mb/7')
    assert.deepEqual(parseMicroBatchJobId('j1/mb/7'), { jobId: 'j1', seq: 7 })
    assert.equal(parseMicroBatchJobId('j1'), undefined)
    assert.equal(parseMicroBatchJobId('j1/mb/x'), undefined)
    assert.equal(baseJobId('j1/mb/7'), 'j1')
    assert.equal(baseJobId(verificationJobId('j1', 2, 1)), 'j1')
    assert.equal(baseJobId('j1'), 'j1')
  })

  it('two workers are each paid once for one micro-batch (its result and its agreeing spot check); one worker is paid once per micro-batch', () => {
    const a = plainReceipt({ id: 'a', jobId: 'j/mb/0', worker: 'A', units: 4, pricePerUnit: 0.5 })
    const b = plainReceipt({ id: 'b', jobId: 'j/mb/0', worker: 'B', units: 4, pricePerUnit: 0.5 })
    const again = plainReceipt({ id: 'c', jobId: 'j/mb/0', worker: 'A', units: 4, pricePerUnit: 0.5, finishedAt: 5 })
    assert.deepEqual(payingReceipts([a, b, again]).map(r => r.id), ['a', 'b'])
    const bal = computeBalances([a, b, again])
    assert.equal(bal.peers.A?.earned, 2)
    assert.equal(bal.peers.B?.earned, 2)
    assert.equal(bal.peers.Q?.spent, 4)
    // lease receipts keep one payer per slot, whoever the worker
    const l1 = plainReceipt({ id: 'l1', jobId: 'j', worker: 'A' })
    const l2 = plainReceipt({ id: 'l2', jobId: 'j', worker: 'B' })
    assert.deepEqual(payingReceipts([l1, l2]).map(r => r.id), ['l1'])
  })

  it('agreeing micro-batch receipts of two workers are a passed check of each; differing digests or one worker are none', () => {
    const a = plainReceipt({ id: 'a', jobId: 'j/mb/3', shardIndex: 0, worker: 'A', finishedAt: 10 })
    const b = plainReceipt({ id: 'b', jobId: 'j/mb/3', shardIndex: 0, worker: 'B', finishedAt: 12 })
    const events = checkEvents([a, b], [])
    assert.deepEqual(events.map(e => [e.worker, e.ok, e.checked, e.proof, e.at]).sort(), [['A', true, 'a', 'b', 12], ['B', true, 'b', 'a', 12]])
    assert.equal(verificationRecords([a, b], []).get('A')?.consecutive, 1)
    const c = plainReceipt({ id: 'c', jobId: 'j/mb/3', worker: 'C', outputDigest: 'other' })
    assert.deepEqual(checkEvents([a, c], []), [], 'outputs differ')
    const otherStage = plainReceipt({ id: 'd', jobId: 'j/mb/3', shardIndex: 1, worker: 'D' })
    assert.deepEqual(checkEvents([a, otherStage], []), [], 'another stage of the micro-batch checks nothing')
    const plain = [plainReceipt({ id: 'p', worker: 'A' }), plainReceipt({ id: 'q', worker: 'B' })]
    assert.deepEqual(checkEvents(plain, []), [], 'two lease receipts of one slot are no check')
    const uncountersigned = plainReceipt({ id: 'u', jobId: 'j/mb/3', worker: 'B', countersigned: false })
    assert.deepEqual(checkEvents([a, uncountersigned], []), [])
  })
})

describe('micro-batch receipts draw on their job\'s commitment', () => {
  let authority: FleetAuthority
  let verifier: CertificateVerifier
  let requester: TestIdentity
  let worker: TestIdentity
  before(async () => {
    ({ authority, verifier } = await world())
    requester = await createTestIdentity(authority, { role: 'station', region: 'u33d' })
    worker = await createTestIdentity(authority, { role: 'vehicle', region: 'u33d', owner: 'owner-anna' })
  })

  it('a paid micro-batch receipt of job-a lowers what job-a still sets aside, not the other jobs\' commitments', async () => {
    const r = requester.peerId.toString()
    const t0 = Date.now() - 3600_000
    const g = await verifyEntry(encodeEntry({ grant: await issueGrant(authority.privateKey, { account: r, credits: 100, issuedAt: t0, expiresAt: Date.now() + 3600_000 }) }), { certificates: verifier })
    // 8 items at 0.5 credits: 4 credits
    const mb = await verifyEntry((await paidEntry(requester, worker, microBatchJobId('job-a', 0), 0, { units: 8, startedAt: t0 + 9, finishedAt: t0 + 10 })).bytes, { certificates: verifier })
    const commitments = [{ jobId: 'job-a', requester: r, maxCost: 10 }, { jobId: 'job-b', requester: r, maxCost: 20 }]
    assert.equal(spendable([g, mb], r, Date.now(), commitments), 100 - 4 - (10 - 4) - 20)
    assert.equal(spendable([g, mb], 'owner-anna', Date.now()), 4)
  })
})

describe('reputation counts paid jobs, not receipts', () => {
  it('a worker paid 20 micro-batches of one job has good = 1: one mismatch still weighs 10 jobs', async () => {
    const { computeReputation } = await import('../src/balances.js')
    const paid = Array.from({ length: 20 }, (_, i) => plainReceipt({ id: `m${i}`, jobId: `j/mb/${i}`, worker: 'A' }))
    const other = plainReceipt({ id: 'o', jobId: 'k', worker: 'A' })
    const rep = computeReputation([...paid, other], [{ kind: 'mismatch', accused: 'A', accusedReceipt: 'x' } as any])
    assert.equal(rep.get('A')?.good, 2)
    assert.equal(rep.get('A')?.reputation, 3 / 13)
  })
})
