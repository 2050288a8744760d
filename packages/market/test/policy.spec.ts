import assert from 'node:assert/strict'
import { isWorkAllowed, ScriptedVehicleState } from '../src/availability.js'
import { decideBid, maxJobCost, powerCapacity, priceFor } from '../src/policy.js'
import type { VehicleState } from '../src/availability.js'
import type { OfferView, WorkerSituation } from '../src/policy.js'

const NOW = 5_000_000
const offer: OfferView = { jobId: 'j', region: 'u33d', openShardUnits: [100, 100, 100], maxPricePerUnit: 2, deadline: NOW + 60_000, minReputation: 0 }
const station: WorkerSituation = { region: 'u33d', held: 0, maxConcurrent: 4, pricing: { basePricePerUnit: 1, loadFactor: 0.5 }, reputation: 1, estimate: { msPerUnit: 10, setupMs: 100, modelCached: true } }

describe('worker policy (pure)', () => {
  it('prices with a load factor', () => {
    assert.equal(priceFor({ basePricePerUnit: 2, loadFactor: 0.5 }, 0), 2)
    assert.equal(priceFor({ basePricePerUnit: 2, loadFactor: 0.5 }, 0.5), 2.5)
    assert.equal(priceFor({ basePricePerUnit: 2, loadFactor: 0.5 }, 1), 3)
    assert.equal(priceFor({}, 0), 1, 'defaults: base 1 credit per unit')
  })

  it('fits leases in the site power budget (kW)', () => {
    assert.equal(powerCapacity({ siteBudgetKw: 2, perLeaseKw: 0.5 }, 0), 4)
    assert.equal(powerCapacity({ siteBudgetKw: 2, perLeaseKw: 0.5, siteLoadKw: 1 }, 1), 1)
    assert.equal(powerCapacity({ siteBudgetKw: 1, perLeaseKw: 0.5 }, 3), 0)
  })

  it('bids its free capacity, at most the open shards, at the load price', () => {
    const d = decideBid(offer, { ...station, held: 2 }, NOW)
    assert.deepEqual(d, { bid: true, pricePerUnit: 1.25, capacity: 2, msPerUnit: 10, setupMs: 100, modelCached: true })
    const few = decideBid({ ...offer, openShardUnits: [100] }, station, NOW)
    assert.equal(few.bid && few.capacity, 1)
    const share = decideBid(offer, { ...station, held: 2, heldByRequester: 2, maxPerRequester: 3 }, NOW)
    assert.equal(share.bid && share.capacity, 1, 'a requester is offered no more than its share of the leases')
  })

  it('does not bid when it should not', () => {
    const cases: Array<[string, OfferView, WorkerSituation, RegExp, string]> = [
      ['other region', { ...offer, region: 'gcpv' }, station, /region/, 'REGION'],
      ['at capacity', offer, { ...station, held: 4 }, /at capacity/, 'BUSY'],
      ['the requester holds its share', offer, { ...station, held: 3, heldByRequester: 3, maxPerRequester: 3 }, /the requester holds 3 of this worker's 4 leases/, 'REQUESTER_LIMIT'],
      ['power budget', offer, { ...station, power: { siteBudgetKw: 1, perLeaseKw: 0.5 }, held: 2 }, /power budget/, 'BUSY'],
      ['price over max', { ...offer, maxPricePerUnit: 0.9 }, station, /over the offer's max/, 'PRICE'],
      ['reputation', { ...offer, minReputation: 0.9 }, { ...station, reputation: 0.5 }, /reputation/, 'REPUTATION'],
      ['deadline', { ...offer, deadline: NOW + 500 }, station, /deadline/, 'DEADLINE'],
      ['draining', offer, { ...station, draining: true }, /draining/, 'DRAINING'],
      ['vehicle unavailable', offer, { ...station, availability: { allowed: false, reason: 'driving' } }, /unavailable: driving/, 'UNAVAILABLE'],
      ['no open shards', { ...offer, openShardUnits: [] }, station, /no open shards/, 'NO_OPEN_SHARDS']
    ]
    for (const [what, o, s, re, code] of cases) {
      const d = decideBid(o, s, NOW)
      assert.equal(d.bid, false, `${what}: must not bid`)
      assert.match((d as { reason: string }).reason, re, `${what}: reason`)
      assert.equal((d as { code: string }).code, code, `${what}: code`)
    }
    const price = decideBid({ ...offer, maxPricePerUnit: 0.9 }, station, NOW)
    assert.equal(!price.bid && price.askPricePerUnit, 1, 'a price refusal carries the ask')
  })
})

describe('maxJobCost (pure)', () => {
  it('is maxPricePerUnit × all units × redundancy, in credits', () => {
    assert.equal(maxJobCost({ shardUnits: [30, 30], maxPricePerUnit: 1 }), 60)
    assert.equal(maxJobCost({ shardUnits: [10, 20, 30], maxPricePerUnit: 0.5, redundancy: 2 }), 60)
    assert.equal(maxJobCost({ shardUnits: [4], maxPricePerUnit: 2, redundancy: 0 }), 8, 'an offer with redundancy 0 pays one replica')
  })
})

describe('vehicle availability (pure)', () => {
  const parked = (soc: number, batteryTempC = 20): VehicleState => ({ drive: 'parked', soc, batteryTempC })

  it('applies the owner policy', () => {
    assert.equal(isWorkAllowed({ drive: 'driving', soc: 1, batteryTempC: 20 }).allowed, false)
    assert.equal(isWorkAllowed(parked(0.6)).allowed, true)
    assert.deepEqual(isWorkAllowed(parked(0.42)), { allowed: false, reason: 'parked, SoC 42% < 50%' })
    assert.equal(isWorkAllowed(parked(0.6, 50)).allowed, false, 'too hot')
    assert.equal(isWorkAllowed({ drive: 'charging', soc: 0.1, batteryTempC: 20 }).allowed, true, 'charging at any SoC by default')
    assert.equal(isWorkAllowed(parked(0.9), { whileParked: false }).allowed, false, 'only while charging')
    assert.equal(isWorkAllowed({ drive: 'charging', soc: 0.2, batteryTempC: 20 }, { minChargingSoc: 0.3 }).allowed, false)
    assert.equal(isWorkAllowed(parked(0.7), { minParkedSoc: 0.8 }).allowed, false)
    assert.equal(isWorkAllowed(parked(NaN)).allowed, false, 'unknown state never works')
  })

  it('a scripted source plays its timeline after start()', async () => {
    const source = new ScriptedVehicleState([
      { atMs: 0, state: parked(0.8) },
      { atMs: 30, state: { drive: 'driving', soc: 0.8, batteryTempC: 21 } }
    ])
    const seen: string[] = []
    source.addEventListener('change', (e) => { seen.push(e.detail.drive) })
    assert.equal(source.current().drive, 'parked')
    source.start()
    await new Promise(resolve => setTimeout(resolve, 80))
    assert.equal(source.current().drive, 'driving')
    assert.deepEqual(seen, ['driving'])
    source.set(parked(0.3))
    assert.equal(source.current().soc, 0.3)
    source.stop()
  })
})
