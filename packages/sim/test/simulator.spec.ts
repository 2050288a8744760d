import assert from 'node:assert/strict'
import { scaleScenario } from '../src/scenario.js'
import { simulate } from '../src/simulator.js'
import type { Scenario } from '../src/scenario.js'

const small = (over: Partial<Scenario> = {}): Scenario => ({ ...scaleScenario(30), durationMs: 20_000, jobsPerHour: 900, dhtLookups: 10, ...over })

describe('simulate: a scenario run end to end', function () {
  this.timeout(120_000)

  it('places every job, reaches every eligible worker and converges every node on one receipt set and one balance sheet', async () => {
    const r = await simulate(small())
    const f = r.figures
    assert.ok(f.jobs >= 1, `${f.jobs} jobs`)
    assert.equal(f.unplacedJobs, 0)
    assert.equal(f.offerReach, 1)
    assert.equal(f.findProvidersSuccess, 1)
    assert.ok(f.receipts >= 4 && f.receipts <= f.jobs * 4, `${f.receipts} receipts of ${f.jobs} jobs of 4 shards (the last may still run)`)
    assert.equal(r.converged, true)
    const first = JSON.stringify(r.balances?.[0])
    for (const [i, b] of (r.balances ?? []).entries()) assert.equal(JSON.stringify(b), first, `node ${i}'s balances`)
    assert.equal(r.balances?.[0].receipts, f.receipts)
    assert.ok(f.receiptConvergenceMs > 0 && Number.isFinite(f.receiptConvergenceMs))
  })

  it('is reproducible: the same seed gives the same figures, another seed other ones', async () => {
    const strip = (x: Record<string, number>): Record<string, number> => { const { wallMs, rssMB, ...rest } = x; return rest }
    const a = await simulate(small({ seed: 3 }))
    const b = await simulate(small({ seed: 3 }))
    const c = await simulate(small({ seed: 4 }))
    assert.deepEqual(strip(a.figures as any), strip(b.figures as any))
    assert.notDeepEqual(strip(a.figures as any), strip(c.figures as any))
  })

  it('repairs what churn and loss cost through anti-entropy (sampled mode at 3,000 nodes)', async () => {
    // a field fleet's links and random connections, each node on its own CPU (bench/scale's four processes would not run 3,000 nodes)
    const s = small({ nodes: 3000, topology: 'random', gossipDegree: undefined, churnPerHour: 0.5, offlineMeanMs: 5000, receipts: 'sampled', receiptSample: 5, jobsPerHour: 1800 })
    s.links.cellular = { meanMs: 40, jitterMs: 10, loss: 0.05 }
    const r = await simulate(s)
    assert.ok(r.figures.leaves > 0, 'nodes left')
    assert.ok(r.figures.receiptConvergenceMs > 0 && Number.isFinite(r.figures.receiptConvergenceMs), `convergence ${r.figures.receiptConvergenceMs}`)
    assert.ok(r.figures.offerReach > 0.9, `reach ${r.figures.offerReach}`)
  })

  it('runs the lookups one after another when asked, instead of at random times', async () => {
    const none = await simulate(small({ jobsPerHour: 0, dhtLookups: 0 }), { lookupSequence: { atMs: 1000, gapMs: 5 } })
    assert.ok(Number.isNaN(none.figures.findProvidersSuccess), 'no lookup ran')
    // a quiet fleet (no jobs): each lookup alone, from a random node, finds its region's provider
    const quiet = await simulate(small({ jobsPerHour: 0, dhtLookups: 3 }), { lookupSequence: { atMs: 1000, gapMs: 5 } })
    assert.equal(quiet.figures.findProvidersSuccess, 1)
    assert.ok(Number.isFinite(quiet.figures.findProvidersP50Ms) && quiet.figures.findProvidersP50Ms >= 0)
  })

  it('refuses a bad scenario by name', async () => {
    await assert.rejects(simulate(small({ nodes: 1 })), (err: any) => err.name === 'SimConfigError' && /nodes/.test(err.message))
    await assert.rejects(simulate(small({ regions: ['not a region!'] })), (err: any) => err.name === 'SimConfigError')
  })
})
