import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readNpy, writeNpy } from '@fleetmesh/daemon'
import { generateConvNet, generateMlp, LocalSession, maxAbsDiff } from '@fleetmesh/runtime'
import { runNode } from '@fleetmesh/test-utils'
import { FLEETMESH_BIN, startLocalFleet } from '@fleetmesh/test-utils/fleet'
import type { LocalFleet } from '@fleetmesh/test-utils/fleet'
import type { WireTensor } from '@fleetmesh/protocol'

/** Runs the `fleetmesh` CLI; resolves with its exit code and output. */
async function cli (args: string[], timeoutMs = 120_000): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return runNode(FLEETMESH_BIN, args, { timeoutMs })
}

async function local (model: Uint8Array, x: WireTensor): Promise<WireTensor[]> {
  const s = await LocalSession.create(model, { intraOpNumThreads: 1 })
  try { return await s.run([x]) } finally { await s.release() }
}

function tensor (name: string, dims: number[], phase: number): WireTensor {
  const n = dims.reduce((a, b) => a * b, 1)
  return { name, dtype: 'float32', dims, data: Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.173 + phase)) }
}

describe('end to end: a testnet of daemon processes, jobs through the CLI and the API', function () {
  this.timeout(240_000)
  let fleet: LocalFleet | undefined
  let work: string

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'fleetmesh-e2e-'))
    fleet = await startLocalFleet({
      nodes: [
        { name: 'station-1', role: 'station', region: 'u33d', worker: true },
        { name: 'station-2', role: 'station', region: 'u33d', worker: true },
        { name: 'vehicle-1', role: 'vehicle', region: 'u33d', worker: true, owner: 'owner-a', pricePerUnit: 0.5, vehicle: { state: 'parked', soc: 0.9 } },
        { name: 'vehicle-2', role: 'vehicle', region: 'u33d', worker: true, owner: 'owner-b', pricePerUnit: 0.5, vehicle: { state: 'charging', soc: 0.4 } },
        { name: 'office', role: 'station', region: 'u33d', worker: false }
      ],
      readyTimeoutMs: 60_000
    })
  })

  after(async () => {
    await fleet?.stop()
    await rm(work, { recursive: true, force: true })
  })

  it('a data-parallel job through `fleetmesh submit` writes outputs equal to a local run', async () => {
    const f = fleet as LocalFleet
    const model = generateMlp({ inputs: 16, hidden: [64, 64], outputs: 8, seed: 3 })
    const x = tensor('x', [40, 16], 0)
    await writeFile(join(work, 'mlp.onnx'), model)
    await writeFile(join(work, 'x.npy'), writeNpy({ dtype: 'float32', shape: x.dims, data: x.data }))
    const out = join(work, 'out')
    const res = await cli(['submit', '--data-dir', f.get('office').dataDir, '--model', join(work, 'mlp.onnx'), '--input', `x=${join(work, 'x.npy')}`, '--mode', 'data', '--shards', '3', '--micro-batch', '4', '--max-price', '2', '--out', out, '--json'])
    assert.equal(res.code, 0, res.stderr)
    const summary = JSON.parse(res.stdout) as { jobId: string, outputs: string[] }
    assert.equal(summary.outputs.length, 1)
    const y = readNpy(await readFile(summary.outputs[0] as string))
    const [expected] = await local(model, x)
    assert.deepEqual(y.shape, expected?.dims)
    const d = maxAbsDiff({ name: 'y', dtype: y.dtype, dims: y.shape, data: y.data }, expected as WireTensor)
    assert.ok(d <= 1e-4, `max abs diff ${d}`)
  })

  it('a pipeline job through the API equals a local run', async () => {
    const office = (fleet as LocalFleet).get('office')
    const model = generateConvNet({ depth: 4, channels: 8, size: 32, seed: 5 })
    const x = tensor('x', [12, 3, 32, 32], 1)
    const { cid } = await office.client.uploadModel(model)
    const { jobId } = await office.client.submit({ model: cid, inputs: [x], mode: 'pipeline', stages: 2, microBatch: 3, maxPrice: 2 })
    const view = await office.client.wait(jobId, { intervalMs: 100 })
    assert.equal(view.state, 'done', view.error)
    const outputs = await office.client.result(jobId)
    const expected = await local(model, x)
    assert.equal(outputs.length, expected.length)
    for (const [i, t] of outputs.entries()) assert.ok(maxAbsDiff(t, expected[i] as WireTensor) <= 1e-4)
    // two stage leases (one worker may hold both when no other bid in time; it then feeds itself)
    assert.equal(view.workers.length, 2, 'two stage leases')
  })

  it('every node ends with the same receipts and identical balances; `fleetmesh balance --json` agrees', async () => {
    const f = fleet as LocalFleet
    const deadline = Date.now() + 60_000
    // every job of the office is settled first (each accepted micro-batch's receipt countersigned): until then
    // receipts are still being made, and ledgers that agree for a moment need not hold them all
    let countersigned = 0
    while (true) {
      const { jobs } = await f.get('office').client.jobs()
      const unsettled = jobs.filter(j => j.state === 'done' && j.settlement == null)
      if (jobs.length > 0 && unsettled.length === 0) { countersigned = jobs.reduce((a, j) => a + (j.settlement?.accepted ?? 0), 0); break }
      assert.ok(Date.now() < deadline, `jobs ${unsettled.map(j => j.jobId).join(', ')} not settled`)
      await new Promise(resolve => setTimeout(resolve, 250))
    }
    let all: Array<Awaited<ReturnType<typeof f.daemons[0]['client']['balances']>>> = []
    while (true) {
      all = await Promise.all(f.daemons.map(async d => d.client.balances()))
      // every countersigned micro-batch receipt of the settled jobs, at every node
      if (all.every(b => JSON.stringify(b) === JSON.stringify(all[0])) && (all[0]?.receipts ?? 0) >= countersigned) break
      assert.ok(Date.now() < deadline, `ledgers did not converge on ${countersigned} receipts: ${all.map(b => b.receipts).join(', ')} receipts`)
      await new Promise(resolve => setTimeout(resolve, 500))
    }
    const office = f.get('office')
    const spent = all[0]?.peers[office.peerId]?.spent ?? 0
    const earned = f.daemons.filter(d => d.worker).reduce((a, d) => a + (all[0]?.peers[d.peerId]?.earned ?? 0), 0)
    assert.ok(spent > 0 && Math.abs(spent - earned) < 1e-6, `office spent ${spent}, workers earned ${earned}`)
    const res = await cli(['balance', '--data-dir', f.get('vehicle-1').dataDir, '--json'])
    assert.equal(res.code, 0, res.stderr)
    assert.deepEqual(JSON.parse(res.stdout), all[0])
  })

  it('SIGTERM: every daemon drains and exits 0, leaving no api.json', async () => {
    const f = fleet as LocalFleet
    const codes = await f.stop({ keep: true })
    fleet = undefined
    assert.deepEqual(codes.map(c => c.code), codes.map(() => 0), JSON.stringify(codes))
    for (const d of f.daemons) {
      await assert.rejects(readFile(join(d.dataDir, 'api.json')), { code: 'ENOENT' })
    }
    await rm(f.root, { recursive: true, force: true })
  })
})
