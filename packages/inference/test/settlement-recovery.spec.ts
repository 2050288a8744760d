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

  it('SIGKILL of the requester process right after the last result: after its restart every micro-batch receipt of the job is countersigned and paid at its worker', async () => {
    const ledger = { reconcileIntervalMs: 500, settlement: { presentAfterMs: 2000, retryMs: 1000 } }
    const workers: MeshNode[] = []
    for (let i = 0; i < 2; i++) workers.push(await mesh.add('station', 'u33d', { worker: true, ledger, dataDir: await tempDir('fleetmesh-recovery-worker-') }))
    const completed: LeaseEvent[] = []
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
    // a worker is paid per accepted micro-batch (receipt job `<jobId>/mb/<seq>`): the leases its countersigned micro-batch receipts name
    const paid = async (w: MeshNode): Promise<string[]> => (await w.ledger.receipts({ worker: w.peerId.toString() })).filter(r => r.countersigned && baseJobId(r.jobId) === jobId).map(r => r.leaseId)
    await delay(1000)
    for (const w of workers) assert.deepEqual(await paid(w), [], 'nothing countersigned before the restart')

    // the restart: same identity and data directory, no job
    await forkNode(FIXTURE, { start: { ...spec, submit: undefined }, name: 'restarted requester', readyTimeoutMs: 60_000 })
    // a worker is paid per micro-batch it delivered (a lease the other outpaced may have delivered none):
    // every micro-batch receipt a worker signed for the job must end countersigned at that worker
    const signed = new Map(workers.map(w => [w.peerId.toString(), w.ledger.unsettledReceipts().filter(u => u.jobId !== jobId && baseJobId(u.jobId) === jobId).map(u => u.id)]))
    assert.ok([...signed.values()].some(ids => ids.length > 0), 'the workers signed micro-batch receipts for the job')
    await waitUntil(() => workers.every(w => {
      const open = new Set(w.ledger.unsettledReceipts().map(u => u.id))
      return (signed.get(w.peerId.toString()) ?? []).every(id => !open.has(id))
    }), { timeoutMs: 60_000, intervalMs: 250, message: 'every micro-batch receipt of the job countersigned at its worker' })
    for (const w of workers) {
      const id = w.peerId.toString()
      if ((signed.get(id) ?? []).length === 0) continue
      // the countersigned copy is in the worker's memory first, in its store's worker index a moment later
      await waitUntil(async () => (await paid(w)).length > 0, { timeoutMs: 20_000, intervalMs: 250, message: `worker ${id} to index its countersigned micro-batch receipts` })
      const earned = w.ledger.balances().peers[id]?.earned ?? 0
      assert.ok(earned > 0, `worker ${id} was paid (earned ${earned})`)
    }
  })
})
