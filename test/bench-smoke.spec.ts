import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { runNode } from '@fleetmesh/test-utils'

const BENCH = (name: string): string => fileURLToPath(new URL(`../../bench/dist/${name}.js`, import.meta.url))

/** Runs a bench script in a small configuration and returns its JSON output. */
async function bench (name: string, args: string[]): Promise<Record<string, any>> {
  const run = await runNode(BENCH(name), args, { timeoutMs: 150_000 })
  assert.equal(run.code, 0, `bench/${name} exited with ${run.code ?? run.signal}: ${run.stderr.slice(-2000)}`)
  return JSON.parse(run.stdout)
}

// the benches build real meshes the way an operator's fleet is built (grants, admission, requireFunds):
// a change to the node's defaults that stops them working shows here, not at the next measurement
describe('benches run on a real mesh in a small configuration', function () {
  this.timeout(300_000)

  it('bench/market: every job is awarded, with numeric offer → awards figures', async () => {
    const out = await bench('market', ['--workers-count', '6', '--processes', '1', '--jobs', '2', '--burst', '1'])
    assert.equal(out.offerToAllAwards.failures, 0, JSON.stringify(out.offerToAllAwards))
    assert.ok(out.offerToAllAwards.meanBidsPerJob > 0, 'the workers bid')
    for (const k of ['offerToAwardsP50Ms', 'offerToAwardsP99Ms']) assert.equal(typeof out.figures[k], 'number', `figures.${k} = ${out.figures[k]}`)
  })

  it('bench/jobs: the job-overhead section completes its jobs, with numeric figures', async () => {
    const out = await bench('jobs', ['--sections', 'P2', '--jobs', '3'])
    for (const k of ['P2_overheadP50Ms', 'P2_overheadP99Ms']) assert.ok(Number.isFinite(out.figures[k]), `figures.${k} = ${out.figures[k]}`)
  })
})
