import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createMeshNode, issueCertificate, loadOrCreateIdentity } from '../src/index.js'
import { createTestMesh, loopbackListen } from '@fleetmesh/test-utils'
import type { TestMesh } from '@fleetmesh/test-utils'
import type { MeshNode } from '../src/index.js'

describe('persistence in a data directory', function () {
  this.timeout(30_000)
  let fleet: TestMesh
  let dir: string
  let node: MeshNode | undefined

  beforeEach(async () => {
    fleet = await createTestMesh()
    dir = await mkdtemp(join(tmpdir(), 'fleetmesh-peer-'))
  })
  afterEach(async () => {
    await node?.stop()
    node = undefined
    await fleet.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('a restarted node keeps its PeerId and remembers its peers', async () => {
    const station = await fleet.add('station', 'u33d')
    const key = await loadOrCreateIdentity(dir)
    const certificate = await issueCertificate(fleet.authority, { peerId: peerIdFromPrivateKey(key), role: 'vehicle', region: 'u33d' })
    const init = { role: 'vehicle' as const, region: 'u33d', dataDir: dir, certificate, swarmKey: fleet.swarmKey, trustedAuthorities: [fleet.authority.publicKey], listen: [loopbackListen()] }
    node = await createMeshNode(init)
    const firstId = node.peerId.toString()
    assert.equal(firstId, peerIdFromPrivateKey(key).toString())
    await node.connect(station.getMultiaddrs()[0] as any)
    await node.stop()
    node = undefined

    node = await createMeshNode(init)
    assert.equal(node.peerId.toString(), firstId, 'same PeerId after restart')
    const known = await node.libp2p.peerStore.get(station.peerId)
    assert.ok(known.addresses.length > 0, 'the station\'s address survived the restart in the peer store')
    // and the stored address is enough to reconnect
    const cert = await node.connect(station.peerId)
    assert.equal(cert.role, 'station')
  })

  it('a corrupt identity key is a DataDirError, not a new identity', async () => {
    await loadOrCreateIdentity(dir)
    await writeFile(join(dir, 'identity.key'), 'garbage')
    await assert.rejects(loadOrCreateIdentity(dir), { name: 'DataDirError', code: 'ERR_DATA_DIR' })
  })
})
