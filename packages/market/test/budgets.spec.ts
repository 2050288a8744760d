import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ConcurrencyTable, PeerBudgets, RateTable, takeToken } from '../src/budgets.js'
import { MAX_BIDS_PER_JOB } from '../src/constants.js'
import { createJob } from '../src/job.js'
import { KnownOffers } from '../src/known-offers.js'
import { boundLease } from '../src/lease-bounds.js'
import { validationOutcome } from '../src/messages.js'
import { MarketMetrics } from '../src/metrics.js'
import { acceptBid } from '../src/requester-answers.js'
import { RateLimitedError, UnknownJobError } from '../src/errors.js'
import { BidderRole, MessageExpiredError, SignerMismatchError } from '@fleetmesh/protocol'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { MarketContext } from '../src/context.js'
import type { ValidatedMarketMessage } from '../src/messages.js'
import type { JobOffer } from '@fleetmesh/protocol'

const NOW = 1_700_000_000_000

describe('per-peer budgets and bounded tables (pure, no network)', () => {
  it('takeToken: a burst of `burst` tokens, then `perSecond`, the refill capped at the burst', () => {
    const budget = { perSecond: 10, burst: 3 }
    const bucket = { tokens: 3, at: 0 }
    assert.deepEqual([takeToken(bucket, budget, 0), takeToken(bucket, budget, 0), takeToken(bucket, budget, 0), takeToken(bucket, budget, 0)], [true, true, true, false], 'the burst, then none')
    assert.equal(takeToken(bucket, budget, 50), false, 'half a token after 50 ms')
    assert.equal(takeToken(bucket, budget, 100), true, 'one token after 100 ms at 10/s')
    assert.equal(takeToken(bucket, budget, 10_000), true)
    assert.ok(bucket.tokens <= budget.burst, `refill capped at the burst: ${bucket.tokens}`)
    const slow = { perSecond: 0.5, burst: 2 }
    const b = { tokens: 2, at: 0 }
    assert.deepEqual([takeToken(b, slow, 0), takeToken(b, slow, 0), takeToken(b, slow, 0)], [true, true, false])
    assert.equal(takeToken(b, slow, 1000), false, 'half a token after 1 s')
    assert.equal(takeToken(b, slow, 2000), true, 'one token after 2 s')
  })

  it('a rate table spends a burst, refills at its rate and keeps at most maxPeers buckets', () => {
    const t = new RateTable({ perSecond: 10, burst: 5 }, 3)
    for (let i = 0; i < 5; i++) assert.equal(t.take('a', NOW), true, `burst token ${i}`)
    assert.equal(t.take('a', NOW), false, 'over the burst')
    assert.equal(t.take('a', NOW + 100), true, 'one token refilled after 100 ms at 10/s')
    assert.equal(t.take('a', NOW + 100), false)
    assert.equal(t.take('b', NOW), true, 'another peer has its own bucket')
    t.take('c', NOW)
    t.take('d', NOW)
    assert.equal(t.size, 3, 'bounded at maxPeers')
    assert.equal(t.take('a', NOW + 100), true, 'the least recently used peer (a) was forgotten and starts with a full bucket')
    assert.throws(() => new RateTable({ perSecond: 0, burst: 1 }, 1), RangeError)
  })

  it('a concurrency table holds perPeer slots per peer and at most maxPeers peers', () => {
    const t = new ConcurrencyTable(2, 2)
    assert.equal(t.acquire('a'), true)
    assert.equal(t.acquire('a'), true)
    assert.equal(t.acquire('a'), false, 'third stream of one peer refused')
    assert.equal(t.acquire('b'), true)
    assert.equal(t.acquire('c'), false, 'table full: a third peer is refused')
    t.release('b')
    assert.equal(t.size, 1)
    assert.equal(t.acquire('c'), true, 'room again once b released')
    t.release('a'); t.release('a')
    assert.equal(t.held('a'), 0)
  })

  it('PeerBudgets keeps one table per request type', () => {
    const b = new PeerBudgets({ offer: { perSecond: 1, burst: 1 }, bid: { perSecond: 1, burst: 2 }, award: { perSecond: 1, burst: 1 }, noBid: { perSecond: 1, burst: 1 }, direct: { perSecond: 1, burst: 1 }, directConcurrency: 1, maxPeers: 10 })
    assert.equal(b.take('offer', 'p', NOW), true)
    assert.equal(b.take('offer', 'p', NOW), false)
    assert.equal(b.take('bid', 'p', NOW), true, 'bids of the same peer are counted apart')
  })

  it('known offers: at most perRequester per requester (its oldest forgotten) and max in all', async () => {
    const peers = await Promise.all([0, 1, 2].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    const known = new KnownOffers(5, 3)
    const offer = (jobId: string): JobOffer => ({ jobId } as unknown as JobOffer)
    const add = (i: number, jobId: string): string[] => known.set({ offer: offer(jobId), requester: peers[i]!, requesterStr: peers[i]!.toString() })
    for (let j = 0; j < 10; j++) add(0, `flood-${j}`)
    assert.equal(known.countFrom(peers[0]!.toString()), 3, 'one requester keeps only its newest 3')
    assert.equal(known.get('flood-9')?.offer.jobId, 'flood-9')
    assert.equal(known.get('flood-0'), undefined, 'its oldest were forgotten')
    add(1, 'honest-0'); add(1, 'honest-1')
    assert.deepEqual(add(2, 'other-0'), ['flood-7'], 'over max in all: the oldest offer overall goes')
    assert.equal(known.size, 5)
    assert.deepEqual(add(2, 'honest-0'), [], 'a job id stays with its first requester')
    assert.equal(known.get('honest-0')?.requesterStr, peers[1]!.toString())
  })

  it('bidders per job: at most MAX_BIDS_PER_JOB are entered; a known bidder may still bid again', async () => {
    const job = createJob({ modelCid: 'm', shardUnits: [1], maxPricePerUnit: 2 }, { now: Date.now(), region: 'u33d', bidWindowMs: 500 })
    const events: string[] = []
    const ctx = { metrics: new MarketMetrics(), reputation: () => 1, emit: (type: string) => { events.push(type) }, init: {}, components: { connectionManager: { getConnections: () => [] } }, log: Object.assign(() => {}, { error: () => {} }) } as unknown as MarketContext
    const bidFrom = (peer: any, price = 1): ValidatedMarketMessage => ({
      kind: 'bid',
      signer: peer,
      certificate: { region: 'u33d' } as any,
      message: { expiresAt: BigInt(Date.now() + 60_000), bid: { jobId: job.id, bidder: new Uint8Array(), pricePerUnit: price, msPerUnit: 1, setupMs: 0, capacity: 1, modelCached: true, role: BidderRole.STATION, round: 0 } } as any
    })
    const first = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    acceptBid(ctx, job, bidFrom(first))
    for (let i = 1; i < MAX_BIDS_PER_JOB + 10; i++) acceptBid(ctx, job, bidFrom({ toString: () => `peer-${i}` }))
    assert.equal(job.bids.size, MAX_BIDS_PER_JOB, 'bounded')
    assert.equal(job.bids.has('peer-1030'), false, 'late bidders dropped')
    acceptBid(ctx, job, bidFrom(first, 0.5))
    assert.equal(job.bids.get(first.toString())?.pricePerUnit, 0.5, 'a known bidder\'s new bid replaces its old one')
  })

  it('a lease is bounded by the worker: heartbeat timeout capped, life ended by the earliest deadline or maxLeaseLifeMs', () => {
    const limits = { maxLeaseTimeoutMs: 10_000, maxLeaseLifeMs: 60_000, defaultLeaseTimeoutMs: 3000 }
    assert.deepEqual(boundLease({ leaseTimeoutMs: 0xffffffff, deadline: NOW + 3_600_000, offerDeadline: NOW + 3_600_000 }, limits, NOW), { timeoutMs: 10_000, endsAt: NOW + 60_000 })
    assert.deepEqual(boundLease({ leaseTimeoutMs: 0, deadline: NOW + 30_000, offerDeadline: NOW + 20_000 }, limits, NOW), { timeoutMs: 3000, endsAt: NOW + 20_000 }, 'the offer\'s deadline bounds an award that names a later one')
    assert.deepEqual(boundLease({ leaseTimeoutMs: 2000, deadline: NOW + 5000, offerDeadline: NOW + 20_000 }, limits, NOW), { timeoutMs: 2000, endsAt: NOW + 5000 })
    assert.ok('decline' in boundLease({ leaseTimeoutMs: 2000, deadline: NOW - 1, offerDeadline: NOW + 20_000 }, limits, NOW), 'a past deadline is declined')
  })

  it('one mapping from an error to the gossip result, score effect and metric label', () => {
    assert.deepEqual(validationOutcome(undefined), { verdict: 'accept', result: TopicValidatorResult.Accept, score: 'none', code: 'OK' })
    assert.deepEqual(validationOutcome(new RateLimitedError('x')), { verdict: 'ignore', result: TopicValidatorResult.Ignore, score: 'none', code: 'ERR_RATE_LIMITED' })
    assert.deepEqual(validationOutcome(new MessageExpiredError('late', { action: 'ignore' })), { verdict: 'ignore', result: TopicValidatorResult.Ignore, score: 'none', code: 'ERR_MESSAGE_EXPIRED' })
    assert.deepEqual(validationOutcome(new SignerMismatchError('forged')), { verdict: 'reject', result: TopicValidatorResult.Reject, score: 'penalty', code: 'ERR_SIGNER_MISMATCH' })
    assert.equal(validationOutcome(new UnknownJobError('late')).verdict, 'ignore')
    assert.deepEqual(validationOutcome(Object.assign(new Error('boom'), { code: 'ERR_SOMETHING_ELSE' })), { verdict: 'reject', result: TopicValidatorResult.Reject, score: 'penalty', code: 'ERR_UNKNOWN' }, 'unknown codes get the bounded label')
  })

  it('metrics: counters registered through the metrics component, labelled from fixed enums', () => {
    const groups = new Map<string, { label?: string, counts: Record<string, number> }>()
    const metrics = {
      registerCounterGroup: (name: string, options: { label?: string }) => {
        const g = { label: options.label, counts: {} as Record<string, number> }
        groups.set(name, g)
        return { increment: (values: Record<string, number | true>) => { for (const [k, v] of Object.entries(values)) g.counts[k] = (g.counts[k] ?? 0) + (v === true ? 1 : v) }, reset: () => {} }
      }
    }
    const m = new MarketMetrics(metrics as any)
    m.offer('received'); m.offer('received'); m.bid('sent'); m.award('declined'); m.leaseEnded('expired')
    m.gossipValidation('offer', 'ignore', 'ERR_RATE_LIMITED')
    assert.deepEqual([...groups.keys()].sort(), ['fleetmesh_market_awards_total', 'fleetmesh_market_bids_total', 'fleetmesh_market_direct_refused_total', 'fleetmesh_market_gossip_validation_total', 'fleetmesh_market_leases_ended_total', 'fleetmesh_market_offers_total'])
    assert.deepEqual(groups.get('fleetmesh_market_offers_total')?.counts, { received: 2 })
    assert.deepEqual(groups.get('fleetmesh_market_leases_ended_total')?.counts, { expired: 1 })
    assert.deepEqual(groups.get('fleetmesh_market_gossip_validation_total')?.counts, { 'offers:ignore:ERR_RATE_LIMITED': 1 })
    new MarketMetrics(undefined).offer('published') // no metrics component: a no-op
  })
})
