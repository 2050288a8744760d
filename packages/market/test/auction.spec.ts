import assert from 'node:assert/strict'
import { ineligibility, planAwards, rankBids, scoreBid, shouldAwardEarly } from '../src/auction.js'
import type { AuctionBid, AuctionTerms } from '../src/auction.js'

const NOW = 1_000_000
const terms: AuctionTerms = { shardUnits: [100, 100, 50], maxPricePerUnit: 2, minReputation: 0.5, deadline: NOW + 10_000, submittedAt: NOW, region: 'u33d' }

function bid (bidder: string, over: Partial<AuctionBid> = {}): AuctionBid {
  return { bidder, pricePerUnit: 1, msPerUnit: 10, setupMs: 0, capacity: 1, modelCached: true, role: 'station', region: 'u33d', rttMs: 0, reputation: 1, expiresAt: NOW + 60_000, ...over }
}

describe('auction core (pure)', () => {
  it('scores by the documented formula', () => {
    const b = bid('a', { pricePerUnit: 1, msPerUnit: 10, setupMs: 200, rttMs: 50, reputation: 0.8 })
    // price 1/2 + latency (200 + 10*100 + 50)/10000 + reputation (1-0.8)
    const expected = 0.5 + 1250 / 10_000 + 0.2
    assert.ok(Math.abs(scoreBid(terms, b, 100) - expected) < 1e-12, `score ${scoreBid(terms, b, 100)} != ${expected}`)
    const weighted = scoreBid(terms, b, 100, { weights: { price: 2, latency: 0, reputation: 10 } })
    assert.ok(Math.abs(weighted - (1 + 2)) < 1e-12)
    assert.equal(scoreBid(terms, bid('x', { rttMs: undefined }), 100, { unknownRttMs: 1000 }), scoreBid(terms, bid('x', { rttMs: 1000 }), 100))
  })

  it('reports why a bid is not eligible', () => {
    assert.equal(ineligibility(terms, bid('a', { pricePerUnit: 3 }), NOW), 'over max price')
    assert.equal(ineligibility(terms, bid('a', { reputation: 0.4 }), NOW), 'below min reputation')
    assert.equal(ineligibility(terms, bid('a', { expiresAt: NOW - 1 }), NOW), 'bid expired')
    assert.equal(ineligibility(terms, bid('a', { region: 'u33e' }), NOW), 'other region')
    assert.equal(ineligibility(terms, bid('a'), NOW), undefined)
  })

  it('awards each shard to the best bid, up to each bidder capacity, largest shard first', () => {
    const bids = [
      bid('cheap', { pricePerUnit: 0.5, capacity: 2 }),
      bid('mid', { pricePerUnit: 1 }),
      bid('dear', { pricePerUnit: 1.9 }),
      bid('greedy', { pricePerUnit: 5, capacity: 10 })
    ]
    const plan = planAwards({ terms, bids, open: [0, 1, 2].map(i => ({ shardIndex: i, replica: 0 })), now: NOW })
    assert.deepEqual(plan.unplaced, [])
    const byShard = Object.fromEntries(plan.awards.map(a => [a.shardIndex, a.bidder]))
    // shards 0 and 1 (100 units) are placed first: cheap takes both (capacity 2); shard 2 goes to mid
    assert.deepEqual(byShard, { 0: 'cheap', 1: 'cheap', 2: 'mid' })
    assert.equal(plan.awards.find(a => a.shardIndex === 2)?.pricePerUnit, 1)
  })

  it('is deterministic: input order does not matter and ties break by PeerId', () => {
    const bids = ['12D3KooWz', '12D3KooWa', '12D3KooWm'].map(b => bid(b))
    const open = [{ shardIndex: 2, replica: 0 }, { shardIndex: 0, replica: 0 }, { shardIndex: 1, replica: 0 }]
    const p1 = planAwards({ terms, bids, open, now: NOW })
    const p2 = planAwards({ terms, bids: [...bids].reverse(), open: [...open].reverse(), now: NOW })
    assert.deepEqual(p1, p2)
    assert.equal(p1.awards[0]?.bidder, '12D3KooWa', 'equal scores: lowest PeerId first')
    assert.deepEqual(rankBids(terms, bids, 100, NOW).map(r => r.bid.bidder), ['12D3KooWa', '12D3KooWm', '12D3KooWz'])
  })

  it('re-award: skips excluded bidders, counts held slots, and never puts two replicas of a shard on one bidder', () => {
    const t = { ...terms, shardUnits: [100] }
    const bids = [bid('a', { capacity: 5 }), bid('b', { capacity: 1, pricePerUnit: 1.5 }), bid('c', { pricePerUnit: 1.8, capacity: 5 })]
    const plan = planAwards({
      terms: t,
      bids,
      open: [{ shardIndex: 0, replica: 1 }, { shardIndex: 0, replica: 2 }],
      shardHolders: { 0: ['a'] },
      excluded: ['b'],
      now: NOW
    })
    assert.deepEqual(plan.awards.map(a => [a.replica, a.bidder]), [[1, 'c']])
    assert.equal(plan.unplaced.length, 1)
    assert.match(plan.unplaced[0]?.reason ?? '', /replica/)
    const held = planAwards({ terms: t, bids: [bid('a', { capacity: 1 })], open: [{ shardIndex: 0, replica: 0 }], held: { a: 1 }, now: NOW })
    assert.equal(held.awards.length, 0)
    assert.match(held.unplaced[0]?.reason ?? '', /capacity/)
  })

  it('names what could not be placed and why', () => {
    const none = planAwards({ terms, bids: [], open: [{ shardIndex: 0, replica: 0 }], now: NOW })
    assert.deepEqual(none.unplaced, [{ shardIndex: 0, replica: 0, reason: 'no bids' }])
    const dear = planAwards({ terms, bids: [bid('a', { pricePerUnit: 9 }), bid('b', { region: 'gcpv' })], open: [{ shardIndex: 1, replica: 0 }], now: NOW })
    assert.match(dear.unplaced[0]?.reason ?? '', /1× over max price, 1× other region/)
  })

  it('prefers a faster bidder for a big shard when prices are equal (latency term)', () => {
    const t = { ...terms, shardUnits: [1000] }
    const plan = planAwards({ terms: t, bids: [bid('slow', { msPerUnit: 5, setupMs: 0 }), bid('fast', { msPerUnit: 1, setupMs: 2000 })], open: [{ shardIndex: 0, replica: 0 }], now: NOW })
    // slow: 5000 ms; fast: 2000 + 1000 = 3000 ms
    assert.equal(plan.awards[0]?.bidder, 'fast')
  })

  describe('shouldAwardEarly', () => {
    const open = [{ shardIndex: 0, replica: 0 }, { shardIndex: 1, replica: 0 }, { shardIndex: 2, replica: 0 }]
    const base = { terms, open, now: NOW }

    it('waits until minBids (default: the shard count) acceptable bids place every open slot', () => {
      assert.deepEqual(shouldAwardEarly({ ...base, bids: [bid('a'), bid('b')] }), { award: false, reason: 'waiting', acceptable: 2 })
      assert.deepEqual(shouldAwardEarly({ ...base, bids: [bid('a'), bid('b'), bid('c')] }), { award: true, reason: 'enough-bids', acceptable: 3 })
      assert.equal(shouldAwardEarly({ ...base, bids: [bid('a'), bid('b'), bid('c')], minBids: 4 }).award, false, 'minBids above the shard count waits for more')
      assert.equal(shouldAwardEarly({ ...base, bids: [bid('a', { capacity: 3 })], minBids: 1 }).award, true, 'one bidder with room for every shard')
      assert.equal(shouldAwardEarly({ ...base, bids: [bid('a'), bid('b'), bid('c')], minBids: 1, open: [...open, { shardIndex: 0, replica: 1 }, { shardIndex: 1, replica: 1 }, { shardIndex: 2, replica: 1 }, { shardIndex: 0, replica: 2 }] }).award, false, 'bids that cannot place every slot are not enough')
    })

    it('counts only bids better than the reserve: within max price and min reputation, unexpired, same region, not excluded', () => {
      const bad = [bid('p', { pricePerUnit: 3 }), bid('r', { reputation: 0.2 }), bid('e', { expiresAt: NOW - 1 }), bid('g', { region: 'gcpv' }), bid('x')]
      const d = shouldAwardEarly({ ...base, bids: [bid('a'), bid('b'), ...bad], excluded: ['x'] })
      assert.deepEqual(d, { award: false, reason: 'waiting', acceptable: 2 })
    })

    it('waits while a bidder\'s RTT is being measured (its score is not final)', () => {
      const bids = [bid('a'), bid('b'), bid('c')]
      assert.equal(shouldAwardEarly({ ...base, bids, pendingRtt: ['c'] }).award, false)
      assert.equal(shouldAwardEarly({ ...base, bids, pendingRtt: ['z'] }).award, true, 'a pending RTT of someone who did not bid does not matter')
    })

    it('awards once every region peer bid or refused, even below minBids: no more answers are coming', () => {
      assert.deepEqual(shouldAwardEarly({ ...base, bids: [bid('a')], regionPeers: ['a', 'b', 'c'], refused: ['b'] }), { award: false, reason: 'waiting', acceptable: 1 })
      assert.deepEqual(shouldAwardEarly({ ...base, bids: [bid('a')], regionPeers: ['a', 'b', 'c'], refused: ['b', 'c'] }), { award: true, reason: 'all-answered', acceptable: 1 })
      assert.equal(shouldAwardEarly({ ...base, bids: [], regionPeers: [] }).award, false, 'no region peers known: wait for the window')
    })

    it('is deterministic: the order of bids does not matter', () => {
      const bids = [bid('c'), bid('a', { pricePerUnit: 1.5 }), bid('b')]
      assert.deepEqual(shouldAwardEarly({ ...base, bids }), shouldAwardEarly({ ...base, bids: [...bids].reverse() }))
    })
  })
})
