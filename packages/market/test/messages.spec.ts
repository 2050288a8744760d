import assert from 'node:assert/strict'
import { BidderRole, createAuthority, JobMode, MAX_BID_BYTES, MAX_JOB_DEADLINE_MS, MAX_MARKET_DIRECT_BYTES, MAX_OFFER_BYTES, MAX_OFFER_INPUT_RANK, MAX_OFFER_INPUTS, NotAdmittedError } from '@fleetmesh/protocol'
import { createTestIdentity } from '@fleetmesh/test-utils'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { UnknownJobError } from '../src/errors.js'
import { CertificateCache, checkNoBid, ReplayWindow, sealMarketMessage, toTopicValidatorResult, validateMarketMessage, verdictFor } from '../src/messages.js'
import type { MarketValidationContext } from '../src/messages.js'
import type { TestIdentity } from '@fleetmesh/test-utils'
import type { Bid, FleetAuthority, JobOffer, NoBid } from '@fleetmesh/protocol'

describe('market message validators (pure, no network)', function () {
  this.timeout(20_000)
  let authority: FleetAuthority
  let requester: TestIdentity
  let worker: TestIdentity
  let foreignWorker: TestIdentity
  let ctx: (over?: Partial<MarketValidationContext>) => MarketValidationContext

  const offer = (id: TestIdentity, over: Partial<JobOffer> = {}): JobOffer => ({
    jobId: 'job-1',
    requester: id.peerId.toMultihash().bytes,
    modelCid: 'bafymodel',
    mode: JobMode.DATA,
    shardUnits: [100n, 100n],
    maxPricePerUnit: 2,
    deadline: BigInt(Date.now() + 60_000),
    redundancy: 1,
    minReputation: 0,
    region: 'u33d',
    round: 0,
    openShards: [],
    bidWindowMs: 500,
    inputs: [],
    ...over
  })
  const bid = (id: TestIdentity, over: Partial<Bid> = {}): Bid => ({
    jobId: 'job-1', bidder: id.peerId.toMultihash().bytes, pricePerUnit: 1, msPerUnit: 5, setupMs: 0, capacity: 2, modelCached: true, role: BidderRole.STATION, round: 0, addrs: [], ...over
  })

  before(async () => {
    authority = await createAuthority()
    requester = await createTestIdentity(authority, { role: 'station', region: 'u33d' })
    worker = await createTestIdentity(authority, { role: 'station', region: 'u33d' })
    foreignWorker = await createTestIdentity(authority, { role: 'station', region: 'gcpv' })
  })
  beforeEach(() => {
    const replay = new ReplayWindow()
    const certificates = new CertificateCache()
    ctx = (over = {}) => ({ now: Date.now(), trustedAuthorities: [authority.publicKey], replay, certificates, maxBytes: MAX_OFFER_BYTES, expect: ['offer'], region: 'u33d', ...over })
  })

  it('a validated message holds only its own bytes, not the gossip frame it arrived in (a worker keeps up to MAX_KNOWN_OFFERS offers)', async () => {
    const sealed = await sealMarketMessage({ offer: offer(requester) }, requester)
    const frame = new Uint8Array(64 * 1024)
    frame.set(sealed, 100)
    const o = await validateMarketMessage(ctx(), frame.subarray(100, 100 + sealed.byteLength))
    const requesterBytes = o.message.offer?.requester as Uint8Array
    assert.ok(requesterBytes.buffer.byteLength <= sealed.byteLength, `the offer's requester field holds a ${requesterBytes.buffer.byteLength}-byte buffer for a ${sealed.byteLength}-byte message`)
  })

  it('accepts a good offer and a good bid, returning the signer and its certificate', async () => {
    const o = await validateMarketMessage(ctx(), await sealMarketMessage({ offer: offer(requester) }, requester))
    assert.equal(o.kind, 'offer')
    assert.ok(o.signer.equals(requester.peerId))
    assert.equal(o.certificate.region, 'u33d')
    const b = await validateMarketMessage(ctx({ expect: ['bid'], maxBytes: MAX_BID_BYTES }), await sealMarketMessage({ bid: bid(worker) }, worker))
    assert.equal(b.message.bid?.capacity, 2)
  })

  it('rejects a replay of the same signed message', async () => {
    const bytes = await sealMarketMessage({ offer: offer(requester) }, requester)
    const c = ctx()
    await validateMarketMessage(c, bytes)
    await assert.rejects(validateMarketMessage(c, bytes), { name: 'ReplayedMessageError', action: 'ignore' })
    // an honest forwarder may pass a replay on: ignored, not penalised
    assert.equal(verdictFor(await validateMarketMessage(c, bytes).catch(e => e)), 'ignore')
  })

  it('rejects forged messages: another signer than the named requester/bidder, altered bytes', async () => {
    await assert.rejects(validateMarketMessage(ctx(), await sealMarketMessage({ offer: offer(requester) }, worker)), { name: 'SignerMismatchError' })
    await assert.rejects(validateMarketMessage(ctx({ expect: ['bid'] }), await sealMarketMessage({ bid: bid(requester) }, worker)), { name: 'SignerMismatchError' })
    const bytes = await sealMarketMessage({ offer: offer(requester) }, requester)
    const altered = Uint8Array.from(bytes)
    const i = Buffer.from(altered).indexOf('bafymodel')
    altered[i] = 'c'.charCodeAt(0)
    await assert.rejects(validateMarketMessage(ctx(), altered), { name: 'InvalidSignatureError' })
    await assert.rejects(validateMarketMessage(ctx(), new Uint8Array([1, 2, 3])), { name: 'InvalidEnvelopeError' })
  })

  it('rejects wrong certificates: unknown authority, issued to another peer', async () => {
    const rogue = await createAuthority()
    const outsider = await createTestIdentity(rogue, { role: 'station', region: 'u33d' })
    await assert.rejects(validateMarketMessage(ctx(), await sealMarketMessage({ offer: offer(outsider) }, outsider)), { name: 'UnknownAuthorityError' })
    const borrowed = await sealMarketMessage({ offer: offer(worker) }, { privateKey: worker.privateKey, certificate: requester.certificate })
    await assert.rejects(validateMarketMessage(ctx(), borrowed), { name: 'CertificatePeerMismatchError' })
  })

  it('rejects expired messages and messages from too far in the future', async () => {
    const old = await sealMarketMessage({ offer: offer(requester) }, { ...requester, now: Date.now() - 120_000, ttlMs: 60_000 })
    await assert.rejects(validateMarketMessage(ctx(), old), { name: 'MessageExpiredError', action: 'ignore' })
    const future = await sealMarketMessage({ offer: offer(requester) }, { ...requester, now: Date.now() + 3_600_000 })
    await assert.rejects(validateMarketMessage(ctx(), future), { name: 'MessageExpiredError', action: 'ignore' })
    // a deadline beyond the fleet-wide MAX_JOB_DEADLINE_MS is malformed: rejected
    const far = await sealMarketMessage({ offer: { ...offer(requester), deadline: BigInt(Date.now() + MAX_JOB_DEADLINE_MS + 3_600_000) } }, requester)
    await assert.rejects(validateMarketMessage(ctx(), far), { name: 'InvalidMarketMessageError', action: 'reject', message: /MAX_JOB_DEADLINE_MS/ })
    const tooLong = await sealMarketMessage({ offer: offer(requester) }, { ...requester, ttlMs: 24 * 3_600_000 })
    await assert.rejects(validateMarketMessage(ctx(), tooLong), { name: 'InvalidMarketMessageError' })
  })

  it('rejects oversize messages before verifying them', async () => {
    const big = await sealMarketMessage({ offer: offer(requester, { modelCid: 'x'.repeat(MAX_OFFER_BYTES) }) }, requester)
    await assert.rejects(validateMarketMessage(ctx(), big), { name: 'MessageTooLargeError' })
  })

  it('enforces region scoping and message kinds', async () => {
    await assert.rejects(validateMarketMessage(ctx(), await sealMarketMessage({ offer: offer(requester, { region: 'u33e' }) }, requester)), { name: 'RegionMismatchError' })
    await assert.rejects(validateMarketMessage(ctx({ expect: ['bid'] }), await sealMarketMessage({ bid: bid(foreignWorker) }, foreignWorker)), { name: 'RegionMismatchError' })
    await assert.rejects(validateMarketMessage(ctx({ expect: ['bid'] }), await sealMarketMessage({ bid: bid(worker, { role: BidderRole.VEHICLE }) }, worker)), { name: 'InvalidMarketMessageError' })
    await assert.rejects(validateMarketMessage(ctx(), await sealMarketMessage({ bid: bid(worker) }, worker)), { name: 'InvalidMarketMessageError' }, 'a bid on the offers topic')
    await assert.rejects(validateMarketMessage(ctx(), await sealMarketMessage({ offer: offer(requester, { shardUnits: [] }) }, requester)), { name: 'InvalidMarketMessageError' })
    await assert.rejects(validateMarketMessage(ctx(), await sealMarketMessage({ offer: offer(requester, { maxPricePerUnit: Number.NaN }) }, requester)), { name: 'InvalidMarketMessageError' })
  })

  it('offers carry what a worker checks before bidding: model size, largest frame, input shapes (bounded)', async () => {
    const inputs = [{ name: 'x', dtype: 'float32', dims: [1, 3, 48, 320] }, { name: 'scale', dtype: 'int64', dims: [] }]
    const good = await validateMarketMessage(ctx(), await sealMarketMessage({ offer: offer(requester, { modelBytes: 4_700_000n, maxFrameBytes: 184_320n, inputs }) }, requester))
    assert.equal(good.message.offer?.modelBytes, 4_700_000n)
    assert.equal(good.message.offer?.maxFrameBytes, 184_320n)
    assert.deepEqual(good.message.offer?.inputs, inputs)
    const absent = await validateMarketMessage(ctx(), await sealMarketMessage({ offer: offer(requester) }, requester))
    assert.equal(absent.message.offer?.modelBytes, undefined, 'absent when not stated')
    const bad: Array<[string, Partial<JobOffer>]> = [
      ['zero model size', { modelBytes: 0n }],
      ['zero frame size', { maxFrameBytes: 0n }],
      ['model size over 2^53', { modelBytes: 2n ** 60n }],
      ['unknown element type', { inputs: [{ name: 'x', dtype: 'complex128', dims: [1] }] }],
      ['empty input name', { inputs: [{ name: '', dtype: 'float32', dims: [1] }] }],
      ['input name too long', { inputs: [{ name: 'x'.repeat(300), dtype: 'float32', dims: [1] }] }],
      ['an input listed twice', { inputs: [{ name: 'x', dtype: 'float32', dims: [1] }, { name: 'x', dtype: 'float32', dims: [2] }] }],
      ['too many dimensions', { inputs: [{ name: 'x', dtype: 'float32', dims: new Array(MAX_OFFER_INPUT_RANK + 1).fill(1) }] }],
      ['too many inputs', { inputs: Array.from({ length: MAX_OFFER_INPUTS + 1 }, (_, i) => ({ name: `i${i}`, dtype: 'uint8', dims: [1] })) }]
    ]
    for (const [what, over] of bad) {
      await assert.rejects(validateMarketMessage(ctx({ maxBytes: MAX_MARKET_DIRECT_BYTES }), await sealMarketMessage({ offer: offer(requester, over) }, requester)), { name: 'InvalidMarketMessageError' }, what)
    }
  })

  it('NoBid: a good one validates; bad signature, oversize, bad fields, wrong job, unoffered round and foreign worker are typed errors', async () => {
    const noBid = (over: Partial<NoBid> = {}): NoBid => ({ jobId: 'job-1', round: 0, code: 'PRICE', message: 'price 1 over the offer\'s max 0.5 per unit', askPricePerUnit: 1, ...over })
    const direct = (over: Partial<MarketValidationContext> = {}): MarketValidationContext => ctx({ expect: ['noBid'], region: undefined, maxBytes: MAX_MARKET_DIRECT_BYTES, from: worker.peerId, ...over })
    const ok = await validateMarketMessage(direct(), await sealMarketMessage({ noBid: noBid() }, worker))
    assert.equal(ok.kind, 'noBid')
    assert.equal(ok.message.noBid?.askPricePerUnit, 1)
    const job = { jobId: 'job-1', round: 2, region: 'u33d' }
    checkNoBid(ok.message.noBid as NoBid, job, ok.certificate)

    const bytes = await sealMarketMessage({ noBid: noBid({ message: 'price 1 over the max' }) }, worker)
    const altered = Uint8Array.from(bytes)
    altered[Buffer.from(altered).indexOf('over the max')] = 'O'.charCodeAt(0)
    await assert.rejects(validateMarketMessage(direct(), altered), { name: 'InvalidSignatureError' })
    await assert.rejects(validateMarketMessage(direct(), await sealMarketMessage({ noBid: noBid({ message: 'x'.repeat(3000) }) }, worker)), { name: 'MessageTooLargeError' })
    await assert.rejects(validateMarketMessage(direct(), await sealMarketMessage({ noBid: noBid({ code: 'price' }) }, worker)), { name: 'InvalidMarketMessageError' }, 'a code in lower case')
    await assert.rejects(validateMarketMessage(direct(), await sealMarketMessage({ noBid: noBid({ askPricePerUnit: -1 }) }, worker)), { name: 'InvalidMarketMessageError' }, 'a negative ask')
    await assert.rejects(validateMarketMessage(direct({ from: requester.peerId }), await sealMarketMessage({ noBid: noBid() }, worker)), { name: 'SignerMismatchError' })

    const nb = noBid()
    assert.throws(() => { checkNoBid(nb, undefined, ok.certificate) }, { name: 'UnknownJobError', code: 'ERR_UNKNOWN_JOB' })
    assert.throws(() => { checkNoBid(nb, { ...job, jobId: 'job-2' }, ok.certificate) }, { name: 'UnknownJobError' })
    assert.throws(() => { checkNoBid({ ...nb, round: 3 }, job, ok.certificate) }, { name: 'InvalidMarketMessageError' }, 'a round never offered')
    const foreign = await validateMarketMessage(direct({ from: foreignWorker.peerId }), await sealMarketMessage({ noBid: noBid() }, foreignWorker))
    assert.throws(() => { checkNoBid(nb, job, foreign.certificate) }, { name: 'RegionMismatchError' })
    assert.equal(verdictFor(new UnknownJobError('late')), 'ignore', 'a late NoBid is not an attack')
  })

  it('on a direct stream the signer must be the remote peer', async () => {
    const award = { award: { jobId: 'j', leaseId: 'l', shardIndex: 0, replica: 0, units: 1n, pricePerUnit: 1, leaseTimeoutMs: 3000, deadline: 1n, modelCid: 'm', mode: JobMode.DATA, shardCount: 1 } }
    const bytes = await sealMarketMessage(award, requester)
    await assert.rejects(validateMarketMessage(ctx({ expect: ['award'], region: undefined, from: worker.peerId }), bytes), { name: 'SignerMismatchError' })
    const ok = await validateMarketMessage(ctx({ expect: ['award'], region: undefined, from: requester.peerId }), bytes)
    assert.equal(ok.kind, 'award')
  })

  it('maps errors to gossipsub verdicts: ignore for not-admitted, reject otherwise', () => {
    assert.equal(verdictFor(undefined), 'accept')
    assert.equal(verdictFor(new NotAdmittedError('x')), 'ignore')
    assert.equal(verdictFor(new Error('boom')), 'reject')
    assert.equal(toTopicValidatorResult('accept'), TopicValidatorResult.Accept)
    assert.equal(toTopicValidatorResult('ignore'), TopicValidatorResult.Ignore)
    assert.equal(toTopicValidatorResult('reject'), TopicValidatorResult.Reject)
  })

  it('the replay window forgets expired entries and stays bounded', () => {
    const w = new ReplayWindow(10)
    const now = 1000
    for (let i = 0; i < 30; i++) w.record('p', new Uint8Array([i, 1, 2, 3, 4, 5, 6, 7]), i < 20 ? now - 1 : now + 1000, now)
    assert.ok(w.size <= 10, `size ${w.size}`)
    assert.equal(w.has('p', new Uint8Array([29, 1, 2, 3, 4, 5, 6, 7]), now), true)
  })
})
