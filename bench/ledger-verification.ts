/**
 * The adaptive-verification half of bench/ledger: a simulation over the
 * real pure functions of @fleetmesh/ledger (`verificationRate`,
 * `recordsFromEvents`, `isSampled`, `cheaterEscapeProbability`), not a
 * mesh run. 200 jobs; each goes to 4 of 12 workers (64 micro-batches
 * each): 10 honest workers with a long record (1000 verified results),
 * one new honest worker, and one worker with a long record that returns a
 * wrong output for 10 % of its micro-batches. Each micro-batch is re-run
 * on another worker when `isSampled(job, micro-batch, rate, secret seed)`
 * says so, `rate` coming from the worker's record at the job's start; a
 * re-run that disagrees costs a third run, and the caught worker's
 * reputation keeps it out of later jobs (the market's minReputation).
 * Overhead = extra micro-batch runs ÷ the job's micro-batches.
 */
import { randomBytes } from 'node:crypto'
import { cheaterEscapeProbability, isSampled, recordsFromEvents, verificationRate } from '@fleetmesh/ledger'
import type { CheckEvent, VerificationRecord } from '@fleetmesh/ledger'

const JOBS = 200
const WORKERS_PER_JOB = 4
const MICRO_BATCHES = 64
const CHEAT_SHARE = 0.1
const LONG_RECORD = 1000

/** A deterministic generator (mulberry32) for worker choice and cheating. */
function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface VerificationFigures {
  /** what the figures come from, in words (a simulation over the pure functions, not a mesh run) */
  simulates: string
  /** extra compute ÷ job compute for the 10 honest long-record workers */
  verificationOverhead: number
  /** the same for the new worker, the cheater, and all work together */
  overheadNewWorker: number
  overheadCheater: number
  overheadAll: number
  /** chance a long-record worker cheating on 10 % of 64 micro-batches per job escapes 20 jobs (pure model) */
  cheaterEscapeRate: number
  /** the same, measured: share of 2000 simulated 20-job runs (isSampled, fresh secret seeds) the cheater escaped */
  cheaterEscapeRateSimulated: number
  /** the job (0-based) in which the cheater was first caught in the 200-job run, -1 if never */
  cheaterCaughtInJob: number
  /** jobs the cheater got after it was caught */
  cheaterJobsAfterCaught: number
  /** rate of each kind of worker at the end */
  finalRates: Record<string, number>
}

export function simulateVerification (): VerificationFigures {
  const random = rng(7)
  const seed = randomBytes(16).toString('hex')
  const workers = [...Array.from({ length: 10 }, (_, i) => `honest-${i}`), 'new', 'cheater']
  const events: CheckEvent[] = []
  for (const w of workers) {
    if (w === 'new') continue
    for (let i = 0; i < LONG_RECORD; i++) events.push({ worker: w, ok: true, at: i, proof: `${w}/history/${i}`, checked: `${w}/history/${i}` })
  }
  let records = recordsFromEvents(events)
  const work: Record<string, number> = {}
  const extra: Record<string, number> = {}
  let caughtIn = -1
  let jobsAfterCaught = 0
  for (let j = 0; j < JOBS; j++) {
    const at = LONG_RECORD + j
    // the market skips a worker with a proven mismatch (its reputation is below minReputation)
    const eligible = workers.filter(w => (records.get(w)?.mismatches ?? 0) === 0 || random() < 0.02)
    const chosen = new Set<string>()
    while (chosen.size < WORKERS_PER_JOB) chosen.add(eligible[Math.floor(random() * eligible.length)] as string)
    if (caughtIn >= 0 && chosen.has('cheater')) jobsAfterCaught++
    let w = 0
    for (const worker of chosen) {
      const rate = verificationRate(records.get(worker))
      for (let k = 0; k < MICRO_BATCHES; k++) {
        const seq = w * MICRO_BATCHES + k
        work[worker] = (work[worker] ?? 0) + 1
        const wrong = worker === 'cheater' && random() < CHEAT_SHARE
        if (!isSampled(`job-${j}`, seq, rate, seed)) continue
        extra[worker] = (extra[worker] ?? 0) + (wrong ? 2 : 1)
        events.push({ worker, ok: !wrong, at, proof: `job-${j}/${seq}`, checked: `job-${j}/${seq}` })
        if (wrong && caughtIn < 0) caughtIn = j
      }
      w++
    }
    records = recordsFromEvents(events)
  }
  const share = (ws: string[]): number => ws.reduce((n, x) => n + (extra[x] ?? 0), 0) / Math.max(1, ws.reduce((n, x) => n + (work[x] ?? 0), 0))
  const honest = workers.filter(x => x.startsWith('honest-'))

  // measured escape: 2000 runs of 20 jobs for a long-record cheater, each with its own secret seed
  const trials = 2000
  let escaped = 0
  for (let t = 0; t < trials; t++) {
    const s = randomBytes(8).toString('hex')
    let record: Pick<VerificationRecord, 'consecutive' | 'mismatches'> = { consecutive: LONG_RECORD, mismatches: 0 }
    let caught = false
    for (let j = 0; j < 20 && !caught; j++) {
      const rate = verificationRate(record)
      let passed = 0
      for (let k = 0; k < MICRO_BATCHES; k++) {
        const wrong = random() < CHEAT_SHARE
        if (!isSampled(`t${t}/job-${j}`, k, rate, s)) continue
        if (wrong) { caught = true; break }
        passed++
      }
      record = { consecutive: record.consecutive + passed, mismatches: 0 }
    }
    if (!caught) escaped++
  }
  const round = (x: number): number => Math.round(x * 1e5) / 1e5
  return {
    simulates: `a simulation over the pure verification functions (verificationRate, recordsFromEvents, isSampled, cheaterEscapeProbability), not a mesh run: ${JOBS} jobs, each on ${WORKERS_PER_JOB} of 12 workers with ${MICRO_BATCHES} micro-batches; 10 honest workers with ${LONG_RECORD} verified results, one new worker, one long-record worker wrong on ${CHEAT_SHARE * 100} % of its micro-batches; overhead = extra runs / job micro-batches`,
    verificationOverhead: round(share(honest)),
    overheadNewWorker: round(share(['new'])),
    overheadCheater: round(share(['cheater'])),
    overheadAll: round(share(workers)),
    cheaterEscapeRate: round(cheaterEscapeProbability({ f: CHEAT_SHARE, microBatches: MICRO_BATCHES, jobs: 20, record: { consecutive: LONG_RECORD, mismatches: 0 } })),
    cheaterEscapeRateSimulated: round(escaped / trials),
    cheaterCaughtInJob: caughtIn,
    cheaterJobsAfterCaught: jobsAfterCaught,
    finalRates: Object.fromEntries(['honest-0', 'new', 'cheater'].map(x => [x, round(verificationRate(records.get(x)))]))
  }
}
