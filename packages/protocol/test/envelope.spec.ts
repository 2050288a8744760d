import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { openEnvelope, sealEnvelope, offersTopic, bidsTopic, parseRegionTopic, commonPrefixLength, assertRegion, ADMISSION_PROTOCOL, DHT_PROTOCOL } from '../src/index.js'

const TYPE = new TextEncoder().encode('/fleetmesh/test/1')

describe('signed envelopes', () => {
  it('seals and opens with the signer PeerId and payload', async () => {
    const key = await generateKeyPair('Ed25519')
    const payload = new TextEncoder().encode('hello fleet')
    const bytes = await sealEnvelope(key, 'fleetmesh-test', TYPE, payload)
    const opened = await openEnvelope(bytes, 'fleetmesh-test', { payloadType: TYPE })
    assert.equal(opened.signer.toString(), peerIdFromPrivateKey(key).toString())
    assert.deepEqual(opened.payload, payload)
  })

  it('is domain separated: a signature for one domain fails in another', async () => {
    const key = await generateKeyPair('Ed25519')
    const bytes = await sealEnvelope(key, 'fleetmesh-bid', TYPE, new Uint8Array([1]))
    await assert.rejects(openEnvelope(bytes, 'fleetmesh-offer'), { name: 'InvalidSignatureError', code: 'ERR_INVALID_SIGNATURE' })
  })

  it('gives typed errors on garbage, oversize and wrong payload type', async () => {
    const key = await generateKeyPair('Ed25519')
    await assert.rejects(openEnvelope(new Uint8Array([0x0a, 0xff, 0xff, 0x01]), 'd'), { name: 'InvalidEnvelopeError' })
    await assert.rejects(openEnvelope(new Uint8Array(100), 'd', { maxBytes: 10 }), { name: 'MessageTooLargeError' })
    const bytes = await sealEnvelope(key, 'd', TYPE, new Uint8Array([1]))
    await assert.rejects(openEnvelope(bytes, 'd', { payloadType: new TextEncoder().encode('/x') }), { name: 'InvalidEnvelopeError' })
  })
})

describe('protocol ids, topics and regions', () => {
  it('builds protocol ids under /fleetmesh', () => {
    assert.equal(ADMISSION_PROTOCOL, '/fleetmesh/admission/1.0.0')
    assert.equal(DHT_PROTOCOL, '/fleetmesh/kad/1.0.0')
  })

  it('builds and parses region topics', () => {
    assert.equal(offersTopic('u33d'), '/fleetmesh/1/offers/u33d')
    assert.deepEqual(parseRegionTopic(bidsTopic('u33')), { kind: 'bids', region: 'u33' })
    assert.equal(parseRegionTopic('/fleetmesh/1/offers/A!'), undefined)
    assert.throws(() => offersTopic('../x'), { name: 'InvalidRegionError' })
  })

  it('measures shared geohash prefixes', () => {
    assert.equal(commonPrefixLength('u33d', 'u33e'), 3)
    assert.equal(commonPrefixLength('u33d', 'gcpv'), 0)
    assert.throws(() => assertRegion('u33a'), { name: 'InvalidRegionError' }) // 'a' is not in the geohash alphabet
  })
})
