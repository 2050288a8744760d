import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  createAuthority, createRevocationList, issueCertificate, sealEnvelope, verifyCertificate, verifyRevocationList,
  RevocationSet, REVOCATION_PAYLOAD_TYPE, MAX_REVOCATION_ENTRIES
} from '../src/index.js'
import type { FleetAuthority } from '../src/index.js'
import type { PeerId } from '@libp2p/interface'

describe('revocation lists', () => {
  let authority: FleetAuthority
  let device: PeerId

  before(async () => {
    authority = await createAuthority()
    device = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  })

  it('signs a list of serials and PeerIds that verifies with its entries', async () => {
    const cert = await verifyCertificate(await issueCertificate(authority, { peerId: device, role: 'vehicle', region: 'u33d' }), { trustedAuthorities: [authority.publicKey] })
    const now = Date.now()
    const bytes = await createRevocationList(authority, [{ serial: cert.serial, reason: 'stolen' }, { peerId: device, revokedAt: now - 10 }], { sequence: 7, issuedAt: now })
    const list = await verifyRevocationList(bytes, { trustedAuthorities: [authority.publicKey] })
    assert.equal(list.authority, authority.id)
    assert.equal(list.sequence, 7)
    assert.equal(list.issuedAt, now)
    assert.equal(list.entries[0]?.serial, cert.serial)
    assert.equal(list.entries[0]?.reason, 'stolen')
    assert.equal(list.entries[0]?.revokedAt, now, 'revokedAt defaults to the issue time')
    assert.equal(list.entries[1]?.peerId?.toString(), device.toString())
    assert.equal(list.entries[1]?.revokedAt, now - 10)
  })

  it('refuses lists from an unknown authority, dated in the future, altered, or malformed', async () => {
    const rogue = await createAuthority()
    await assert.rejects(verifyRevocationList(await createRevocationList(rogue, [{ peerId: device }]), { trustedAuthorities: [authority.publicKey] }), { name: 'UnknownAuthorityError' })
    const future = await createRevocationList(authority, [{ peerId: device }], { issuedAt: Date.now() + 3600_000 })
    await assert.rejects(verifyRevocationList(future, { trustedAuthorities: [authority.publicKey] }), { name: 'InvalidRevocationListError' })
    const good = await createRevocationList(authority, [{ peerId: device, reason: 'lost' }])
    const altered = Uint8Array.from(good)
    const at = Buffer.from(good).indexOf(Buffer.from('lost'))
    altered[at] = 'L'.charCodeAt(0)
    await assert.rejects(verifyRevocationList(altered, { trustedAuthorities: [authority.publicKey] }), { name: 'InvalidSignatureError' })
    const garbage = await sealEnvelope(authority.privateKey, 'fleetmesh-revocation', REVOCATION_PAYLOAD_TYPE, Uint8Array.from([0x1a, 0x02, 0x0a, 0x01]))
    await assert.rejects(verifyRevocationList(garbage, { trustedAuthorities: [authority.publicKey] }), { name: 'InvalidRevocationListError' })
    await assert.rejects(verifyRevocationList(new Uint8Array(70_000), { trustedAuthorities: [authority.publicKey] }), { name: 'MessageTooLargeError' })
  })

  it('refuses bad entries when creating a list', async () => {
    await assert.rejects(createRevocationList(authority, [{}]), { name: 'InvalidConfigError' })
    await assert.rejects(createRevocationList(authority, [{ serial: 'abc' }]), { name: 'InvalidConfigError' })
    await assert.rejects(createRevocationList(authority, [{ peerId: device, serial: 'a'.repeat(64) }]), { name: 'InvalidConfigError' })
    await assert.rejects(createRevocationList(authority, Array.from({ length: MAX_REVOCATION_ENTRIES + 1 }, () => ({ peerId: device }))), { name: 'InvalidConfigError' })
  })

  it('a RevocationSet keeps the newest list per authority and revokes by serial, or by PeerId for certificates issued up to revokedAt', async () => {
    const trusted = { trustedAuthorities: [authority.publicKey] }
    const t0 = Date.now() - 60_000
    const old = await verifyCertificate(await issueCertificate(authority, { peerId: device, role: 'vehicle', region: 'u33d', issuedAt: t0 }), trusted)
    const other = await verifyCertificate(await issueCertificate(authority, { peerId: peerIdFromPrivateKey(await generateKeyPair('Ed25519')), role: 'vehicle', region: 'u33d' }), trusted)
    const set = new RevocationSet()
    assert.equal(set.revocationOf(old), undefined)
    set.add(await verifyRevocationList(await createRevocationList(authority, [{ peerId: device, revokedAt: t0 + 1000 }], { sequence: 1 }), trusted))
    assert.ok(set.revocationOf(old) != null, 'a certificate issued before revokedAt is revoked')
    assert.throws(() => { set.assertNotRevoked(old) }, { name: 'CertificateRevokedError', code: 'ERR_CERTIFICATE_REVOKED' })
    assert.equal(set.revocationOf(other), undefined, 'another device is not revoked')
    const reissued = await verifyCertificate(await issueCertificate(authority, { peerId: device, role: 'vehicle', region: 'u33d' }), trusted)
    assert.equal(set.revocationOf(reissued), undefined, 'a certificate issued after the revocation admits the device again')
    // a newer list replaces the older one; an older or equal one is stale
    set.add(await verifyRevocationList(await createRevocationList(authority, [{ serial: other.serial }], { sequence: 2 }), trusted))
    assert.equal(set.revocationOf(old), undefined, 'the newer list no longer names the device')
    assert.ok(set.revocationOf(other) != null, 'the newer list names the serial')
    assert.throws(() => { set.add({ ...set.get(authority.id)!, sequence: 2 }) }, { name: 'StaleRevocationListError' })
    assert.equal(set.all().length, 1)
    // a list of another authority never revokes this authority's certificates
    const second = await createAuthority()
    set.add(await verifyRevocationList(await createRevocationList(second, [{ peerId: reissued.peerId, revokedAt: Date.now() + 1000 }]), { trustedAuthorities: [second.publicKey] }))
    assert.equal(set.revocationOf(reissued), undefined)
  })
})
