import assert from 'node:assert/strict'
import { everyWorkerRefused, explainNoBids, formatBytes, refusalCategory } from '../src/no-bids.js'
import type { NoBidsInput, Refusal } from '../src/no-bids.js'

const base: NoBidsInput = { region: 'u33e', maxPricePerUnit: 0.5, minReputation: 0.8, regionPeers: [], refusals: [] }
const refusal = (worker: string, code: string, message = code.toLowerCase(), askPricePerUnit?: number): Refusal => askPricePerUnit == null ? { worker, code, message } : { worker, code, message, askPricePerUnit }

describe('explainNoBids (pure)', () => {
  it('no-workers: nobody in the region, or nobody there answered', () => {
    assert.deepEqual(explainNoBids(base), { reason: 'no-workers', message: 'no worker in region u33e' })
    const silent = explainNoBids({ ...base, regionPeers: ['a', 'b'] })
    assert.equal(silent.reason, 'no-workers')
    assert.match(silent.message, /no worker in region u33e answered the offer \(2 admitted peer\(s\)/)
    const excluded = explainNoBids({ ...base, regionPeers: [], excluded: 1 })
    assert.equal(excluded.reason, 'no-workers')
    assert.match(excluded.message, /no other worker in region u33e took the shard \(1 worker left out/)
  })

  it('funds: the requester cannot pay the maximum cost; it comes before price, and a grant is what to ask for', () => {
    const e = explainNoBids({ ...base, regionPeers: ['a', 'b'], refusals: [refusal('a', 'FUNDS', 'requester x cannot pay the job\'s maximum cost of 60 credits'), refusal('b', 'PRICE', 'ask', 1)] })
    assert.equal(e.reason, 'funds')
    assert.match(e.message, /^1 worker in region u33e sees too little spendable credit for the job's maximum cost \(requester x cannot pay the job's maximum cost of 60 credits\); ask the fleet authority for a grant/)
    assert.match(e.message, /other refusals: 1 price$/)
    assert.equal(refusalCategory('FUNDS'), 'funds')
    assert.equal(everyWorkerRefused({ regionPeers: ['a'], refusals: [refusal('a', 'FUNDS')] }), true, 'funds do not clear by waiting: fail fast')
  })

  it('price: names the lowest ask and the maximum to raise', () => {
    const e = explainNoBids({ ...base, regionPeers: ['a', 'b'], refusals: [refusal('a', 'PRICE', 'ask', 1.25), refusal('b', 'PRICE', 'ask', 1)] })
    assert.equal(e.reason, 'price')
    assert.equal(e.lowestAsk, 1)
    assert.equal(e.message, 'lowest ask 1.0 > maxPricePerUnit 0.5 (2 workers in region u33e); raise maxPricePerUnit to 1.0')
    const noAsk = explainNoBids({ ...base, refusals: [refusal('a', 'PRICE')] })
    assert.equal(noAsk.lowestAsk, undefined)
    assert.match(noAsk.message, /1 worker in region u33e asks more than maxPricePerUnit 0\.5/)
  })

  it('reputation', () => {
    const e = explainNoBids({ ...base, refusals: [refusal('a', 'REPUTATION'), refusal('b', 'REPUTATION')] })
    assert.deepEqual(e, { reason: 'reputation', message: '2 workers in region u33e are below minReputation 0.8; lower minReputation' })
  })

  it('limits: model too large, input too large, invalid model, unsupported, deadline', () => {
    const model = explainNoBids({ ...base, modelBytes: 120_000_000, refusals: ['a', 'b', 'c'].map(w => refusal(w, 'MODEL_TOO_LARGE')) })
    assert.equal(model.reason, 'limits')
    assert.match(model.message, /^model 120 MB over every bidder's store budget \(3 workers\)/)
    const input = explainNoBids({ ...base, maxFrameBytes: 80_000_000, refusals: [refusal('a', 'INPUT_TOO_LARGE'), refusal('b', 'MODEL_TOO_LARGE')] })
    assert.equal(input.reason, 'limits')
    assert.match(input.message, /^the model over the store budget of 1 worker; /, 'a tie goes to the model size (not stated in this offer)')
    const frame = explainNoBids({ ...base, maxFrameBytes: 80_000_000, refusals: [refusal('a', 'INPUT_TOO_LARGE'), refusal('b', 'INPUT_TOO_LARGE')] })
    assert.match(frame.message, /^micro-batch input 80 MB over every bidder's frame limit \(2 workers\); use smaller micro-batches/)
    const invalid = explainNoBids({ ...base, refusals: [refusal('a', 'MODEL_INVALID', 'custom op com.example.Foo')] })
    assert.match(invalid.message, /^1 worker refused the model as invalid: custom op com\.example\.Foo/)
    const unsupported = explainNoBids({ ...base, refusals: [refusal('a', 'UNSUPPORTED', 'no pipeline stages here')] })
    assert.match(unsupported.message, /^1 worker cannot serve this job: no pipeline stages here/)
    const late = explainNoBids({ ...base, refusals: [refusal('a', 'DEADLINE')] })
    assert.equal(late.reason, 'limits')
    assert.match(late.message, /give it a later deadline/)
  })

  it('busy: at capacity, draining, unavailable; and usable bids that could not take a shard', () => {
    const e = explainNoBids({ ...base, refusals: [refusal('a', 'BUSY'), refusal('b', 'DRAINING'), refusal('c', 'UNAVAILABLE')] })
    assert.equal(e.reason, 'busy')
    assert.equal(e.message, 'every worker that answered in region u33e is busy (1 at capacity, 1 draining, 1 unavailable); retry later')
    const full = explainNoBids({ ...base, bids: 2, unplacedReason: 'every eligible bidder is at capacity or holds a replica of this shard' })
    assert.equal(full.reason, 'busy')
    assert.match(full.message, /2 usable bid\(s\) in region u33e could not take every shard: every eligible bidder is at capacity/)
  })

  it('unknown codes read as unknown', () => {
    const e = explainNoBids({ ...base, refusals: [refusal('a', 'SOLAR_FLARE', 'the sun is too bright')] })
    assert.deepEqual(e, { reason: 'unknown', message: '1 worker in region u33e refused: the sun is too bright' })
  })

  it('mixed refusals: the reason whose fix places the job soonest wins, the others are counted', () => {
    const e = explainNoBids({ ...base, modelBytes: 2_000_000_000, refusals: [refusal('a', 'MODEL_TOO_LARGE'), refusal('b', 'MODEL_TOO_LARGE'), refusal('c', 'PRICE', 'ask', 0.75), refusal('d', 'BUSY')] })
    assert.equal(e.reason, 'price')
    assert.match(e.message, /^lowest ask 0\.75 > maxPricePerUnit 0\.5 \(1 worker in region u33e\)/)
    assert.match(e.message, /other refusals: 2 limits, 1 busy$/)
    const limits = explainNoBids({ ...base, modelBytes: 2_000_000_000, refusals: [refusal('a', 'MODEL_TOO_LARGE'), refusal('d', 'BUSY')] })
    assert.equal(limits.reason, 'limits')
    assert.match(limits.message, /^model 2 GB over the store budget of 1 worker/)
  })

  it('categories and byte formatting', () => {
    assert.equal(refusalCategory('PRICE'), 'price')
    assert.equal(refusalCategory('UNSUPPORTED'), 'limits')
    assert.equal(refusalCategory('UNAVAILABLE'), 'busy')
    assert.equal(refusalCategory('???'), 'unknown')
    assert.deepEqual([512, 640_000, 4_700_000, 120_000_000, 2_500_000_000].map(formatBytes), ['512 bytes', '640 kB', '4.7 MB', '120 MB', '2.5 GB'])
  })

  it('everyWorkerRefused: all known region peers refused for reasons that will not clear by themselves', () => {
    assert.equal(everyWorkerRefused({ regionPeers: [], refusals: [] }), false, 'nobody answered')
    assert.equal(everyWorkerRefused({ regionPeers: ['a', 'b'], refusals: [refusal('a', 'PRICE')] }), false, 'b has not answered')
    assert.equal(everyWorkerRefused({ regionPeers: ['a', 'b'], refusals: [refusal('a', 'PRICE'), refusal('b', 'MODEL_TOO_LARGE')] }), true)
    assert.equal(everyWorkerRefused({ regionPeers: ['a', 'b'], refusals: [refusal('a', 'PRICE'), refusal('b', 'BUSY')] }), false, 'b may free up')
    assert.equal(everyWorkerRefused({ regionPeers: [], refusals: [refusal('c', 'REPUTATION')] }), true, 'refusals from peers not directly known count')
  })
})
