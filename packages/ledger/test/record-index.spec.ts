import assert from 'node:assert/strict'
import fc from 'fast-check'
import { computeReputation } from '../src/balances.js'
import { FundsIndex } from '../src/funds-index.js'
import { RecordIndex } from '../src/record-index.js'
import { verificationRecords } from '../src/verification.js'
import type { VerifiedEvidence } from '../src/evidence.js'
import type { VerifiedReceipt } from '../src/receipt.js'

/** Runs per property: bounded in `npm test`; `npm run fuzz` sets FUZZ_RUNS for a long run. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 100)

// few workers, jobs and digests, so that receipts meet in their slots: spot checks, re-runs, equivocation
const WORKERS = ['w-a', 'w-b', 'w-c']
const REQUESTERS = ['req-a', 'req-b']
const JOBS = ['j1', 'j1/mb/0', 'j1/mb/1', 'j1/verify/0/1', 'j1/verify/1/2', 'j2/mb/0']
const id = fc.integer({ min: 0, max: 0xfff }).map(n => n.toString(16).padStart(3, '0'))

const receipt = fc.record({
  id,
  jobId: fc.constantFrom(...JOBS),
  shardIndex: fc.integer({ min: 0, max: 1 }),
  replica: fc.constant(0),
  requester: fc.constantFrom(...REQUESTERS),
  worker: fc.constantFrom(...WORKERS),
  inputDigest: fc.constantFrom('i0', 'i1'),
  outputDigest: fc.constantFrom('o0', 'o0', 'o1'),
  units: fc.constant(1),
  pricePerUnit: fc.constant(1),
  finishedAt: fc.integer({ min: 0, max: 50 }),
  countersigned: fc.boolean(),
  workerOwner: fc.constant(''),
  requesterOwner: fc.constant('')
}).map(r => r as unknown as VerifiedReceipt)

const evidence = fc.record({
  id: id.map(s => `e${s}`),
  kind: fc.constantFrom('mismatch', 'mismatch', 'equivocation'),
  accused: fc.constantFrom(...WORKERS),
  accusedReceipt: id,
  issuedAt: fc.integer({ min: 0, max: 50 }),
  at: fc.option(fc.integer({ min: 0, max: 50 }))
}).map(e => ({ ...e, receipts: e.at == null ? [] : [{ finishedAt: e.at }] }) as unknown as VerifiedEvidence)

const step = fc.oneof(
  { weight: 4, arbitrary: receipt.map(r => ({ receipt: r })) },
  { weight: 1, arbitrary: evidence.map(e => ({ evidence: e })) },
  { weight: 2, arbitrary: fc.constantFrom(...WORKERS).map(w => ({ read: w })) }
)

describe('RecordIndex: reputation and verification records kept as entries arrive', () => {
  it('every read equals the pure computeReputation and verificationRecords of the whole set, whatever the order entries arrive in', () => {
    fc.assert(fc.property(fc.array(step, { minLength: 10, maxLength: 80, size: 'max' }), fc.constantFrom(10, 3), (steps, weight) => {
      const funds = new FundsIndex()
      const index = new RecordIndex(weight)
      const receipts = new Map<string, VerifiedReceipt>()
      const evidences = new Map<string, VerifiedEvidence>()
      for (const s of steps) {
        if ('receipt' in s) {
          // the ledger stores an entry once, by id (and a receipt's id is the hash of its body: one id, one body)
          if (receipts.has(s.receipt.id) || evidences.has(s.receipt.id)) continue
          receipts.set(s.receipt.id, s.receipt)
          const { paid, unpaid } = funds.addReceipt(s.receipt)
          if (unpaid != null) index.unpaid(unpaid)
          if (paid != null) index.paid(paid)
          index.addReceipt(s.receipt)
        } else if ('evidence' in s) {
          if (evidences.has(s.evidence.id)) continue
          evidences.set(s.evidence.id, s.evidence)
          index.addEvidence(s.evidence)
        } else {
          const w = s.read
          const rep = computeReputation(receipts.values(), evidences.values(), { mismatchWeight: weight }).get(w) ?? { peer: w, reputation: 1, good: 0, mismatches: 0, equivocated: false }
          assert.deepEqual(index.reputation(w), rep, `reputation of ${w}`)
          const rec = verificationRecords(receipts.values(), evidences.values()).get(w) ?? { worker: w, verified: 0, consecutive: 0, mismatches: 0 }
          assert.deepEqual(index.verification(w), rec, `verification record of ${w}`)
        }
      }
    }), { numRuns: RUNS * 5 })
  })
})
