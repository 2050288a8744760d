import assert from 'node:assert/strict'
import { ABANDONED_LEASE_BACKOFF_MS, FIRST_HEARTBEAT_TIMEOUT_MS, MAX_LEASE_TIMEOUT_MS } from '../src/constants.js'
import { leaseExpiry, LoopStall } from '../src/lease-bounds.js'
import { MARKET_PROTOCOL } from '@fleetmesh/protocol'
import { waitAdmitted, waitUntil } from '@fleetmesh/test-utils'
import { createMarketFleet, workFor } from './utils/mesh.js'
import type { LeaseEvent } from '../src/index.js'
import type { MarketFleet } from './utils/mesh.js'

describe('leases bounded by the worker', function () {
  this.timeout(90_000)
  let fleet: MarketFleet
  beforeEach(async () => { fleet = await createMarketFleet() })
  afterEach(async () => { await fleet.stop() })

  it('awards asking leaseTimeoutMs 2^32-1 and never heartbeated expire within the worker\'s cap and free its capacity; an honest job then runs', async () => {
    // the attacker: an admitted requester that asks for endless leases and never sends a heartbeat
    const attacker = await fleet.add('station', 'u33d', { market: { leaseTimeoutMs: 0xffffffff, heartbeatIntervalMs: 0x7fffffff } })
    const bootstrap = attacker.node.getMultiaddrs().map(String)
    const worker = await fleet.add('station', 'u33d', {
      bootstrap,
      worker: {
        maxConcurrentLeases: 2,
        // this test is about the lease bounds: the attacker may hold both leases
        maxLeasesPerRequester: 2,
        // the attacker's leases would run for two minutes; honest ones are quick
        onLease: async (lease, signal) => workFor(lease.requester === attacker.node.peerId.toString() ? 120_000 : 100)(lease, signal)
      }
    })
    const honest = await fleet.add('station', 'u33d', { bootstrap })
    await waitAdmitted(attacker.node, [worker.node, honest.node])
    await waitUntil(() => honest.node.isAdmitted(worker.node.peerId), { timeoutMs: 15_000, message: 'honest requester and worker admitted' })
    const events: LeaseEvent[] = []
    worker.market.addEventListener('lease', (e) => { events.push(e.detail) })

    const held = attacker.market.submit({ modelCid: 'bafy', shardUnits: [10, 10], maxPricePerUnit: 2, deadline: Date.now() + 80_000 })
    held.catch(() => {})
    await waitUntil(() => worker.market.heldLeases().length === 2, { timeoutMs: 15_000, message: 'the worker to hold both of the attacker\'s leases' })
    for (const l of worker.market.heldLeases()) assert.ok(l.leaseTimeoutMs <= MAX_LEASE_TIMEOUT_MS, `lease timeout capped: ${l.leaseTimeoutMs}`)

    await waitUntil(() => events.filter(e => e.requester === attacker.node.peerId.toString() && e.state === 'expired').length === 2, { timeoutMs: MAX_LEASE_TIMEOUT_MS + 15_000, message: 'the attacker\'s leases to expire at the worker' })
    for (const e of events.filter(e => e.state === 'expired')) {
      assert.match(e.reason ?? '', /no heartbeat/, 'expired for want of heartbeats')
      const active = events.find(a => a.leaseId === e.leaseId && a.state === 'active')
      assert.ok(active != null && e.at - active.at <= MAX_LEASE_TIMEOUT_MS + 5000, `lease ${e.leaseId} lived ${e.at - (active?.at ?? 0)} ms, within the worker's cap`)
    }
    assert.equal(worker.market.heldLeases().length, 0, 'capacity freed')

    const result = await honest.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 2, deadline: Date.now() + 30_000 })
    assert.equal(result.shards[0]?.worker, worker.node.peerId.toString())
  })

  it('leaseExpiry (pure): before its first heartbeat a lease waits at most FIRST_HEARTBEAT_TIMEOUT_MS, then its own timeout; the life bound holds', () => {
    const lease = { lastHeartbeat: 0, heartbeats: 0, timeoutMs: MAX_LEASE_TIMEOUT_MS, endsAt: 60_000 }
    assert.equal(leaseExpiry(lease, 5000, 5000), undefined, 'alive at the first-heartbeat bound')
    assert.deepEqual(leaseExpiry(lease, 5000, 5001)?.abandoned, true, 'never heartbeated: abandoned just after it')
    assert.equal(leaseExpiry({ ...lease, heartbeats: 1 }, 5000, 9000), undefined, 'a heartbeated lease keeps its own timeout')
    assert.equal(leaseExpiry({ ...lease, heartbeats: 1 }, 5000, 10_001)?.abandoned, false)
    assert.equal(leaseExpiry({ ...lease, timeoutMs: 2000 }, 5000, 2001)?.abandoned, true, 'a shorter timeout than the first-heartbeat bound wins')
    assert.match(leaseExpiry({ ...lease, lastHeartbeat: 59_000, heartbeats: 3 }, 5000, 60_000)?.reason ?? '', /life ended/)
  })

  it('LoopStall (pure): a timer run a whole interval or more late reports the time past its interval; jitter under an interval is none', () => {
    const stall = new LoopStall(250)
    assert.equal(stall.held(1000), 0, 'the first run has nothing to compare with')
    assert.equal(stall.held(1250), 0, 'on time')
    assert.equal(stall.held(1700), 0, '200 ms late: jitter')
    assert.equal(stall.held(4000), 2050, '2300 ms since the last run: held 2050 ms past its interval')
    assert.equal(stall.held(4250), 0, 'on time again')
  })

  it('an award never heartbeated holds the worker for FIRST_HEARTBEAT_TIMEOUT_MS at most, then a requester that does not answer the Release has its awards declined for ABANDONED_LEASE_BACKOFF_MS while an honest job runs (found by bench/adversary\'s award flood)', async () => {
    const attacker = await fleet.add('station', 'u33d', { market: { leaseTimeoutMs: 0xffffffff, heartbeatIntervalMs: 0x7fffffff } })
    const bootstrap = attacker.node.getMultiaddrs().map(String)
    const worker = await fleet.add('station', 'u33d', { bootstrap, worker: { maxConcurrentLeases: 2, maxLeasesPerRequester: 2, onLease: async (lease, signal) => workFor(lease.requester === attacker.node.peerId.toString() ? 120_000 : 100)(lease, signal) } })
    const honest = await fleet.add('station', 'u33d', { bootstrap })
    await waitAdmitted(attacker.node, [worker.node, honest.node])
    await waitUntil(() => honest.node.isAdmitted(worker.node.peerId), { timeoutMs: 15_000, message: 'honest requester and worker admitted' })
    const events: LeaseEvent[] = []
    worker.market.addEventListener('lease', (e) => { events.push(e.detail) })
    const attackerEvents: LeaseEvent[] = []
    attacker.market.addEventListener('lease', (e) => { attackerEvents.push(e.detail) })

    const first = attacker.market.submit({ modelCid: 'bafy', shardUnits: [10, 10], maxPricePerUnit: 2, deadline: Date.now() + 80_000 })
    first.catch(() => {})
    // gone, as far as the worker can tell: it answers no direct message (its own awards still go out)
    await waitUntil(() => events.filter(e => e.state === 'active').length === 2, { timeoutMs: 15_000, message: 'the worker to accept both awards' })
    await attacker.node.libp2p.unhandle(MARKET_PROTOCOL)
    await waitUntil(() => events.filter(e => e.state === 'expired').length === 2, { timeoutMs: MAX_LEASE_TIMEOUT_MS + 15_000, message: 'the attacker\'s leases to expire at the worker' })
    for (const e of events.filter(e => e.state === 'expired')) {
      const active = events.find(a => a.leaseId === e.leaseId && a.state === 'active')
      assert.ok(active != null && e.at - active.at <= FIRST_HEARTBEAT_TIMEOUT_MS + 3000, `lease ${e.leaseId} lived ${e.at - (active?.at ?? 0)} ms without a heartbeat (first heartbeat due within ${FIRST_HEARTBEAT_TIMEOUT_MS} ms)`)
    }

    const again = attacker.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 2, deadline: Date.now() + 60_000 })
    again.catch(() => {})
    await waitUntil(() => attackerEvents.some(e => e.state === 'declined' && /without a single heartbeat/.test(e.reason ?? '')), { timeoutMs: 20_000, message: 'the worker to decline the attacker\'s next award' })
    assert.ok(Date.now() - (events.find(e => e.state === 'expired')?.at ?? 0) < ABANDONED_LEASE_BACKOFF_MS, 'declined within the backoff')
    assert.equal(worker.market.heldLeases().filter(l => l.requester === attacker.node.peerId.toString()).length, 0, 'the attacker holds nothing')

    const result = await honest.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 2, deadline: Date.now() + 30_000 })
    assert.equal(result.shards[0]?.worker, worker.node.peerId.toString())
  })
})
