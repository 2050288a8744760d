import assert from 'node:assert/strict'
import { cheaterEscapeProbability, checkEvents, recordsFromEvents, trustThreshold, verificationRate, verificationRecords } from '../src/verification.js'
import { isSampled, verificationJobId } from '../src/settle.js'
import { VERIFICATION_FLOOR_RATE, VERIFICATION_TRUST_AFTER } from '../src/constants.js'
import { plainReceipt } from './utils/receipts.js'
import type { VerifiedEvidence } from '../src/evidence.js'
import type { CheckEvent } from '../src/verification.js'

const ok = (worker: string, at: number, n = 0): CheckEvent => ({ worker, ok: true, at, proof: `p${at}/${n}`, checked: `c${at}/${n}` })
const bad = (worker: string, at: number): CheckEvent => ({ worker, ok: false, at, proof: `e${at}`, checked: `c${at}` })

describe('adaptive verification (pure)', () => {
  it('a new worker is checked at the untrusted rate until it has trustAfter consecutive verified results', () => {
    assert.equal(verificationRate(undefined), 1)
    for (let c = 0; c < VERIFICATION_TRUST_AFTER; c++) assert.equal(verificationRate({ consecutive: c, mismatches: 0 }), 1, `consecutive ${c}`)
  })

  it('once trusted the rate falls with every further verified result, down to the floor and never below it', () => {
    let prev = 1
    for (let c = VERIFICATION_TRUST_AFTER; c <= 2000; c += 10) {
      const r = verificationRate({ consecutive: c, mismatches: 0 })
      assert.ok(r <= prev, `rate at ${c} (${r}) does not rise over ${prev}`)
      assert.ok(r >= VERIFICATION_FLOOR_RATE, `rate at ${c} (${r}) is not below the floor`)
      prev = r
    }
    assert.ok(verificationRate({ consecutive: 20, mismatches: 0 }) < verificationRate({ consecutive: 11, mismatches: 0 }))
    assert.equal(verificationRate({ consecutive: 100_000, mismatches: 0 }), VERIFICATION_FLOOR_RATE)
    assert.equal(verificationRate({ consecutive: 50, mismatches: 0 }, { floorRate: 0.1 }), 0.2)
  })

  it('a mismatch resets the record: the rate jumps back to untrusted and trust takes longer the more mismatches', () => {
    const records = recordsFromEvents([...Array.from({ length: 500 }, (_, i) => ok('W', i)), bad('W', 600), ok('W', 601)])
    const r = records.get('W')
    assert.ok(r != null)
    assert.deepEqual({ verified: r.verified, consecutive: r.consecutive, mismatches: r.mismatches, lastMismatchAt: r.lastMismatchAt }, { verified: 501, consecutive: 1, mismatches: 1, lastMismatchAt: 600 })
    assert.equal(verificationRate(r), 1, 'after a mismatch every result is checked again')
    assert.equal(trustThreshold(1), 2 * VERIFICATION_TRUST_AFTER)
    assert.equal(verificationRate({ consecutive: 15, mismatches: 1 }), 1, 'one past mismatch: 15 results are not enough')
    assert.ok(verificationRate({ consecutive: 25, mismatches: 1 }) < 1)
    assert.equal(trustThreshold(10), trustThreshold(4), 'the penalty stops growing')
  })

  it('the record is a pure function of the events: any order gives the same records', () => {
    const events = [ok('A', 1), ok('A', 2), bad('A', 3), ok('A', 4), ok('B', 2), ok('B', 5, 1), ok('B', 5, 2)]
    const a = recordsFromEvents(events)
    const b = recordsFromEvents([...events].reverse())
    assert.deepEqual([...a.entries()], [...b.entries()])
    assert.equal(a.get('A')?.consecutive, 1)
    assert.equal(a.get('B')?.consecutive, 3)
  })

  it('derives checks from the receipt set: an agreeing countersigned re-run is a pass, mismatch evidence a failure', () => {
    const orig = plainReceipt({ id: 'o1', worker: 'W', jobId: 'j1', shardIndex: 3, finishedAt: 10 })
    const rerun = plainReceipt({ id: 'v1', worker: 'V', jobId: verificationJobId('j1', 3, 1), shardIndex: 0, finishedAt: 20 })
    const otherInput = plainReceipt({ id: 'v2', worker: 'V', jobId: verificationJobId('j1', 3, 2), inputDigest: 'other', finishedAt: 21 })
    const otherRequester = plainReceipt({ id: 'v3', worker: 'V', requester: 'Q2', jobId: verificationJobId('j1', 3, 1), finishedAt: 22 })
    const unsigned = plainReceipt({ id: 'v4', worker: 'V', jobId: verificationJobId('j1', 3, 3), countersigned: false, finishedAt: 23 })
    const events = checkEvents([orig, rerun, otherInput, otherRequester, unsigned], [])
    assert.deepEqual(events.map(e => [e.worker, e.ok, e.proof, e.checked]), [['W', true, 'v1', 'o1']])
    const evidence = { id: 'e1', kind: 'mismatch', accused: 'W', accusedReceipt: 'o9', reporter: 'Q', issuedAt: 40, receipts: [plainReceipt({ id: 'o9', finishedAt: 30 })], evidence: undefined as any } satisfies VerifiedEvidence
    const records = verificationRecords([orig, rerun], [evidence, { ...evidence, id: 'e2' }])
    assert.deepEqual(records.get('W'), { worker: 'W', verified: 1, consecutive: 0, mismatches: 1, lastMismatchAt: 30 })
  })

  it('sampling is secret: a worker without the seed cannot tell which micro-batches are checked', () => {
    const seed = 'requester-secret'
    const picks = (s: string): number[] => Array.from({ length: 2000 }, (_, i) => i).filter(i => isSampled('job-x', i, 0.05, s))
    const mine = picks(seed)
    const guess = picks('worker-guess')
    assert.ok(mine.length > 60 && mine.length < 140, `about 5 % of 2000 sampled: ${mine.length}`)
    const overlap = mine.filter(i => guess.includes(i)).length
    assert.ok(overlap < mine.length / 4, `another seed picks other micro-batches (${overlap} of ${mine.length} in common)`)
  })

  it('figures: an honest long-record worker costs at most 5 % extra compute; a trusted cheater at f = 0.1 escapes 20 jobs with chance ≤ 0.01', () => {
    const longRecord = { consecutive: 5000, mismatches: 0 }
    assert.ok(verificationRate(longRecord) <= 0.05, `overhead ${verificationRate(longRecord)}`)
    const escape = cheaterEscapeProbability({ f: 0.1, microBatches: 64, jobs: 20, record: longRecord })
    assert.ok(escape <= 0.01, `escape ${escape}`)
    const fresh = cheaterEscapeProbability({ f: 0.1, microBatches: 64, jobs: 20 })
    assert.ok(fresh < 1e-6, `a new cheater is checked at rate 1 first: ${fresh}`)
  })

  it('refuses policies out of range with InvalidConfigError', () => {
    for (const policy of [{ floorRate: -0.1 }, { untrustedRate: 2 }, { trustAfter: 0 }, { floorRate: 0.5, untrustedRate: 0.2 }, { mismatchPenalty: 0.5 }]) {
      assert.throws(() => verificationRate(undefined, policy), (err: any) => err.name === 'InvalidConfigError', JSON.stringify(policy))
    }
  })
})
