import assert from 'node:assert/strict'
import { generateMlp, maxAbsDiff } from '@fleetmesh/runtime'
import { waitUntil } from '@fleetmesh/test-utils'
import { pattern, runLocal, startJobMesh } from './utils/jobs.js'
import type { JobMesh } from './utils/jobs.js'
import type { SettleResult, VerifiedReceipt } from '@fleetmesh/ledger'
import type { JobProgress, MeshNode, SubmitInit } from '@fleetmesh/peer'
import type { WireTensor } from '@fleetmesh/protocol'

/**
 * Pay follows the work: a worker is paid for the micro-batches whose
 * outputs the requester accepted (and the spot checks it ran that
 * agreed), whatever became of its lease, and nothing for work caught by a
 * check. Real nodes, real runtimes, real ledgers.
 */

const MLP = generateMlp({ inputs: 16, hidden: [64, 64, 64], outputs: 8, seed: 11 })

function x (batch: number, phase = 0): WireTensor {
  return pattern('x', [batch, 16], phase)
}

/** Adds 0.5 to every float output: a worker that returns perturbed results. */
function perturb (outputs: WireTensor[]): WireTensor[] {
  return outputs.map(t => t.data instanceof Float32Array ? { ...t, data: t.data.map(v => v + 0.5) } : t)
}

/** Runs a job to its end: events, outputs (or error), its settlement, and the local reference output. */
async function run (requester: MeshNode, init: SubmitInit, onEvent?: (e: JobProgress) => void): Promise<{ events: JobProgress[], outputs: WireTensor[], settled: SettleResult, leases: string[], ok: boolean }> {
  const handle = requester.submit(init)
  const events: JobProgress[] = []
  for await (const e of handle) { events.push(e); onEvent?.(e) }
  const outputs = await handle.result
  const settled = await handle.settlement
  const leases = (await handle.market).shards.map(s => s.worker)
  const ok = maxAbsDiff(outputs[0] as WireTensor, (await runLocal(init.model as Uint8Array, init.inputs))[0] as WireTensor) <= 1e-4
  return { events, outputs, settled, leases, ok }
}

/** Items of each micro-batch's kept result, by worker (`shard-finished` is emitted once per micro-batch, for the result kept first). */
function delivered (events: JobProgress[], micro: number, batch: number): Map<string, number> {
  const out = new Map<string, number>()
  for (const e of events) {
    if (e.type !== 'shard-finished') continue
    out.set(e.worker, (out.get(e.worker) ?? 0) + Math.min(micro, batch - e.seq * micro))
  }
  return out
}

function unitsBy (receipts: VerifiedReceipt[]): Map<string, number> {
  const out = new Map<string, number>()
  for (const r of receipts) out.set(r.worker, (out.get(r.worker) ?? 0) + r.units)
  return out
}

const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0)

