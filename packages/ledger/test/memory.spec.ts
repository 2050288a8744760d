import assert from 'node:assert/strict'
import { createTestIdentity } from '@fleetmesh/test-utils'
import { paidEntry } from './utils/receipts.js'
import { createLedgerFleet } from './utils/mesh.js'
import type { LedgerFleet } from './utils/mesh.js'

/**
 * What the ledger keeps of each entry it stores: its own bytes, not the
 * buffer they arrived in. An entry decoded from a gossip message, a
 * reconciliation batch or a pooled allocation is a view into that larger
 * buffer, and the ledger keeps every entry for as long as it runs
 * (bench/adversary's target: ~2,300 receipts held 18 MiB of such buffers,
 * 8 KiB each, its live heap growing from flood to flood).
 */
describe('ledger memory', function () {
  this.timeout(60_000)
  let fleet: LedgerFleet | undefined
  afterEach(async () => { await fleet?.stop(); fleet = undefined })

  it('a stored entry and its decoded receipt hold only their own bytes, not the buffer the entry arrived in', async () => {
    fleet = await createLedgerFleet()
    const a = await fleet.add({ ledger: { reconcileIntervalMs: 0 } })
    const worker = await createTestIdentity(fleet.authority, { role: 'vehicle' })
    const { bytes } = await paidEntry({ peerId: a.peerId, privateKey: a.key, certificate: a.certificate } as any, worker, 'job-memory', 0)
    // the entry as a view into a 1 MiB message buffer
    const message = new Uint8Array(1024 * 1024)
    message.set(bytes, 4096)
    const view = message.subarray(4096, 4096 + bytes.byteLength)
    const e = await a.ledger.add(view)
    assert.ok(e != null, 'the entry is new')
    const [r] = await a.ledger.receipts({ jobId: 'job-memory' })
    assert.ok(r != null, 'the receipt is stored')
    const held = [e.bytes, r.receipt.body, r.receipt.workerSignature, r.receipt.requesterSignature, r.receipt.workerCertificate, r.receipt.requesterCertificate]
    for (const [i, b] of held.entries()) {
      assert.ok(b.buffer.byteLength <= bytes.byteLength, `field ${i} holds a ${b.buffer.byteLength}-byte buffer for a ${bytes.byteLength}-byte entry`)
    }
    message.fill(0)
    assert.equal(a.ledger.has(e.id), true)
    assert.equal(r.receipt.body.some(x => x !== 0), true, 'the stored receipt does not share the message buffer')
  })
})
