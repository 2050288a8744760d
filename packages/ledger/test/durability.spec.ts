import assert from 'node:assert/strict'
import { createFleetKeys, createTestIdentity, forkNode, killChildProcesses, loopbackListen, removeTempDirs, serializeIdentity, tempDir, waitUntil } from '@fleetmesh/test-utils'
import { CertificateVerifier } from '../src/certificates.js'
import { verifyEntry } from '../src/entry.js'
import { LevelEntryStore } from '../src/store.js'
import type { LedgerNodeSpec } from './fixtures/ledger-node.js'

describe('ledger durability', function () {
  this.timeout(60_000)
  afterEach(async () => {
    await killChildProcesses()
    await removeTempDirs()
  })

  it('SIGKILL a node (separate process) while it writes receipts: after restart no acknowledged countersigned receipt is missing', async () => {
    const keys = await createFleetKeys()
    const { authority } = keys
    const dir = await tempDir('fleetmesh-ledger-kill-')
    const worker = serializeIdentity(await createTestIdentity(authority, { role: 'vehicle' }), keys)
    const spec: LedgerNodeSpec = {
      ...serializeIdentity(await createTestIdentity(authority, { role: 'station' }), keys),
      run: 1,
      dir,
      workerKey: worker.key,
      workerCertificate: worker.certificate,
      listen: loopbackListen()
    }
    // every message is recorded from the fork on, so no acknowledgement sent right after `ready` is missed
    const forked = await forkNode(new URL('./fixtures/ledger-node.js', import.meta.url), { start: spec, name: 'ledger node' })
    const c = forked.child
    const acks = (): string[] => forked.messages.filter(m => m?.type === 'ack').map(m => m.id)
    await waitUntil(() => acks().length >= 150, { timeoutMs: 30_000, message: '150 acknowledged receipts' })
    const exited = new Promise(resolve => c.once('exit', resolve))
    c.kill('SIGKILL')
    await exited
    assert.equal(c.signalCode, 'SIGKILL')
    const acked = acks()
    // "restart": open the ledger's store again and check every acknowledged receipt
    const store = new LevelEntryStore(dir)
    await store.open()
    try {
      const stored = new Map<string, Uint8Array>()
      for await (const { id, bytes } of store.all()) stored.set(id, bytes)
      const missing = acked.filter(id => !stored.has(id))
      assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged receipts missing after SIGKILL`)
      const certificates = new CertificateVerifier([authority.publicKey])
      for (const id of acked) {
        const e = await verifyEntry(stored.get(id) as Uint8Array, { certificates })
        assert.equal(e.id, id, `receipt ${id} intact`)
        assert.ok(e.kind === 'receipt' && e.receipt.countersigned, `receipt ${id} countersigned`)
      }
      assert.ok(stored.size >= acked.length)
    } finally {
      await store.close()
    }
  })
})