describe('pay for delivered and accepted work', function () {
  this.timeout(180_000)
  let mesh: JobMesh | undefined
  afterEach(async () => { await mesh?.stop(); mesh = undefined })

  it('data-parallel with one slow worker: the receipts\' units sum to the batch and follow what each worker delivered', async () => {
    mesh = await startJobMesh([{ inference: { delayMicroBatch: () => 400 } }, {}], { inference: { verifyRate: 0 } })
    const [slow, fast] = (mesh.workers as [MeshNode, MeshNode]).map(w => w.peerId.toString()) as [string, string]
    const r = await run(mesh.requester, { model: MLP, inputs: [x(32)], shards: 2, microBatch: 2, maxPrice: 2, bidWindowMs: 1500 })
    assert.ok(r.ok, 'outputs equal a local run')
    assert.deepEqual(new Set(r.leases), new Set([slow, fast]), 'both workers held a lease')
    const got = delivered(r.events, 2, 32)
    const units = unitsBy(r.settled.accepted)
    assert.equal(sum(units), 32, 'the batch is paid once')
    for (const [w, items] of got) assert.equal(units.get(w), items, `worker ${w} is paid for the ${items} items it delivered`)
    assert.ok((units.get(slow) ?? 0) < (units.get(fast) ?? 0), `the slow worker delivered less: ${units.get(slow)} vs ${units.get(fast)}`)
    const b = mesh.requester.ledger.balances().peers
    for (const w of [slow, fast]) {
      const expected = r.settled.accepted.filter(a => a.worker === w).reduce((a, rc) => a + rc.units * rc.pricePerUnit, 0)
      assert.ok(Math.abs((b[w]?.earned ?? 0) - expected) < 1e-6, `worker ${w} earned units × price`)
    }
  })

  it('a worker whose connection is gone after delivering k micro-batches is paid for exactly those k', async () => {
    // every worker is slowed, so the job is still running when the first one is gone
    const slowed = { inference: { delayMicroBatch: () => 250 } }
    mesh = await startJobMesh([slowed, slowed, slowed], { inference: { verifyRate: 0 } })
    const gone = mesh.workers[0] as MeshNode
    const goneId = gone.peerId.toString()
    let stopping: Promise<void> | undefined
    let seen = 0
    const r = await run(mesh.requester, { model: MLP, inputs: [x(48)], shards: 3, microBatch: 2, maxPrice: 2, bidWindowMs: 1500 }, (e) => {
      // the vehicle drives away (its node is gone) once it delivered two micro-batches
      if (e.type === 'shard-finished' && e.worker === goneId && ++seen === 2) stopping = (mesh as JobMesh).fleet.stopNode(gone)
    })
    await stopping
    assert.ok(r.ok, 'outputs equal a local run')
    assert.ok(r.events.some(e => e.type === 'lease-lost' && e.worker === goneId), 'its lease was lost')
    assert.ok(!r.leases.includes(goneId), 'its lease never completed')
    const k = r.events.filter(e => e.type === 'shard-finished' && e.worker === goneId).length
    assert.ok(k >= 2, `it delivered ${k} micro-batches`)
    const paid = r.settled.accepted.filter(a => a.worker === goneId)
    assert.equal(paid.length, k, `paid for exactly the ${k} micro-batches it delivered`)
    assert.equal(sum(unitsBy(paid)), k * 2)
    assert.equal(sum(unitsBy(r.settled.accepted)), 48, 'the batch is paid once')
    assert.ok((mesh.requester.ledger.balances().peers[goneId]?.earned ?? 0) > 0, 'its balance shows the earnings')
  })

  it('two leases, one tampering: the requester decides the dispute by its own run, the outputs equal a local run, and the tamperer is paid nothing', async () => {
    mesh = await startJobMesh([{}, { inference: { tamperOutputs: perturb } }], { inference: { verifyRate: 1 } })
    const [honest, cheat] = (mesh.workers as [MeshNode, MeshNode]).map(w => w.peerId.toString()) as [string, string]
    const r = await run(mesh.requester, { model: MLP, inputs: [x(24)], shards: 2, microBatch: 2, maxPrice: 2, bidWindowMs: 1500 })
    assert.deepEqual(new Set(r.events.filter(e => e.type === 'awarded').map(e => (e as any).worker)), new Set([honest, cheat]), 'both held a lease')
    assert.ok(r.ok, 'outputs equal a local run')
    assert.ok(r.events.some(e => e.type === 'worker-rejected' && e.worker === cheat), 'the tamperer was caught')
    assert.equal(r.settled.accepted.filter(a => a.worker === cheat).length, 0, 'no receipt of the tamperer is paid')
    assert.ok(r.settled.rejected.some(j => j.worker === cheat), 'its lease receipt is rejected')
    assert.equal(sum(unitsBy(r.settled.accepted.filter(a => a.worker === honest))) >= 24, true, 'the honest worker is paid for every item it delivered')
    assert.equal(r.settled.evidence.length, 1, 'mismatch evidence: the tamperer against the honest worker and the requester\'s own run')
    assert.equal(r.settled.evidence[0]?.accused, cheat)
    assert.equal(mesh.requester.ledger.balances().peers[cheat]?.earned ?? 0, 0)
    assert.equal(mesh.requester.ledger.verificationRecord(cheat).mismatches, 1, 'the mismatch is in its record')
  })

  it('spot checks sample each worker at its adaptive rate: every micro-batch of new workers, fewer once their record shows verified results', async () => {
    mesh = await startJobMesh([{}, {}])
    const workers = mesh.workers.map(w => w.peerId.toString())
    for (const w of workers) assert.equal(mesh.requester.ledger.sampleRate(w), 1, 'a new worker is checked on every result')
    const first = await run(mesh.requester, { model: MLP, inputs: [x(48)], shards: 2, microBatch: 2, maxPrice: 2, bidWindowMs: 1500 })
    assert.ok(first.ok)
    const checked = new Set(first.events.filter(e => e.type === 'verified').map(e => (e as any).seq))
    assert.equal(checked.size, 24, 'every micro-batch was checked')
    for (const w of workers) {
      const rec = mesh.requester.ledger.verificationRecord(w)
      assert.ok(rec.consecutive >= 10, `worker ${w} has ${rec.consecutive} verified results on record`)
      assert.ok(mesh.requester.ledger.sampleRate(w) < 0.5, `its rate fell to ${mesh.requester.ledger.sampleRate(w)}`)
    }
    const second = await run(mesh.requester, { model: MLP, inputs: [x(48, 1)], shards: 2, microBatch: 2, maxPrice: 2, bidWindowMs: 1500 })
    assert.ok(second.ok)
    const again = new Set(second.events.filter(e => e.type === 'verified').map(e => (e as any).seq))
    assert.ok(again.size < 24, `fewer micro-batches checked: ${again.size} of 24`)
  })

  it('pipeline: a tampering stage is caught by a spot check on another stage\'s worker, earns nothing, is reported, and loses the next job', async () => {
    mesh = await startJobMesh([{}, {}, { inference: { tamperOutputs: perturb } }], { inference: { verifyRate: 1 } })
    const cheatNode = mesh.workers[2] as MeshNode
    const cheat = cheatNode.peerId.toString()
    // a spare joins once the three stages are placed: it replaces the caught stage
    let spare: Promise<MeshNode> | undefined
    let awarded = 0
    const r = await run(mesh.requester, { model: MLP, inputs: [x(12)], mode: 'pipeline', stages: 3, microBatch: 2, maxPrice: 2, bidWindowMs: 1500 }, (e) => {
      if (e.type === 'awarded' && ++awarded === 3) spare = (mesh as JobMesh).addWorker()
    })
    await spare
    assert.ok(r.events.some(e => e.type === 'awarded' && e.worker === cheat), 'the tamperer held a stage')
    assert.ok(r.ok, 'outputs equal a local run')
    assert.ok(r.events.some(e => e.type === 'worker-rejected' && e.worker === cheat), 'the tamperer was caught')
    assert.ok(!r.leases.includes(cheat), 'its lease was replaced')
    assert.equal(r.settled.accepted.filter(a => a.worker === cheat).length, 0, 'nothing of the tamperer is paid')
    for (let k = 0; k < 3; k++) {
      const seqs = new Set(r.settled.accepted.filter(a => a.shardIndex === k).map(a => a.jobId))
      assert.equal(seqs.size, 6, `stage ${k}: each of the 6 micro-batches is paid to the worker that ran it`)
    }
    assert.equal(r.settled.evidence.length, 1)
    assert.equal(r.settled.evidence[0]?.accused, cheat)
    await waitUntil(() => mesh?.requester.ledger.reputation(cheat) !== undefined && (mesh?.requester.ledger.reputation(cheat) ?? 1) < 0.5, { timeoutMs: 10_000, message: 'its reputation fell' })
    assert.equal(mesh.requester.ledger.balances().peers[cheat]?.earned ?? 0, 0)
    const next = await run(mesh.requester, { model: MLP, inputs: [x(8, 2)], mode: 'pipeline', stages: 2, maxPrice: 2, bidWindowMs: 1500 })
    assert.ok(next.ok)
    assert.ok(!next.leases.includes(cheat), `the next job went to ${next.leases.join(', ')}`)
  })
})
