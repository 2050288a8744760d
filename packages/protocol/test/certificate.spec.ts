import { createHash } from 'node:crypto'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  createAuthority, decodeCertificate, exportAuthority, exportAuthorityPublicKey, importAuthority,
  importAuthorityPublicKey, issueCertificate, sealEnvelope, verifyCertificate, CERTIFICATE_PAYLOAD_TYPE,
  MAX_CERTIFICATE_BYTES
} from '../src/index.js'
import type { FleetAuthority } from '../src/index.js'
import type { PeerId } from '@libp2p/interface'

describe('device certificates', () => {
  let authority: FleetAuthority
  let device: PeerId

  before(async () => {
    authority = await createAuthority()
    device = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  })

  it('issues a certificate that verifies with its claims', async () => {
    const now = Date.now()
    const bytes = await issueCertificate(authority, { peerId: device, role: 'vehicle', region: 'u33d', validForMs: 60_000, owner: 'alice', issuedAt: now })
    assert.ok(bytes.byteLength < MAX_CERTIFICATE_BYTES, `certificate is ${bytes.byteLength} bytes`)
    const cert = await verifyCertificate(bytes, { trustedAuthorities: [authority.publicKey], peerId: device })
    assert.equal(cert.peerId.toString(), device.toString())
    assert.equal(cert.role, 'vehicle')
    assert.equal(cert.region, 'u33d')
    assert.equal(cert.owner, 'alice')
    assert.equal(cert.issuedAt, now)
    assert.equal(cert.expiresAt, now + 60_000)
    assert.equal(cert.authority, authority.id)
  })

  it('refuses an expired certificate with CertificateExpiredError', async () => {
    const bytes = await issueCertificate(authority, { peerId: device, role: 'station', region: 'u33', expiresAt: Date.now() - 1 })
    await assert.rejects(verifyCertificate(bytes, { trustedAuthorities: [authority.publicKey] }), { name: 'CertificateExpiredError', code: 'ERR_CERTIFICATE_EXPIRED' })
  })

  it('refuses a certificate not yet valid (issuedAt or notBefore beyond the clock skew) and accepts one within it', async () => {
    const now = Date.now()
    const trusted = { trustedAuthorities: [authority.publicKey] }
    const future = await issueCertificate(authority, { peerId: device, role: 'vehicle', region: 'u33d', issuedAt: now + 3600_000, validForMs: 60_000 })
    await assert.rejects(verifyCertificate(future, trusted), { name: 'CertificateNotYetValidError', code: 'ERR_CERTIFICATE_NOT_YET_VALID' })
    const later = await issueCertificate(authority, { peerId: device, role: 'vehicle', region: 'u33d', notBefore: now + 60_000, validForMs: 60_000 })
    await assert.rejects(verifyCertificate(later, trusted), { name: 'CertificateNotYetValidError' })
    const verifiedLater = await verifyCertificate(later, { ...trusted, now: now + 60_000 })
    assert.equal(verifiedLater.notBefore, now + 60_000)
    const skewed = await issueCertificate(authority, { peerId: device, role: 'vehicle', region: 'u33d', issuedAt: now + 5_000, validForMs: 60_000 })
    const cert = await verifyCertificate(skewed, trusted)
    assert.equal(cert.notBefore, cert.issuedAt, 'notBefore defaults to issuedAt')
    await assert.rejects(verifyCertificate(skewed, { ...trusted, clockSkewMs: 1000 }), { name: 'CertificateNotYetValidError' })
  })

  it('refuses a certificate valid for longer than the fleet allows', async () => {
    const bytes = await issueCertificate(authority, { peerId: device, role: 'vehicle', region: 'u33d', validForMs: 400 * 24 * 3600_000 })
    await assert.rejects(verifyCertificate(bytes, { trustedAuthorities: [authority.publicKey], maxValidityMs: 90 * 24 * 3600_000 }), { name: 'CertificateValidityTooLongError', code: 'ERR_CERTIFICATE_VALIDITY_TOO_LONG' })
    await verifyCertificate(bytes, { trustedAuthorities: [authority.publicKey], maxValidityMs: 400 * 24 * 3600_000 })
  })

  it('carries an optional jurisdiction and a serial (sha2-256 of the bytes)', async () => {
    const eu = await issueCertificate(authority, { peerId: device, role: 'vehicle', region: 'u33d', jurisdiction: 'eu' })
    const cert = await verifyCertificate(eu, { trustedAuthorities: [authority.publicKey] })
    assert.equal(cert.jurisdiction, 'eu')
    assert.match(cert.serial, /^[0-9a-f]{64}$/)
    assert.equal(cert.serial, createHash('sha256').update(eu).digest('hex'))
    const none = await verifyCertificate(await issueCertificate(authority, { peerId: device, role: 'vehicle', region: 'u33d' }), { trustedAuthorities: [authority.publicKey] })
    assert.equal(none.jurisdiction, '')
    assert.notEqual(none.serial, cert.serial)
    for (const bad of ['EU', 'e u', 'x'.repeat(33)]) {
      await assert.rejects(issueCertificate(authority, { peerId: device, role: 'vehicle', region: 'u33d', jurisdiction: bad }), { name: 'InvalidConfigError' }, `jurisdiction ${bad}`)
    }
  })

  it('refuses a certificate from an unknown authority with UnknownAuthorityError', async () => {
    const rogue = await createAuthority()
    const bytes = await issueCertificate(rogue, { peerId: device, role: 'station', region: 'u33' })
    await assert.rejects(verifyCertificate(bytes, { trustedAuthorities: [authority.publicKey] }), { name: 'UnknownAuthorityError' })
  })

  it('refuses a certificate presented by another peer', async () => {
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const bytes = await issueCertificate(authority, { peerId: device, role: 'station', region: 'u33' })
    await assert.rejects(verifyCertificate(bytes, { trustedAuthorities: [authority.publicKey], peerId: other }), { name: 'CertificatePeerMismatchError' })
  })

  it('refuses an altered certificate with InvalidSignatureError', async () => {
    const bytes = await issueCertificate(authority, { peerId: device, role: 'vehicle', region: 'u33d' })
    // flip the region's last character inside the payload ("u33d" -> "u33e")
    const text = Buffer.from(bytes)
    const at = text.indexOf(Buffer.from('u33d'))
    assert.ok(at > 0, 'region found in the certificate bytes')
    const altered = Uint8Array.from(text)
    altered[at + 3] = 'e'.charCodeAt(0)
    await assert.rejects(verifyCertificate(altered, { trustedAuthorities: [authority.publicKey] }), { name: 'InvalidSignatureError' })
  })

  it('gives typed errors for malformed bytes and never throws anything else', async () => {
    const good = await issueCertificate(authority, { peerId: device, role: 'vehicle', region: 'u33d' })
    const cases: Array<[string, Uint8Array, string[]]> = [
      ['empty', new Uint8Array(0), ['InvalidCertificateError']],
      ['garbage', Uint8Array.from({ length: 200 }, (_, i) => (i * 37) & 0xff), ['InvalidCertificateError']],
      ['truncated', good.subarray(0, good.byteLength - 10), ['InvalidCertificateError']],
      ['oversize', new Uint8Array(MAX_CERTIFICATE_BYTES + 1), ['MessageTooLargeError']]
    ]
    for (let cut = 1; cut < good.byteLength; cut += 7) {
      cases.push([`cut at ${cut}`, good.subarray(0, cut), ['InvalidCertificateError', 'InvalidSignatureError']])
    }
    for (const [label, bytes, names] of cases) {
      await assert.rejects(verifyCertificate(bytes, { trustedAuthorities: [authority.publicKey] }), (err: any) => {
        assert.ok(names.includes(err.name), `${label}: got ${err.name}: ${err.message}`)
        assert.match(err.code, /^ERR_/, `${label}: has a code`)
        return true
      })
    }
  })

  it('refuses an envelope of another payload type signed by the authority', async () => {
    const env = await sealEnvelope(authority.privateKey, 'fleetmesh-certificate', new TextEncoder().encode('/other/1'), new Uint8Array([1, 2, 3]))
    await assert.rejects(decodeCertificate(env), { name: 'InvalidCertificateError' })
    const wrongBody = await sealEnvelope(authority.privateKey, 'fleetmesh-certificate', CERTIFICATE_PAYLOAD_TYPE, new Uint8Array([0xff, 0xff, 0xff]))
    await assert.rejects(decodeCertificate(wrongBody), { name: 'InvalidCertificateError' })
  })

  it('refuses bad claims at issue time', async () => {
    await assert.rejects(issueCertificate(authority, { peerId: device, role: 'truck' as any, region: 'u33' }), { name: 'InvalidRoleError' })
    await assert.rejects(issueCertificate(authority, { peerId: device, role: 'vehicle', region: 'U33!' }), { name: 'InvalidRegionError' })
  })

  it('round-trips authority keys through their text form', async () => {
    const again = importAuthority(exportAuthority(authority))
    assert.equal(again.id, authority.id)
    const pub = importAuthorityPublicKey(exportAuthorityPublicKey(authority.publicKey))
    const bytes = await issueCertificate(again, { peerId: device, role: 'station', region: 'u3' })
    const cert = await verifyCertificate(bytes, { trustedAuthorities: [pub] })
    assert.equal(cert.authority, authority.id)
    assert.throws(() => importAuthority('not a key'), { name: 'InvalidConfigError' })
    assert.throws(() => importAuthorityPublicKey('AAAA'), { name: 'InvalidConfigError' })
  })
})
