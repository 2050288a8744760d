import assert from 'node:assert/strict'
import fc from 'fast-check'
import { payingReceipts } from '../src/balances.js'
import { FundsIndex } from '../src/funds-index.js'
import { fundsMicro, openCommitments } from '../src/funds.js'
import type { Commitment } from '../src/funds.js'
import type { VerifiedGrant } from '../src/grant.js'
import type { VerifiedReceipt } from '../src/receipt.js'

/** Runs per property: bounded in `npm test`; `npm run fuzz` sets FUZZ_RUNS for a long run. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 100)

// few accounts and slots, so that entries meet: several receipts per slot, grants that lapse between payments
const PEERS = ['peer-a', 'peer-b']
const OWNERS = ['', 'owner-x']
const JOBS = ['j1', 'j1/mb/0', 'j1/verify/0/1', 'j1/mb/0/mb/1', 'j2']

/** A receipt as the ledger holds it after verification (the fields the funding rules read). */
const receipt = fc.record({
  id: fc.integer({ min: 0, max: 0xffff }).map(n => n.toString(16).padStart(4, '0')),
  jobId: fc.constantFrom(...JOBS),
  shardIndex: fc.integer({ min: 0, max: 1 }),
  replica: fc.constant(0),
  requester: fc.constantFrom(...PEERS),
  worker: fc.constantFrom(...PEERS),
  units: fc.integer({ min: 1, max: 20 }),
  pricePerUnit: fc.constantFrom(0.5, 1, 0.125),
  finishedAt: fc.integer({ min: 0, max: 1000 }),
  countersigned: fc.boolean()
}).chain(r => fc.record({ workerOwner: fc.constantFrom(...OWNERS), requesterOwner: fc.constantFrom(...OWNERS) }).map(o => ({ ...r, ...o, startedAt: r.finishedAt - 1 }) as unknown as VerifiedReceipt))

const grant = fc.record({
  id: fc.integer({ min: 0, max: 0xffff }).map(n => n.toString(16).padStart(4, '0')),
  account: fc.constantFrom(...PEERS, 'owner-x'),
  microCredits: fc.integer({ min: 1, max: 40_000_000 }),
  issuedAt: fc.integer({ min: 0, max: 900 }),
  life: fc.integer({ min: 1, max: 500 })
}).map(g => ({ ...g, expiresAt: g.issuedAt + g.life, credits: g.microCredits / 1e6 }) as unknown as VerifiedGrant)

/** One step: an entry arrives, or a funds check at a time (mostly moving forward). */
const step = fc.oneof(
  receipt.map(r => ({ receipt: r })),
  grant.map(g => ({ grant: g })),
  fc.record({
    check: fc.tuple(fc.constantFrom(...PEERS), fc.constantFrom(...OWNERS)),
    dt: fc.integer({ min: -50, max: 150 }),
    commitments: fc.array(fc.record({ jobId: fc.constantFrom(...JOBS), requester: fc.constantFrom(...PEERS), maxCost: fc.integer({ min: 0, max: 40 }) }), { maxLength: 3 })
  })
)

describe('FundsIndex: the funding figures kept as entries arrive', () => {
  it('every check equals the pure fundsMicro and openCommitments of the whole set, whatever the order entries arrive in', () => {
    fc.assert(fc.property(fc.array(step, { minLength: 20, maxLength: 80, size: 'max' }), fc.integer({ min: 1, max: 4 }), (steps, maxWalks) => {
      const index = new FundsIndex(maxWalks)
      const receipts = new Map<string, VerifiedReceipt>()
      const grants = new Map<string, VerifiedGrant>()
      let now = 0
      for (const s of steps) {
        if ('receipt' in s) {
          // the ledger stores an entry once, by id
          if (receipts.has(s.receipt.id)) continue
          receipts.set(s.receipt.id, s.receipt)
          index.addReceipt(s.receipt)
        } else if ('grant' in s) {
          if (grants.has(s.grant.id)) continue
          grants.set(s.grant.id, s.grant)
          index.addGrant(s.grant)
        } else {
          now = Math.max(0, now + s.dt)
          const accounts = [...s.check]
          assert.equal(index.fundsMicro(accounts, now), fundsMicro([...receipts.values()], [...grants.values()], accounts, now), `funds of ${accounts.join(' + ')} at ${now}`)
          const commitments: Commitment[] = s.commitments
          assert.equal(index.openCommitments(commitments), openCommitments(payingReceipts(receipts.values()), commitments), 'open commitments')
          assert.ok(index.walkCount <= maxWalks, `at most ${maxWalks} walks kept`)
        }
      }
    }), { numRuns: RUNS * 5 })
  })

  it('keeps at most maxWalks account sets, and an evicted one still counts right', () => {
    const index = new FundsIndex(4)
    const accounts = Array.from({ length: 10 }, (_, i) => `peer-${i}`)
    for (const [i, a] of accounts.entries()) {
      index.addGrant({ id: `g${i}`, account: a, microCredits: (i + 1) * 1_000_000, credits: i + 1, issuedAt: 0, expiresAt: 10_000 } as unknown as VerifiedGrant)
    }
    for (const a of accounts) index.fundsMicro([a], 100)
    assert.equal(index.walkCount, 4, 'the walks of the four most recently asked account sets are kept')
    assert.equal(index.fundsMicro(['peer-0'], 200), 1_000_000, 'an evicted account set is recounted from its own entries')
    assert.equal(index.walkCount, 4)
  })

  it('a receipt paid in walk order is stepped in; an older one, or one that replaces a paying receipt, recounts', () => {
    const index = new FundsIndex()
    const base = { jobId: 'j', shardIndex: 0, replica: 0, requester: 'req', worker: 'w', units: 4, pricePerUnit: 1, countersigned: true, workerOwner: '', requesterOwner: '' }
    index.addGrant({ id: 'g', account: 'req', microCredits: 10_000_000, credits: 10, issuedAt: 0, expiresAt: 500 } as unknown as VerifiedGrant)
    assert.equal(index.fundsMicro(['req'], 10), 10_000_000)
    index.addReceipt({ ...base, id: 'b2', finishedAt: 100 } as unknown as VerifiedReceipt)
    assert.equal(index.fundsMicro(['req'], 110), 6_000_000, 'the payment drew on the grant')
    index.addReceipt({ ...base, id: 'b1', shardIndex: 1, finishedAt: 50 } as unknown as VerifiedReceipt)
    assert.equal(index.fundsMicro(['req'], 120), 2_000_000, 'an earlier receipt (from reconciliation) counts too')
    // the same slot as b2 with a smaller id: it pays instead of b2 (one receipt per slot)
    index.addReceipt({ ...base, id: 'a0', units: 1, finishedAt: 100 } as unknown as VerifiedReceipt)
    assert.equal(index.fundsMicro(['req'], 130), 5_000_000)
    assert.equal(index.fundsMicro(['req'], 600), 0, 'what is left of the grant lapses at its expiry')
    assert.equal(index.fundsMicro(['w'], 600), 5_000_000, 'the worker earned it')
  })
})
