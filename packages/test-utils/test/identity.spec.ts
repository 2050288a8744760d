import assert from 'node:assert/strict'
import { verifyCertificate } from '@fleetmesh/protocol'
import { createFleetKeys, createTestIdentity, deserializeIdentity, serializeIdentity } from '../src/identity.js'

describe('test identities', () => {
  it('certifies a fresh key for the role, region and owner, verifiable against the fleet authority', async () => {
    const keys = await createFleetKeys()
    const id = await createTestIdentity(keys.authority, { role: 'vehicle', region: 'gcpv', owner: 'owner-anna' })
    const cert = await verifyCertificate(id.certificate, { trustedAuthorities: [keys.authority.publicKey], peerId: id.peerId })
    assert.equal(cert.role, 'vehicle')
    assert.equal(cert.region, 'gcpv')
    assert.equal(cert.owner, 'owner-anna')
    const again = await createTestIdentity(keys.authority, { role: 'station', privateKey: id.privateKey })
    assert.ok(again.peerId.equals(id.peerId), 'a given key is certified, not replaced')
  })

  it('survives serialization for a forked node: same key, certificate, swarm key and authority', async () => {
    const keys = await createFleetKeys()
    const id = await createTestIdentity(keys.authority, { role: 'station' })
    const back = deserializeIdentity(structuredClone(serializeIdentity(id, keys)))
    assert.ok(back.privateKey.equals(id.privateKey))
    assert.deepEqual(back.certificate, id.certificate)
    assert.equal(back.swarmKey, new TextDecoder().decode(keys.swarmKey))
    assert.ok(back.trustedAuthorities[0]?.equals(keys.authority.publicKey))
  })
})
