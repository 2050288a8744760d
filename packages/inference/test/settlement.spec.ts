import assert from 'node:assert/strict'
import { generateMlp, LocalSession, maxAbsDiff } from '@fleetmesh/runtime'
import { createTestMesh, delay, removeTempDirs, tempDir, waitUntil } from '@fleetmesh/test-utils'
import type { TestMesh } from '@fleetmesh/test-utils'
import type { JobProgress, MeshNode, MeshNodeInit } from '@fleetmesh/peer'
import type { WireTensor } from '@fleetmesh/protocol'
import { interceptInferOpens } from './utils/jobs.js'

const MODEL = generateMlp({ inputs: 16, hidden: [64, 64], outputs: 8, seed: 7 })

function input (batch: number, phase: number): WireTensor {
  const n = batch * 16
  return { name: 'x', dtype: 'float32', dims: [batch, 16], data: Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.31 + phase)) }
}

async function local (x: WireTensor): Promise<WireTensor> {
  const s = await LocalSession.create(MODEL, { intraOpNumThreads: 1 })
  try { return (await s.run([x]))[0] as WireTensor } finally { await s.release() }
}

/** Adds 0.5 to every float output: a worker that returns perturbed results. */
function perturb (outputs: WireTensor[]): WireTensor[] {
  return outputs.map(t => t.data instanceof Float32Array ? { ...t, data: t.data.map(v => v + 0.5) } : t)
}

