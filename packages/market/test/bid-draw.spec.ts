import assert from 'node:assert/strict'
import { bidDraw, bidDrawn, bidShare, bidsWantedFor, estimateRegionWorkers } from '../src/bid-draw.js'
import { MAX_BIDS_WANTED, MIN_BIDS_WANTED } from '../src/constants.js'
import { RegionWorkerEstimates } from '../src/region-workers.js'
import type { Job } from '../src/job.js'

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `12D3KooWworker${i}`)

describe('bid sampling (pure)', () => {
  it('bidShare: every worker bids unless the offer asks for fewer bids than the region has workers', () => {
    assert.equal(bidShare({}), 1, 'no sample stated')
    assert.equal(bidShare({ bidsWanted: 0, regionWorkers: 90 }), 1, 'bidsWanted 0')
    assert.equal(bidShare({ bidsWanted: 8, regionWorkers: 0 }), 1, 'no estimate')
    assert.equal(bidShare({ bidsWanted: 8, regionWorkers: 8 }), 1, 'as many wanted as there are workers')
    assert.equal(bidShare({ bidsWanted: 8, regionWorkers: 90 }), 8 / 90)
  })

  it('bidDraw is a deterministic number in [0, 1), new for each round, spread evenly', () => {
    assert.equal(bidDraw('job-1', 0, 'peer-a'), bidDraw('job-1', 0, 'peer-a'), 'same inputs, same draw')
    assert.notEqual(bidDraw('job-1', 0, 'peer-a'), bidDraw('job-1', 1, 'peer-a'), 'a re-offer round draws again')
    assert.notEqual(bidDraw('job-1', 0, 'peer-a'), bidDraw('job-2', 0, 'peer-a'), 'another job draws again')
    const draws = names(2000).map(n => bidDraw('job-1', 0, n))
    for (const d of draws) assert.ok(d >= 0 && d < 1, `draw ${d} in [0, 1)`)
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length
    assert.ok(Math.abs(mean - 0.5) < 0.03, `mean draw ${mean} near 0.5`)
    for (let q = 0; q < 4; q++) {
      const inQuarter = draws.filter(d => d >= q / 4 && d < (q + 1) / 4).length
      assert.ok(inQuarter > 400 && inQuarter < 600, `quarter ${q} holds ${inQuarter} of 2000 draws`)
    }
  })

  it('bidDrawn draws about bidsWanted of a large region, and every worker of a small one', () => {
    const region = names(900)
    const drawn = region.filter(n => bidDrawn({ jobId: 'job-1', round: 0, bidsWanted: 80, regionWorkers: 900 }, n))
    assert.ok(drawn.length >= 50 && drawn.length <= 110, `${drawn.length} of 900 drawn for 80 wanted`)
    assert.deepEqual(drawn, region.filter(n => bidDraw('job-1', 0, n) < 80 / 900), 'drawn exactly when the draw is below the share')
    assert.equal(names(6).filter(n => bidDrawn({ jobId: 'job-1', round: 0, bidsWanted: 8, regionWorkers: 6 }, n)).length, 6, 'a region smaller than bidsWanted: all bid')
    assert.equal(names(50).filter(n => bidDrawn({ jobId: 'job-1', round: 0 }, n)).length, 50, 'an offer without a sample: all bid')
  })

  it('bidsWantedFor: four per slot, at least MIN_BIDS_WANTED, doubled per re-offer round, capped; the spec wins; 0 means every bid', () => {
    assert.equal(bidsWantedFor(2, 0), MIN_BIDS_WANTED)
    assert.equal(bidsWantedFor(6, 0), 24)
    assert.equal(bidsWantedFor(2, 1), 2 * MIN_BIDS_WANTED)
    assert.equal(bidsWantedFor(2, 3), 8 * MIN_BIDS_WANTED)
    assert.equal(bidsWantedFor(2, 40), MAX_BIDS_WANTED)
    assert.equal(bidsWantedFor(2, 0, 3), 3)
    assert.equal(bidsWantedFor(2, 2, 3), 12)
    assert.equal(bidsWantedFor(2, 2, 0), 0)
  })

  it('estimateRegionWorkers scales the bidders heard by the share drawn', () => {
    assert.equal(estimateRegionWorkers({ bidsWanted: 8, regionWorkers: 90 }, 8), 90)
    assert.equal(estimateRegionWorkers({ bidsWanted: 8, regionWorkers: 90 }, 10), 113)
    assert.equal(estimateRegionWorkers({}, 12), 12, 'every worker bid: the count is exact')
    assert.equal(estimateRegionWorkers({ bidsWanted: 8, regionWorkers: 90 }, 0), undefined)
  })

  it('RegionWorkerEstimates: admitted peers first, then what sampled offers taught, averaged', () => {
    const est = new RegionWorkerEstimates()
    const job = (round: number): Job => ({ region: 'u33d', round, slots: [{}, {}] }) as unknown as Job
    assert.equal(est.get('u33d', 0), undefined, 'nothing known')
    const first = job(0)
    assert.deepEqual(est.sampleFor(first, 2, 27), { bidsWanted: 8, regionWorkers: 27 }, 'first guess: the admitted peers of the region')
    for (const n of names(24)) first.sample?.bidders.add(n)
    est.learn(first)
    assert.equal(est.get('u33d', 27), 81, '24 bids at share 8/27')
    const second = job(0)
    assert.deepEqual(est.sampleFor(second, 2, 27), { bidsWanted: 8, regionWorkers: 81 })
    for (const n of names(10)) second.sample?.bidders.add(n)
    est.learn(second)
    assert.equal(est.get('u33d', 27), Math.ceil((81 + 102) / 2), 'averaged with the estimate held')
    const reoffer = job(1)
    assert.deepEqual(est.sampleFor(reoffer, 1, 27), { bidsWanted: 16, regionWorkers: 92 }, 're-offer: twice the bids')
    assert.equal(reoffer.sample, undefined, 'only the first round is learned from')
    const everyBid = { ...job(0), bidsWanted: 0 } as unknown as Job
    assert.deepEqual(est.sampleFor(everyBid, 2, 27), {}, 'bidsWanted 0: no sample')
  })
})
