import assert from 'node:assert/strict'
import { MAX_LEASE_TIMEOUT_MS } from '../src/constants.js'
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
})
