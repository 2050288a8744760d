import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { delay, waitUntil } from '@fleetmesh/test-utils'
import { settleJob } from '../src/settle.js'
import { converged, createLedgerFleet, addrs } from './utils/mesh.js'
import type { LedgerFleet, LedgerNode } from './utils/mesh.js'

/** Submits a job on `requester` and settles it without sampling; returns the countersigned receipt ids. */
async function runJob (requester: LedgerNode, jobId: string, shardUnits: number[]): Promise<string[]> {
  const job = await requester.market.submit({ jobId, modelCid: 'bafy-model', shardUnits, maxPricePerUnit: 5, deadline: Date.now() + 60_000 })
  const settled = await settleJob(requester.ledger, job, { sampleRate: 0 })
  assert.equal(settled.rejected.length, 0, `job ${jobId}: ${JSON.stringify(settled.rejected)}`)
  return settled.accepted.map(r => r.id)
}

describe('ledger on real nodes', function () {
  this.timeout(120_000)
  let fleet: LedgerFleet
  let dir: string | undefined
  afterEach(async () => {
    await fleet.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
    dir = undefined
  })

  it('10 nodes, 200 jobs: every node ends with the identical receipt set and identical balances', async () => {
    fleet = await createLedgerFleet()
    const hub = await fleet.add({ worker: true })
    const nodes = [hub]
    for (let i = 1; i < 10; i++) nodes.push(await fleet.add({ worker: { price: 0.5 + i / 10 }, bootstrap: addrs(hub), role: i % 2 === 0 ? 'station' : 'vehicle', owner: i % 2 === 0 ? '' : `owner-${i % 3}` }))
    await waitUntil(() => nodes.slice(1).every(n => hub.node.isAdmitted(n.peerId)), { timeoutMs: 20_000, message: 'all admitted by the hub' })
    await delay(1500)
    const ids: string[] = []
    await Promise.all(nodes.map(async (r, k) => {
      // two jobs at a time per node (20 in flight mesh-wide): four at a time lost leases to heartbeat timeouts on a loaded 2-core CI machine
      for (let j = 0; j < 20; j += 2) {
        const batch = await Promise.all(Array.from({ length: 2 }, async (_, d) => runJob(r, `job-${k}-${j + d}`, [10 + d])))
        ids.push(...batch.flat())
      }
    }))
    assert.equal(ids.length, 200, '200 jobs, one countersigned receipt each')
    await waitUntil(() => nodes.every(n => n.ledger.size === 200) && converged(nodes), { timeoutMs: 60_000, message: 'all 10 ledgers to hold the 200 receipts' })
    const expected = JSON.stringify(hub.ledger.balances())
    for (const [i, n] of nodes.entries()) {
      assert.deepEqual(n.ledger.entryIds(), [...ids].sort(), `node ${i} receipt set`)
      assert.equal(JSON.stringify(n.ledger.balances()), expected, `node ${i} balances`)
    }
    const b = hub.ledger.balances()
    assert.equal(b.receipts, 200)
    assert.equal(Object.values(b.peers).reduce((s, x) => s + Math.round(x.credits * 1e6), 0), 0, 'credits are conserved')
    // earnings of one worker add up to its balance's earned credits
    const someWorker = Object.values(b.peers).find(x => x.receiptsAsWorker > 0)
    assert.ok(someWorker != null)
    const report = hub.ledger.earnings(someWorker.account)
    assert.equal(Math.round(report.total.credits * 1e6), Math.round(someWorker.earned * 1e6))
    // the store's indexes answer by job and by worker
    assert.equal((await hub.ledger.receipts({ jobId: 'job-0-0' })).length, 1)
    assert.equal((await hub.ledger.receipts({ worker: someWorker.account })).length, someWorker.receiptsAsWorker)
  })

  it('a node offline during 100 receipts catches up by reconciliation; bytes ∝ the difference', async () => {
    fleet = await createLedgerFleet()
    dir = await mkdtemp(join(tmpdir(), 'fleetmesh-ledger-'))
    const noTimer = { ledger: { reconcileIntervalMs: 0 } }
    const a = await fleet.add(noTimer)
    const b = await fleet.add({ ...noTimer, bootstrap: addrs(a) })
    const c = await fleet.add({ ledger: { reconcileIntervalMs: 0, dir }, bootstrap: addrs(a) })
    await waitUntil(() => a.node.isAdmitted(b.peerId) && a.node.isAdmitted(c.peerId), { timeoutMs: 20_000, message: 'admitted' })
    await delay(1500)
    // receipts for work b did for a: worker-signed by b, countersigned by a, gossiped
    const make = async (jobId: string, n: number): Promise<void> => {
      for (let i = 0; i < n; i += 50) {
        await Promise.all(Array.from({ length: Math.min(50, n - i) }, async (_, k) => {
          const r = await b.ledger.signReceipt({ jobId, shardIndex: i + k, requester: a.peerId, modelCid: 'bafy-model', inputDigest: new Uint8Array(32).fill(1), outputDigest: new Uint8Array(32).fill(2), computeMs: 10, units: 10, pricePerUnit: 1, startedAt: Date.now() - 20, finishedAt: Date.now() - 10 })
          await a.ledger.countersign(r)
        }))
      }
    }
    await make('before', 600)
    await waitUntil(() => c.ledger.size === 600 && b.ledger.size === 600, { timeoutMs: 30_000, message: 'c to hold the first 600 receipts' })
    await fleet.stopNode(c)
    await make('offline', 100)
    await waitUntil(() => b.ledger.size === 700, { timeoutMs: 30_000, message: 'b to hold 700' })
    // c comes back with its key and its ledger directory; the gossip it missed is gone, one session catches it up
    const c2 = await fleet.add({ ledger: { reconcileIntervalMs: 0, dir }, key: c.key, bootstrap: addrs(a) })
    assert.equal(c2.ledger.size, 600, 'the 600 receipts persisted across the restart')
    await waitUntil(() => c2.node.isAdmitted(a.peerId), { timeoutMs: 20_000, message: 'c2 admitted' })
    const stats = await c2.ledger.reconcileWith(a.peerId)
    assert.deepEqual(c2.ledger.entryIds(), a.ledger.entryIds(), 'c caught up')
    assert.equal(stats.entriesReceived, 100)
    assert.equal(stats.entriesSent, 0)
    const missing = (await a.ledger.receipts({ jobId: 'offline' })).map(r => r.id)
    const entryBytes = (id: string): number => (a.ledger as any).entries.get(id).bytes.byteLength as number
    const diffBytes = missing.reduce((n, id) => n + entryBytes(id), 0)
    const setBytes = a.ledger.entryIds().reduce((n, id) => n + entryBytes(id), 0)
    const total = stats.bytesSent + stats.bytesReceived
    // the 100 entries themselves, plus ranges: ~log16(700) levels of ≤16 fingerprints and id lists per difference
    const bound = diffBytes + 100 * (16 * 32 + 64) + 4096
    assert.ok(total <= bound, `reconciliation moved ${total} bytes for ${diffBytes} bytes of missing receipts (bound ${bound}); the whole set is ${setBytes} bytes`)
    assert.ok(total < setBytes / 3, `well below a full exchange: ${total} vs ${setBytes}`)
  })
})
