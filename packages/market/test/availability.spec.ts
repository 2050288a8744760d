import assert from 'node:assert/strict'
import { delay, waitAdmitted, waitUntil } from '@fleetmesh/test-utils'
import { isWorkAllowed, ReportedVehicleState, ScriptedVehicleState, UnknownVehicleState } from '../src/availability.js'
import { createMarketFleet, workFor } from './utils/mesh.js'
import type { BidEvent, LeaseEvent } from '../src/index.js'
import type { MarketFleet } from './utils/mesh.js'

describe('vehicle availability on real nodes', function () {
  this.timeout(60_000)
  let fleet: MarketFleet
  afterEach(async () => { await fleet.stop() })

  it('a vehicle that starts driving stops bidding and releases its lease; one below its SoC threshold never bids', async () => {
    fleet = await createMarketFleet()
    const requester = await fleet.add('station', 'u33d')
    const bootstrap = requester.node.getMultiaddrs().map(String)
    const driver = new ScriptedVehicleState({ drive: 'parked', soc: 0.8, batteryTempC: 20 })
    const lowBattery = new ScriptedVehicleState([{ atMs: 0, state: { drive: 'parked', soc: 0.3, batteryTempC: 20 } }])
    const v1 = await fleet.add('vehicle', 'u33d', { bootstrap, worker: { onLease: workFor(60_000), pricing: { basePricePerUnit: 0.1 }, vehicleState: driver, availability: { minParkedSoc: 0.5 } } })
    const v2 = await fleet.add('vehicle', 'u33d', { bootstrap, worker: { onLease: workFor(100), pricing: { basePricePerUnit: 0.05 }, vehicleState: lowBattery, availability: { minParkedSoc: 0.5 } } })
    const station = await fleet.add('station', 'u33d', { bootstrap, worker: { onLease: workFor(200), pricing: { basePricePerUnit: 1 } } })
    await waitAdmitted(requester.node, [v1.node, v2.node, station.node])
    await delay(1500)
    assert.equal(v1.market.isBidding(), true)
    assert.equal(v2.market.isBidding(), false, 'SoC 30 % is below the owner threshold of 50 %')

    const received: BidEvent[] = []
    requester.market.addEventListener('bid', (e) => { received.push(e.detail) })
    const leases: LeaseEvent[] = []
    requester.market.addEventListener('lease', (e) => { leases.push(e.detail) })
    const v1Leases: LeaseEvent[] = []
    v1.market.addEventListener('lease', (e) => { v1Leases.push(e.detail) })
    const skipped: Record<string, string[]> = { v1: [], v2: [] }
    v1.market.addEventListener('bid', (e) => { if (e.detail.side === 'skipped') skipped.v1?.push(e.detail.reason ?? '') })
    v2.market.addEventListener('bid', (e) => { if (e.detail.side === 'skipped') skipped.v2?.push(e.detail.reason ?? '') })
    const availability: boolean[] = []
    v1.market.addEventListener('availability', (e) => { availability.push(e.detail.allowed) })

    const job1 = requester.market.submit({ modelCid: 'bafy', shardUnits: [100], maxPricePerUnit: 2, deadline: Date.now() + 30_000 })
    await waitUntil(() => v1.market.heldLeases().length === 1, { timeoutMs: 10_000, message: 'the cheapest available vehicle to hold the lease' })
    driver.set({ drive: 'driving', soc: 0.8, batteryTempC: 22 })
    const r1 = await job1

    assert.deepEqual(availability, [false], 'v1 became unavailable')
    assert.equal(v1.market.isBidding(), false)
    assert.deepEqual(v1Leases.map(l => l.state), ['active', 'released'])
    assert.match(v1Leases[1]?.reason ?? '', /drained: driving/)
    const handBack = leases.find(l => l.worker === v1.node.peerId.toString() && l.state === 'released')
    assert.ok(handBack != null, 'the requester saw the release')
    assert.equal(r1.shards[0]?.worker, station.node.peerId.toString(), 're-awarded to the station')
    assert.equal(r1.reawards, 1)

    const job2 = await requester.market.submit({ modelCid: 'bafy', shardUnits: [100], maxPricePerUnit: 2, deadline: Date.now() + 30_000 })
    assert.equal(job2.shards[0]?.worker, station.node.peerId.toString())
    const bidders = new Set(received.map(b => b.bidder))
    assert.equal(bidders.has(v2.node.peerId.toString()), false, 'the low-SoC vehicle never bid')
    assert.deepEqual(received.filter(b => b.jobId === job2.jobId).map(b => b.bidder), [station.node.peerId.toString()], 'only the station bid on job 2')
    assert.equal(skipped.v2?.length, 2)
    for (const r of skipped.v2 ?? []) assert.match(r, /SoC 30% < 50%/)
    assert.match(skipped.v1?.[0] ?? '', /unavailable: driving/)
  })
})

describe('vehicle state: unknown and stale states', () => {
  const parked = { drive: 'parked' as const, soc: 0.8, batteryTempC: 20 }

  it('a report older than maxStaleMs is not allowed, naming how long the source has been stale', () => {
    const now = 1_000_000
    assert.deepEqual(isWorkAllowed({ ...parked, heardAt: now - 5000 }, { maxStaleMs: 10_000 }, now).allowed, true)
    const stale = isWorkAllowed({ ...parked, heardAt: now - 42_500 }, { maxStaleMs: 10_000 }, now)
    assert.deepEqual(stale, { allowed: false, reason: 'state source stale for 42 s' })
    assert.equal(isWorkAllowed({ ...parked, heardAt: now - 31_000 }, {}, now).allowed, false, 'default maxStaleMs is 30 s')
    assert.equal(isWorkAllowed(parked, { maxStaleMs: 1 }, now).allowed, true, 'a state with no heardAt (scripted) is never stale')
  })

  it('a source with no state, or none configured, is not allowed and says why', () => {
    assert.deepEqual(isWorkAllowed(new UnknownVehicleState().current()), { allowed: false, reason: 'state unknown: no state source configured' })
    assert.deepEqual(isWorkAllowed(new ReportedVehicleState().current()), { allowed: false, reason: 'state unknown: no report from the vehicle yet' })
  })

  it('a reported source emits change when its last report goes stale', async () => {
    const source = new ReportedVehicleState({ maxStaleMs: 200 })
    const changes: boolean[] = []
    source.addEventListener('change', () => { changes.push(isWorkAllowed(source.current(), { maxStaleMs: 200 }).allowed) })
    source.report(parked)
    assert.deepEqual(changes, [true], 'the report itself is a change')
    await new Promise(resolve => setTimeout(resolve, 1000))
    assert.deepEqual(changes, [true, false], 'one more change once the report is stale, and it is then not allowed')
    await source.stop()
  })

  it('a staleness timer that fires before the wall clock reaches its due time still ends in a stale change', async () => {
    // the event loop's cached clock lets a timer fire a millisecond early; here the wall clock lags the timers by 30 ms
    const realNow = Date.now
    try {
      const source = new ReportedVehicleState({ maxStaleMs: 200 })
      const changes: boolean[] = []
      source.addEventListener('change', () => { changes.push(isWorkAllowed(source.current(), { maxStaleMs: 200 }).allowed) })
      source.report(parked)
      Date.now = () => realNow() - 30
      await new Promise(resolve => setTimeout(resolve, 1000))
      assert.deepEqual(changes, [true, false], 'the early timer is re-armed, and the one change after the report finds it stale')
      await source.stop()
    } finally {
      Date.now = realNow
    }
  })
})
