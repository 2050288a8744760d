import assert from 'node:assert/strict'
import { fork } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAuthority, exportAuthorityPublicKey, generateSwarmKey, issueCertificate } from '@fleetmesh/peer'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { CertificateVerifier } from '../src/certificates.js'
import { verifyEntry } from '../src/entry.js'
import { LevelEntryStore } from '../src/store.js'
import { nextLoopbackHost, waitUntil } from './utils/mesh.js'
import type { ChildProcess } from 'node:child_process'

describe('ledger durability', function () {
  this.timeout(60_000)
  let child: ChildProcess | undefined
  let dir: string | undefined
  afterEach(async () => {
    if (child != null && child.exitCode == null && child.signalCode == null) child.kill('SIGKILL')
    child = undefined
    if (dir != null) await rm(dir, { recursive: true, force: true })
    dir = undefined
  })

  it('SIGKILL a node (separate process) while it writes receipts: after restart no acknowledged countersigned receipt is missing', async () => {
    const authority = await createAuthority()
    dir = await mkdtemp(join(tmpdir(), 'fleetmesh-ledger-kill-'))
    const key = await generateKeyPair('Ed25519')
    const workerKey = await generateKeyPair('Ed25519')
    const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64')
    const spec = {
      run: 1,
      dir,
      key: b64(privateKeyToProtobuf(key)),
      certificate: b64(await issueCertificate(authority, { peerId: peerIdFromPrivateKey(key), role: 'station', region: 'u33d', validForMs: 3600_000 })),
      workerKey: b64(privateKeyToProtobuf(workerKey)),
      workerCertificate: b64(await issueCertificate(authority, { peerId: peerIdFromPrivateKey(workerKey), role: 'vehicle', region: 'u33d', validForMs: 3600_000 })),
      authority: exportAuthorityPublicKey(authority.publicKey),
      swarmKey: new TextDecoder().decode(generateSwarmKey()),
      listen: `/ip4/${nextLoopbackHost()}/tcp/0`
    }
    const acked: string[] = []
    const c = fork(new URL('./fixtures/ledger-node.js', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    child = c
    c.on('message', (m: any) => { if (m?.type === 'ack') acked.push(m.id) })
    c.send({ type: 'start', spec })
    await waitUntil(() => acked.length >= 150, 30_000, '150 acknowledged receipts')
    const exited = new Promise(resolve => c.once('exit', resolve))
    c.kill('SIGKILL')
    await exited
    assert.equal(c.signalCode, 'SIGKILL')
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