describe('sharded jobs settle in the ledger', function () {
  this.timeout(120_000)
  let fleet: TestMesh
  const dataDir = async (): Promise<Partial<MeshNodeInit>> => {
    const dir = await tempDir('fleetmesh-settle-')
    return { dataDir: dir }
  }

  beforeEach(async () => { fleet = await createTestMesh() })
  afterEach(async () => {
    await fleet.stop()
    await removeTempDirs()
  })

  async function mesh (honest: number, tampering: number, verifyRate: number): Promise<{ requester: MeshNode, workers: MeshNode[], cheats: MeshNode[] }> {
    const ledger = { reconcileIntervalMs: 500 }
    const requester = await fleet.add('station', 'u33d', { ...await dataDir(), ledger, market: { bidWindowMs: 400 }, inference: { verifyRate } })
    const boot = requester.getMultiaddrs().map(String)
    const workers: MeshNode[] = []
    const cheats: MeshNode[] = []
    for (let i = 0; i < honest + tampering; i++) {
      const cheat = i >= honest
      const node = await fleet.add('station', 'u33d', { bootstrap: boot, worker: true, ledger, ...await dataDir(), ...(cheat ? { inference: { tamperOutputs: perturb } } : {}) })
      ;(cheat ? cheats : workers).push(node)
    }
    await Promise.all(fleet.nodes.map(async n => n.announced()))
    await delay(1200) // gossip mesh
    return { requester, workers, cheats }
  }

  it('workers sign a receipt per micro-batch, the requester countersigns those it accepted, and every node ends with the same receipts and balances', async () => {
    const { requester, workers } = await mesh(3, 0, 0.5)
    const x = input(48, 0)
    const job = requester.submit({ model: MODEL, inputs: [x], mode: 'data', shards: 3, microBatch: 4, maxPrice: 2 })
    const events: JobProgress[] = []
    for await (const e of job) events.push(e)
    const [out] = await job.result
    assert.ok(maxAbsDiff(out as WireTensor, await local(x)) <= 1e-4)
    const settled = await job.settlement
    const leases = (await job.market).shards
    assert.equal(settled.rejected.length, 0)
    const checks = events.filter(e => e.type === 'verified')
    assert.ok(checks.length > 0 && checks.every(e => (e as any).agreed), `spot checks ran and agreed: ${checks.length}`)
    // one receipt per micro-batch (12 of 4 items), plus one per agreeing spot-check run
    assert.equal(settled.accepted.length, 12 + checks.length, 'every accepted micro-batch and spot check countersigned')
    for (const r of settled.accepted) {
      assert.equal(r.requester, requester.peerId.toString())
      assert.match(r.jobId, new RegExp(`^${job.jobId}/mb/\\d+$`))
      assert.equal(r.units, 4)
    }

    const all = [requester, ...workers]
    await waitUntil(() => all.every(n => n.ledger.size === requester.ledger.size), { timeoutMs: 20_000, message: 'ledgers converge' })
    const ids = requester.ledger.entryIds()
    for (const n of all) assert.deepEqual(n.ledger.entryIds(), ids)
    const balances = JSON.stringify(requester.ledger.balances())
    for (const n of all) assert.equal(JSON.stringify(n.ledger.balances()), balances)
    const b = requester.ledger.balances().peers
    const paid = settled.accepted.reduce((a, r) => a + r.units * r.pricePerUnit, 0)
    assert.ok(Math.abs((b[requester.peerId.toString()]?.spent ?? 0) - paid) < 1e-6, `requester spent ${b[requester.peerId.toString()]?.spent}, accepted micro-batches cost ${paid}`)
    for (const s of leases) {
      // a worker earns what it delivered (a worker the others outpaced may deliver nothing)
      const mine = settled.accepted.filter(r => r.worker === s.worker)
      assert.ok(Math.abs((b[s.worker]?.earned ?? 0) - mine.reduce((a, r) => a + r.units * r.pricePerUnit, 0)) < 1e-6, `worker ${s.worker} earned its accepted micro-batches`)
      for (const r of mine) assert.equal(r.pricePerUnit, s.pricePerUnit, 'a data-parallel item costs its lease\'s price per unit')
    }
  })

  it('a worker returning perturbed outputs is caught by a spot check, earns nothing, is reported, and then loses bids', async () => {
    const { requester, workers, cheats } = await mesh(2, 1, 1)
    const cheat = cheats[0] as MeshNode
    const x = input(48, 1)
    // the honest workers' infer streams open only once the cheat has returned a result (or 5 s on): under load the
    // cheat's stream could open, or its first result come back, after the honest workers had run every micro-batch,
    // and a cheat that returns nothing is not caught
    const cheatDelivered = Promise.withResolvers<void>()
    interceptInferOpens(requester, async (peer, open) => {
      if (!peer.equals(cheat.peerId)) await Promise.race([cheatDelivered.promise, delay(5000)])
      return open()
    })
    // a long bid window so all three workers' bids are in: the cheat must hold a lease
    const job = requester.submit({ model: MODEL, inputs: [x], mode: 'data', shards: 3, microBatch: 2, maxPrice: 2, bidWindowMs: 1500 })
    const events: JobProgress[] = []
    for await (const e of job) {
      events.push(e)
      if (e.type === 'shard-finished' && e.worker === cheat.peerId.toString()) cheatDelivered.resolve()
    }
    const [out] = await job.result
    assert.ok(maxAbsDiff(out as WireTensor, await local(x)) <= 1e-4, 'the job output is correct despite the cheat')
    assert.ok(events.some(e => e.type === 'awarded' && e.worker === cheat.peerId.toString()), 'the cheat held a lease')
    assert.ok(events.some(e => e.type === 'worker-rejected' && e.worker === cheat.peerId.toString()), 'the cheat was caught')
    const settled = await job.settlement
    assert.ok(settled.rejected.some(r => r.worker === cheat.peerId.toString()), 'its lease receipt was rejected')
    assert.ok(settled.accepted.every(r => r.worker !== cheat.peerId.toString()))
    assert.equal(settled.evidence.length, 1)
    assert.equal(settled.evidence[0]?.accused, cheat.peerId.toString())

    // evidence reaches every node; the cheat's reputation drops everywhere and it earned nothing
    const all = [requester, ...workers, cheat]
    await waitUntil(() => all.every(n => n.ledger.evidence().length === 1 && n.ledger.size === requester.ledger.size), { timeoutMs: 20_000, message: 'evidence and receipts converge' })
    for (const n of all) assert.ok(n.ledger.reputation(cheat.peerId) < 0.5, `reputation at ${n.peerId}: ${n.ledger.reputation(cheat.peerId)}`)
    assert.equal(requester.ledger.balances().peers[cheat.peerId.toString()]?.earned ?? 0, 0)

    // the next job: two shards, three bidders; the cheat loses the auction
    const next = requester.submit({ model: MODEL, inputs: [input(8, 2)], mode: 'data', shards: 2, maxPrice: 2 })
    await next.result
    const awarded = (await next.market).shards.map(s => s.worker)
    assert.ok(!awarded.includes(cheat.peerId.toString()), `awarded ${awarded.join(', ')}`)
  })
})
