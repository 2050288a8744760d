import assert from 'node:assert/strict'
import {
  BidderRole, createAuthority, JobMode, MARKET_DOMAIN, MARKET_PAYLOAD_TYPE, MarketMessage, MAX_MARKET_DIRECT_BYTES, MAX_OFFER_BYTES, sealEnvelope
} from '@fleetmesh/protocol'
import { createTestIdentity } from '@fleetmesh/test-utils'
import fc from 'fast-check'
import { multiaddr } from '@multiformats/multiaddr'
import { CertificateCache, checkBidFields, checkNoBidFields, checkOfferFields, checkOfferInputs, MARKET_BODY_KINDS, ReplayWindow, sealMarketMessage, validateMarketMessage } from '../src/messages.js'
import type { MarketBody, MarketValidationContext } from '../src/messages.js'
import type { FleetAuthority } from '@fleetmesh/protocol'
import type { TestIdentity } from '@fleetmesh/test-utils'

/** Runs per property: bounded in `npm test`; `npm run fuzz` sets FUZZ_RUNS for a long run. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 100)

/** A refusal is a typed fleetmesh error: a stable ERR_ code and a class name, never a TypeError or RangeError from deep inside. */
function assertTyped (err: any): void {
  assert.ok(typeof err?.code === 'string' && /^ERR_[A-Z_]+$/.test(err.code) && typeof err.name === 'string' && err.name !== 'Error', `untyped ${err?.name}: ${err?.message}`)
}

const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const str = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ minLength: 250, maxLength: 300 }))
const num = fc.oneof(fc.double(), fc.integer({ min: -5, max: 100 }))
const bytes = fc.uint8Array({ maxLength: 64 })
const offerInput = fc.record({ name: str, dtype: fc.oneof(fc.constantFrom('float32', 'int64', 'uint8'), str), dims: fc.array(u32, { maxLength: 10 }) })

/** Offers, bids, awards, heartbeats and NoBids with fields anywhere in their wire ranges (and the requester / bidder given). */
function bodies (self: () => Uint8Array): fc.Arbitrary<MarketBody> {
  const now = Date.now()
  const deadline = fc.oneof(u64, fc.integer({ min: now - 10_000, max: now + 10 * 60_000 }).map(BigInt))
  return fc.oneof(
    fc.record({
      jobId: str,
      requester: fc.oneof(bytes, fc.constant(null)),
      modelCid: str,
      mode: fc.constantFrom(JobMode.DATA, JobMode.PIPELINE, JobMode.MODE_UNSPECIFIED),
      shardUnits: fc.array(u64, { maxLength: 8 }),
      maxPricePerUnit: num,
      deadline,
      redundancy: u32,
      minReputation: num,
      region: fc.constantFrom('u33d', 'gcpv', ''),
      round: u32,
      openShards: fc.array(u32, { maxLength: 4 }),
      bidWindowMs: u32,
      modelBytes: fc.option(u64, { nil: undefined }),
      maxFrameBytes: fc.option(u64, { nil: undefined }),
      inputs: fc.array(offerInput, { maxLength: 4 }),
      jurisdiction: fc.option(fc.constantFrom('eu', 'us-ca', '', 'EU!', 'x'.repeat(40)), { nil: undefined })
    }).map(o => ({ offer: { ...o, requester: o.requester ?? self() } })),
    fc.record({
      jobId: str,
      bidder: fc.oneof(bytes, fc.constant(null)),
      pricePerUnit: num,
      msPerUnit: num,
      setupMs: u32,
      capacity: u32,
      modelCached: fc.boolean(),
      role: fc.constantFrom(BidderRole.STATION, BidderRole.VEHICLE, BidderRole.BIDDER_ROLE_UNSPECIFIED),
      round: u32,
      // real multiaddrs, garbage and oversized ones, up to past MAX_BID_ADDRS
      addrs: fc.array(fc.oneof(fc.constant(multiaddr('/ip4/127.0.0.1/tcp/4001').bytes), bytes, fc.uint8Array({ minLength: 129, maxLength: 200 })), { maxLength: 10 })
    }).map(b => ({ bid: { ...b, bidder: b.bidder ?? self() } })),
    fc.record({
      jobId: str,
      leaseId: str,
      shardIndex: u32,
      replica: u32,
      units: u64,
      pricePerUnit: num,
      leaseTimeoutMs: u32,
      deadline: u64,
      modelCid: str,
      mode: fc.constantFrom(JobMode.DATA, JobMode.PIPELINE),
      shardCount: u32
    }).map(award => ({ award })),
    fc.record({ leaseIds: fc.array(str, { maxLength: 70 }) }).map(heartbeat => ({ heartbeat })),
    fc.record({ jobId: str, round: u32, code: fc.oneof(fc.constantFrom('BUSY', 'PRICE', 'A_B'), str), message: str, askPricePerUnit: fc.option(num, { nil: undefined }) }).map(noBid => ({ noBid })),
    fc.record({ jobId: str, leaseId: str, reason: str }).map(cancel => ({ cancel }))
  ) as fc.Arbitrary<MarketBody>
}

