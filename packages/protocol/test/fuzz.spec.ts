import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import fc from 'fast-check'
import {
  AdmissionHello, CERTIFICATE_PAYLOAD_TYPE, PbRevocationListBody, REVOCATION_PAYLOAD_TYPE, createAuthority, createRevocationList,
  decodeCertificate, decodeTensorHeader, decodeTensors, issueCertificate, PbTensorList, sealEnvelope, tensorsFromPayload, verifyCertificate, verifyRevocationList
} from '../src/index.js'
import type { FleetAuthority } from '../src/index.js'

/** Runs per property: bounded in `npm test`; `npm run fuzz` sets FUZZ_RUNS for a long run. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 100)

/** Every decoder failure is a typed fleetmesh error (a stable ERR_ code), never a crash or an untyped throw. */
function typed (err: any): boolean {
  return typeof err?.code === 'string' && err.code.startsWith('ERR_') && typeof err.name === 'string'
}

describe('fuzz: certificate, revocation list and admission decoders', function () {
  this.timeout(120_000 + RUNS * 50)
  let authority: FleetAuthority
  let good: Uint8Array
  let list: Uint8Array

  before(async () => {
    authority = await createAuthority()
    const device = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    good = await issueCertificate(authority, { peerId: device, role: 'vehicle', region: 'u33d', jurisdiction: 'eu' })
    list = await createRevocationList(authority, [{ peerId: device, reason: 'fuzz' }])
  })

  it('decodeCertificate / verifyCertificate: random bytes, mutated certificates and signed garbage bodies give typed errors', async () => {
    const trusted = { trustedAuthorities: [authority.publicKey] }
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), async (bytes) => {
      await decodeCertificate(bytes).then(() => {}, (err) => { assert.ok(typed(err), `untyped ${err?.name}: ${err?.message}`) })
    }), { numRuns: RUNS })
    await fc.assert(fc.asyncProperty(fc.nat(good.byteLength - 1), fc.integer({ min: 0, max: 255 }), async (at, value) => {
      const mutated = Uint8Array.from(good)
      mutated[at] = value
      await verifyCertificate(mutated, trusted).then(() => {}, (err) => { assert.ok(typed(err), `untyped ${err?.name}: ${err?.message}`) })
    }), { numRuns: RUNS })
    // a body the authority signed but that is not a valid CertificateBody
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (body) => {
      const sealed = await sealEnvelope(authority.privateKey, 'fleetmesh-certificate', CERTIFICATE_PAYLOAD_TYPE, body)
      await verifyCertificate(sealed, trusted).then(() => {}, (err) => { assert.ok(typed(err), `untyped ${err?.name}: ${err?.message}`) })
    }), { numRuns: RUNS })
  })

  it('verifyRevocationList: random bytes, mutated lists and signed garbage bodies give typed errors', async () => {
    const trusted = { trustedAuthorities: [authority.publicKey] }
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), async (bytes) => {
      await verifyRevocationList(bytes, trusted).then(() => {}, (err) => { assert.ok(typed(err), `untyped ${err?.name}: ${err?.message}`) })
    }), { numRuns: RUNS })
    await fc.assert(fc.asyncProperty(fc.nat(list.byteLength - 1), fc.integer({ min: 0, max: 255 }), async (at, value) => {
      const mutated = Uint8Array.from(list)
      mutated[at] = value
      await verifyRevocationList(mutated, trusted).then(() => {}, (err) => { assert.ok(typed(err), `untyped ${err?.name}: ${err?.message}`) })
    }), { numRuns: RUNS })
    const entry = fc.record({ serial: fc.uint8Array({ maxLength: 40 }), peerId: fc.uint8Array({ maxLength: 40 }), revokedAt: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), reason: fc.string({ maxLength: 200 }) })
    await fc.assert(fc.asyncProperty(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.array(entry, { maxLength: 5 }), async (sequence, entries) => {
      const body = PbRevocationListBody.encode({ sequence, issuedAt: 1n, entries: entries as any })
      const sealed = await sealEnvelope(authority.privateKey, 'fleetmesh-revocation', REVOCATION_PAYLOAD_TYPE, body)
      await verifyRevocationList(sealed, trusted).then((l) => {
        for (const e of l.entries) assert.ok((e.serial == null) !== (e.peerId == null), 'a verified entry names exactly one of serial or PeerId')
      }, (err) => { assert.ok(typed(err), `untyped ${err?.name}: ${err?.message}`) })
    }), { numRuns: RUNS })
  })

  it('AdmissionHello.decode throws or decodes, never hangs, on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 5000 }), (bytes) => {
      try {
        const hello = AdmissionHello.decode(bytes)
        assert.ok(hello.certificate instanceof Uint8Array)
      } catch (err: any) {
        assert.ok(err instanceof Error)
      }
    }), { numRuns: RUNS * 10 })
  })

  it('decodeTensors, decodeTensorHeader and tensorsFromPayload give tensors within the limit or typed errors on random bytes', () => {
    // random bytes, and tensor lists with any dtype code, dims and data length
    const tensor = fc.record({ name: fc.string({ maxLength: 10 }), dtype: fc.integer({ min: 0, max: 20 }), dims: fc.array(fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 8n })), { maxLength: 4 }), data: fc.uint8Array({ maxLength: 300 }) })
    const list = fc.oneof(fc.uint8Array({ maxLength: 3000 }), fc.array(tensor, { maxLength: 4 }).map(tensors => PbTensorList.encode({ tensors })))
    fc.assert(fc.property(list, fc.integer({ min: 0, max: 4096 }), fc.uint8Array({ maxLength: 4096 }), (bytes, maxBytes, payload) => {
      try {
        const tensors = decodeTensors(bytes, maxBytes)
        assert.ok(tensors.reduce((a, t) => a + t.data.byteLength, 0) <= maxBytes, 'within the limit')
      } catch (err: any) {
        assert.ok(typed(err), `untyped ${err?.name}: ${err?.message}`)
      }
      try {
        const { slots, payloadBytes } = decodeTensorHeader(bytes, maxBytes)
        assert.ok(payloadBytes <= maxBytes, 'the header announces no more than the limit')
        if (payload.byteLength >= payloadBytes) {
          const tensors = tensorsFromPayload(slots, [payload.subarray(0, payloadBytes)])
          assert.equal(tensors.length, slots.length)
        }
      } catch (err: any) {
        assert.ok(typed(err), `untyped ${err?.name}: ${err?.message}`)
      }
    }), { numRuns: RUNS * 10 })
  })
})
