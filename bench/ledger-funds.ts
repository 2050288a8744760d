/**
 * bench/ledger-funds: what one funds check costs as a node's ledger grows.
 * A worker checks the requester's spendable balance on every offer it
 * sees, a requester its own on every countersignature. The ledger holds
 * `--receipts` countersigned micro-batch receipts (one requester, two
 * workers, six micro-batches a job, as bench/adversary's honest jobs
 * leave them) and a grant; each round adds one receipt (the two workers'
 * receipts out of their finish order, pairs swapped, as gossip delivers
 * them) and checks the requester's funds, measured side by side in one run:
 *  - `fundsCheckMsWholeSet`: the funds of the whole set, as every check
 *    computed them before the ledger kept a FundsIndex (`spendable` over
 *    every entry: paying receipts, the funding walk, open commitments);
 *  - `fundsCheckMsIndexed`: the ledger's FundsIndex (the receipt stepped
 *    into the kept walk, then the check);
 * and `speedup`, their ratio. Every round both give the same number (the
 * bench stops with an error otherwise).
 * Run: npm run bench:ledger-funds -- [--receipts 10000] [--rounds 200]
 */
import { parseArgs } from 'node:util'
import { FundsIndex, MICRO_PER_CREDIT, spendable } from '@fleetmesh/ledger'
import type { VerifiedEntry, VerifiedGrant, VerifiedReceipt } from '@fleetmesh/ledger'

const { values } = parseArgs({ options: { receipts: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '200' } } })
const RECEIPTS = Number(values.receipts)
const ROUNDS = Number(values.rounds)
const REQUESTER = '12D3KooWRequester'
const WORKERS = ['12D3KooWWorkerA', '12D3KooWWorkerB']
const t0 = Date.now() - 3600_000

/** The i-th micro-batch receipt of the requester's jobs: job i/6, micro-batch i%6, alternately from each worker. */
function receipt (i: number): VerifiedReceipt {
  const job = Math.floor(i / 6)
  return {
    id: i.toString(16).padStart(64, '0'),
    jobId: `job-${job}/mb/${i % 6}`,
    shardIndex: 0,
    replica: 0,
    requester: REQUESTER,
    worker: WORKERS[i % 2] as string,
    units: 4,
    pricePerUnit: 0.01,
    startedAt: t0 + i * 10,
    finishedAt: t0 + i * 10 + 5,
    countersigned: true,
    workerOwner: '',
    requesterOwner: '',
    workerJurisdiction: ''
  } as unknown as VerifiedReceipt
}

const grant = { id: 'f'.repeat(64), account: REQUESTER, microCredits: 1e12, credits: 1e6, issuedAt: t0 - 1000, expiresAt: Date.now() + 86_400_000 } as unknown as VerifiedGrant
const entries: VerifiedEntry[] = [{ kind: 'grant', id: grant.id, grant } as unknown as VerifiedEntry]
const index = new FundsIndex()
index.addGrant(grant)
for (let i = 0; i < RECEIPTS; i++) {
  const r = receipt(i)
  entries.push({ kind: 'receipt', id: r.id, receipt: r } as unknown as VerifiedEntry)
  index.addReceipt(r)
}
const commitments = [{ jobId: `job-${Math.floor(RECEIPTS / 6)}`, requester: REQUESTER, maxCost: 1 }]

let wholeMs = 0
let indexedMs = 0
for (let k = 0; k < ROUNDS; k++) {
  // the two workers' receipts arrive out of their finish order (pairs swapped), as gossip delivers them
  const r = receipt(RECEIPTS + (k ^ 1))
  const now = Date.now()
  entries.push({ kind: 'receipt', id: r.id, receipt: r } as unknown as VerifiedEntry)
  let t = performance.now()
  const whole = spendable(entries, [REQUESTER, ''], now, commitments)
  wholeMs += performance.now() - t
  t = performance.now()
  index.addReceipt(r)
  const indexed = (index.fundsMicro([REQUESTER, ''], now) - index.openCommitments(commitments)) / MICRO_PER_CREDIT
  indexedMs += performance.now() - t
  if (Math.abs(whole - indexed) > 1e-9) throw new Error(`round ${k}: the index says ${indexed} credits, the whole set ${whole}`)
}
const round = (x: number, d = 4): number => Math.round(x * 10 ** d) / 10 ** d
const figures = { fundsCheckMsWholeSet: round(wholeMs / ROUNDS), fundsCheckMsIndexed: round(indexedMs / ROUNDS), speedup: round(wholeMs / indexedMs, 1) }
console.log(JSON.stringify({ bench: 'ledger-funds', receipts: RECEIPTS, rounds: ROUNDS, figures }, null, 2))