describe('fuzz: market message decoding and validation', function () {
  this.timeout(120_000 + RUNS * 100)
  let authority: FleetAuthority
  let member: TestIdentity
  let ctx: (over?: Partial<MarketValidationContext>) => MarketValidationContext
  let replay: ReplayWindow
  let certificates: CertificateCache

  before(async () => {
    authority = await createAuthority()
    member = await createTestIdentity(authority, { role: 'station', region: 'u33d' })
  })
  beforeEach(() => {
    replay = new ReplayWindow(1000)
    certificates = new CertificateCache(100)
    ctx = (over = {}) => ({ now: Date.now(), trustedAuthorities: [authority.publicKey], replay, certificates, maxBytes: MAX_MARKET_DIRECT_BYTES, expect: MARKET_BODY_KINDS, region: 'u33d', ...over })
  })

  it('random bytes are refused with a typed error and leave no replay entry', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 4000 }), async (input) => {
      await validateMarketMessage(ctx(), input).then(() => { assert.fail('random bytes validated') }, assertTyped)
    }), { numRuns: RUNS })
    assert.equal(replay.size, 0, 'nothing was recorded')
  })

  it('a member\'s signature over random payload bytes is refused with a typed error', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), async (payload) => {
      const sealed = await sealEnvelope(member.privateKey, MARKET_DOMAIN, MARKET_PAYLOAD_TYPE, payload)
      await validateMarketMessage(ctx(), sealed).then((v) => {
        // a few random payloads decode to a message with one body: it must still have passed every check
        assert.ok(MARKET_BODY_KINDS.includes(v.kind))
      }, assertTyped)
    }), { numRuns: RUNS })
  })

  it('signed messages with fields anywhere in their wire ranges are accepted only when every check holds; refusals are typed; the replay window grows by one per acceptance', async () => {
    const self = (): Uint8Array => member.peerId.toMultihash().bytes
    let accepted = 0
    await fc.assert(fc.asyncProperty(bodies(self), fc.integer({ min: -120_000, max: 120_000 }), fc.integer({ min: -1000, max: 120_000 }), async (body, issuedOffset, ttlMs) => {
      const sealed = await sealMarketMessage(body, { ...member, now: Date.now() + issuedOffset, ttlMs })
      const before = replay.size
      await validateMarketMessage(ctx({ maxBytes: 'offer' in body ? MAX_OFFER_BYTES : MAX_MARKET_DIRECT_BYTES }), sealed).then((v) => {
        accepted++
        assert.equal(replay.size, before + 1, 'an accepted message is recorded once')
        if (v.message.offer != null) checkOfferFields(v.message.offer, Date.now() - 5000)
        if (v.message.bid != null) checkBidFields(v.message.bid)
        if (v.message.noBid != null) checkNoBidFields(v.message.noBid)
      }, (err) => {
        assertTyped(err)
        assert.equal(replay.size, before, 'a refused message is not recorded')
      })
    }), { numRuns: RUNS })
    assert.ok(replay.size <= 1000, 'the replay window stays within its bound')
    // the acceptance path, whatever the draws: a well-formed award passes
    const before = replay.size
    await validateMarketMessage(ctx(), await sealMarketMessage({ award: { jobId: 'j', leaseId: 'l', shardIndex: 0, replica: 0, units: 1n, pricePerUnit: 1, leaseTimeoutMs: 0, deadline: 0n, modelCid: 'm', mode: JobMode.DATA, shardCount: 1 } }, member))
    assert.equal(replay.size, before + 1, `recorded (${accepted} generated messages passed too)`)
  })

  it('a valid message with one byte changed is refused with a typed error, or (a tag byte the decoder reads alike) carries exactly what was signed', async () => {
    const offer: MarketBody = {
      offer: {
        jobId: 'j',
        requester: member.peerId.toMultihash().bytes,
        modelCid: 'bafymodel',
        mode: JobMode.DATA,
        shardUnits: [1n],
        maxPricePerUnit: 1,
        deadline: BigInt(Date.now() + 60_000),
        redundancy: 1,
        minReputation: 0,
        region: 'u33d',
        round: 0,
        openShards: [],
        bidWindowMs: 300,
        inputs: []
      }
    }
    const good = await sealMarketMessage(offer, member)
    const original = await validateMarketMessage(ctx({ replay: new ReplayWindow(10) }), good)
    await fc.assert(fc.asyncProperty(fc.nat(good.byteLength - 1), fc.integer({ min: 1, max: 255 }), async (at, delta) => {
      const mutated = Uint8Array.from(good)
      mutated[at] = ((mutated[at] as number) + delta) % 256
      await validateMarketMessage(ctx({ replay: new ReplayWindow(10) }), mutated).then((v) => {
        // the signature covers domain, payload type and payload, not the envelope's framing
        assert.ok(v.signer.equals(original.signer), `byte ${at} changed the signer and the message still validated`)
        assert.deepEqual(v.message, original.message, `byte ${at} changed the message and it still validated`)
      }, assertTyped)
    }), { numRuns: RUNS })
  })

  it('MarketMessage.decode with the validator\'s limits throws or decodes, never hangs, on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 5000 }), (input) => {
      try {
        const m = MarketMessage.decode(input, { limits: { offer: { shardUnits: 64, openShards: 64, inputs: 16 }, heartbeat: { leaseIds: 64 } } } as any)
        assert.ok(m.nonce instanceof Uint8Array)
      } catch (err: any) {
        assert.ok(err instanceof Error)
      }
    }), { numRuns: RUNS * 10 })
  })

  it('the field checks refuse wire-typed fields anywhere in their ranges with InvalidMarketMessageError only; checkOfferInputs takes any value', () => {
    const offer = fc.record({
      jobId: str,
      requester: bytes,
      modelCid: str,
      mode: u32,
      shardUnits: fc.array(u64, { maxLength: 70 }),
      maxPricePerUnit: num,
      deadline: u64,
      redundancy: u32,
      minReputation: num,
      region: str,
      round: u32,
      openShards: fc.array(u32, { maxLength: 3 }),
      bidWindowMs: u32,
      modelBytes: fc.option(u64, { nil: undefined }),
      maxFrameBytes: fc.option(u64, { nil: undefined }),
      inputs: fc.array(offerInput, { maxLength: 20 }),
      jurisdiction: fc.option(str, { nil: undefined })
    })
    const bid = fc.record({ jobId: str, bidder: bytes, pricePerUnit: num, msPerUnit: num, setupMs: u32, capacity: u32, modelCached: fc.boolean(), role: u32, round: u32 })
    const noBid = fc.record({ jobId: str, round: u32, code: str, message: str, askPricePerUnit: fc.option(num, { nil: undefined }) })
    const inputs = fc.oneof(fc.array(fc.oneof(offerInput, fc.anything({ maxDepth: 2 })), { maxLength: 5 }), fc.array(offerInput, { maxLength: 20 }))
    fc.assert(fc.property(offer, inputs, bid, noBid, (o, i, b, n) => {
      for (const check of [() => { checkOfferFields(o as any, Date.now()) }, () => { checkOfferInputs('spec', i as any) }, () => { checkBidFields(b as any) }, () => { checkNoBidFields(n) }]) {
        try { check() } catch (err: any) { assert.equal(err?.code, 'ERR_INVALID_MARKET_MESSAGE', `${err?.name}: ${err?.message}`) }
      }
    }), { numRuns: RUNS * 5 })
  })
})
