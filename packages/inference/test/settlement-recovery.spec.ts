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

  it('SIGKILL of the requester process right after the last result: after its restart every lease of the job is countersigned and paid at the workers', async () => {
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
    await waitUntil(async () => {
      for (const l of leases) {
        const w = workers.find(n => n.peerId.toString() === l.worker) as MeshNode
        if (!(await paid(w)).includes(l.leaseId)) return false
      }
      return true
    }, { timeoutMs: 60_000, intervalMs: 250, message: 'every lease of the job countersigned at its worker' })
    for (const l of leases) {
      const w = workers.find(n => n.peerId.toString() === l.worker) as MeshNode
      const earned = w.ledger.balances().peers[l.worker]?.earned ?? 0
      assert.ok(earned > 0, `worker ${l.worker} was paid (earned ${earned})`)
      assert.deepEqual(w.ledger.unsettledReceipts().filter(u => u.jobId !== jobId && baseJobId(u.jobId) === jobId), [], `worker ${l.worker} follows no micro-batch receipt of the job any more`)
    }
  })
})
