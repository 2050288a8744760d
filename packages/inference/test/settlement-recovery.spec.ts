import assert from 'node:assert/strict'
import { createTestMesh, delay, forkNode, killChildProcesses, loopbackListen, removeTempDirs, serializeIdentity, tempDir, waitUntil } from '@fleetmesh/test-utils'
import { baseJobId } from '@fleetmesh/ledger'
import type { RequesterNodeSpec } from './fixtures/requester-node.js'
import type { LeaseEvent } from '@fleetmesh/market'
import type { MeshNode } from '@fleetmesh/peer'
import type { TestMesh } from '@fleetmesh/test-utils'

const FIXTURE = new URL('./fixtures/requester-node.js', import.meta.url)

describe('settlement survives the requester', function () {
  this.timeout(180_000)
  let mesh: TestMesh
  beforeEach(async () => { mesh = await createTestMesh() })
  afterEach(async () => {
    await killChildProcesses()
    await mesh.stop()
    await removeTempDirs()
  })

  it('SIGKILL of the requester process right after the last result: after its restart every accepted micro-batch of the job is countersigned and paid at its worker, and only late duplicates are refused', async () => {
    const ledger = { reconcileIntervalMs: 500, settlement: { presentAfterMs: 2000, retryMs: 1000 } }
    const workers: MeshNode[] = []
    for (let i = 0; i < 2; i++) workers.push(await mesh.add('station', 'u33d', { worker: true, ledger, dataDir: await tempDir('fleetmesh-recovery-worker-') }))
    const completed: LeaseEvent[] = []
    const outcomes = new Map<string, { status: string, reason?: string }>()
    for (const w of workers) w.ledger.addEventListener('settlement', (e) => { outcomes.set(e.detail.id, { status: e.detail.status, reason: e.detail.reason }) })
    for (const w of workers) w.libp2p.services.market.addEventListener('lease', (e) => { if (e.detail.side === 'worker' && e.detail.state === 'completed') completed.push(e.detail) })
    const spec: RequesterNodeSpec = {
      ...serializeIdentity(await mesh.identity('station', 'u33d'), mesh),
      dataDir: await tempDir('fleetmesh-recovery-requester-'),
      listen: loopbackListen(),
      bootstrap: workers.flatMap(w => w.getMultiaddrs().map(String)),
      workers: 2,
      submit: { items: 32, shards: 2 }
    }
    const first = await forkNode<{ peerId: string }>(FIXTURE, { start: spec, name: 'requester', readyTimeoutMs: 60_000 })
    const exited = new Promise(resolve => { first.child.once('exit', resolve) })
    await exited
    assert.equal(first.child.signalCode, 'SIGKILL', 'the requester killed itself at its result')
    const jobId = first.messages.find(m => m?.type === 'submitted')?.jobId as string
    assert.ok(jobId != null, 'the job was submitted')
    const leases = completed.filter(l => l.jobId === jobId)
    assert.equal(leases.length, 2, 'both leases completed before the requester died')
    const followed = workers.flatMap(w => w.ledger.unsettledReceipts().filter(u => baseJobId(u.jobId) === jobId))
    assert.ok(followed.length > 0, 'the workers follow the micro-batch receipts they signed')
    // a worker is paid per accepted micro-batch (receipt job `<jobId>/mb/<seq>`)
    await delay(1000)
    for (const w of workers) assert.deepEqual((await w.ledger.receipts({ worker: w.peerId.toString() })).filter(r => r.countersigned && baseJobId(r.jobId) === jobId), [], 'nothing countersigned before the restart')

    // the restart: same identity and data directory, no job
    await forkNode(FIXTURE, { start: { ...spec, submit: undefined }, name: 'restarted requester', readyTimeoutMs: 60_000 })
    // every micro-batch receipt a worker signed for the job ends settled at that worker: countersigned if its output
    // was the accepted one, refused if it was a late duplicate of a micro-batch the other worker delivered first
    const signed = new Map(workers.map(w => [w.peerId.toString(), w.ledger.unsettledReceipts().filter(u => u.jobId !== jobId && baseJobId(u.jobId) === jobId)]))
    assert.ok([...signed.values()].some(list => list.length > 0), 'the workers signed micro-batch receipts for the job')
    await waitUntil(() => workers.every(w => {
      const open = new Set(w.ledger.unsettledReceipts().map(u => u.id))
      return (signed.get(w.peerId.toString()) ?? []).every(u => !open.has(u.id))
    }), { timeoutMs: 60_000, intervalMs: 250, message: 'every micro-batch receipt of the job settled at its worker' })
    // every micro-batch of the job is paid: the countersigned micro-batch receipts (in each worker's store index a
    // moment after its memory) name micro-batches whose items add up to the job's
    const paidMicroBatches = async (): Promise<Map<string, { worker: string, units: number }>> => {
      const out = new Map<string, { worker: string, units: number }>()
      for (const w of workers) {
        for (const r of await w.ledger.receipts({ worker: w.peerId.toString() })) {
          if (r.countersigned && r.jobId !== jobId && baseJobId(r.jobId) === jobId) out.set(`${r.jobId} ${r.worker}`, { worker: r.worker, units: r.units })
        }
      }
      return out
    }
    const itemsPaid = (paid: Map<string, { units: number }>): number => {
      const perMicroBatch = new Map<string, number>()
      for (const [key, p] of paid) perMicroBatch.set(key.slice(0, key.indexOf(' ')), p.units)
      return [...perMicroBatch.values()].reduce((a, b) => a + b, 0)
    }
    await waitUntil(async () => itemsPaid(await paidMicroBatches()) === 32, { timeoutMs: 20_000, intervalMs: 250, message: 'the countersigned micro-batch receipts to cover the 32 items of the job' })
    const paid = await paidMicroBatches()
    const paidJobs = new Set([...paid.keys()].map(k => k.slice(0, k.indexOf(' '))))
    for (const w of workers) {
      const id = w.peerId.toString()
      const mine = (signed.get(id) ?? [])
      for (const u of mine) {
        if (paid.has(`${u.jobId} ${id}`)) continue
        const refused = outcomes.get(u.id)
        assert.equal(refused?.status, 'refused', `receipt ${u.id} of ${u.jobId} at ${id} is either countersigned or refused`)
        assert.ok(paidJobs.has(u.jobId), `${u.jobId} refused at ${id} (${refused?.reason}) was a duplicate: the other worker is paid for it`)
      }
      const earned = w.ledger.balances().peers[id]?.earned ?? 0
      if ([...paid.values()].some(p => p.worker === id)) assert.ok(earned > 0, `worker ${id} was paid (earned ${earned})`)
    }
  })
})
