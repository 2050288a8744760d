import { strict as assert } from 'node:assert'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createMeshNode, issueCertificate, importAuthority, REVOCATION_LIST_FILE, verifyRevocationList } from '@fleetmesh/peer'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { removeTempDirs, tempDir } from '@fleetmesh/test-utils'
import { runCli } from '@fleetmesh/test-utils/fleet'

describe('fleetmesh authority revoke', function () {
  this.timeout(60_000)
  afterEach(async () => { await removeTempDirs() })

  it('signs a revocation list, extends it on a second run, and a node loads it from its data directory', async () => {
    const dir = await tempDir('fleetmesh-revoke-')
    const authorityDir = join(dir, 'authority')
    assert.equal((await runCli(['authority', 'init', '--out', authorityDir])).code, 0)
    const authority = importAuthority(await readFile(join(authorityDir, 'authority.key'), 'utf8'))
    const stolen = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const lost = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const out = join(dir, 'revocation.list')
    const first = await runCli(['authority', 'revoke', '--authority', authorityDir, '--peer', stolen.toString(), '--reason', 'stolen', '--out', out])
    assert.equal(first.code, 0, first.stderr)
    const list1 = await verifyRevocationList(await readFile(out), { trustedAuthorities: [authority.publicKey] })
    assert.deepEqual(list1.entries.map(e => [e.peerId?.toString(), e.reason]), [[stolen.toString(), 'stolen']])
    const serial = 'ab'.repeat(32)
    const second = await runCli(['authority', 'revoke', '--authority', authorityDir, '--peer', lost.toString(), '--serial', serial, '--out', out])
    assert.equal(second.code, 0, second.stderr)
    const list2 = await verifyRevocationList(await readFile(out), { trustedAuthorities: [authority.publicKey] })
    assert.ok(list2.sequence > list1.sequence, 'the sequence rises')
    assert.deepEqual(list2.entries.map(e => e.peerId?.toString() ?? e.serial), [stolen.toString(), lost.toString(), serial], 'earlier entries are kept')

    const bad = await runCli(['authority', 'revoke', '--authority', authorityDir, '--out', out])
    assert.notEqual(bad.code, 0)
    assert.match(bad.stderr, /^fleetmesh: name what to revoke/)
    const notPeer = await runCli(['authority', 'revoke', '--authority', authorityDir, '--peer', 'nope', '--out', out])
    assert.match(notPeer.stderr, /^fleetmesh: --peer "nope" is not a PeerId/)

    // a node started on a data directory holding the list applies it
    const dataDir = join(dir, 'node')
    const key = await generateKeyPair('Ed25519')
    const { mkdir } = await import('node:fs/promises')
    await mkdir(dataDir)
    await writeFile(join(dataDir, REVOCATION_LIST_FILE), await readFile(out))
    const node = await createMeshNode({
      role: 'station',
      region: 'u33d',
      privateKey: key,
      dataDir,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      trustedAuthorities: [authority.publicKey],
      certificate: await issueCertificate(authority, { peerId: peerIdFromPrivateKey(key), role: 'station', region: 'u33d' })
    })
    try {
      assert.equal(node.revocationLists()[0]?.sequence, list2.sequence)
      assert.equal(node.libp2p.services.admission.isExcluded(stolen), true)
    } finally {
      await node.stop()
    }
  })
})
