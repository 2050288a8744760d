import assert from 'node:assert/strict'
import { FIRST_HEARTBEAT_TIMEOUT_MS } from '../src/constants.js'
import { waitAdmitted, waitUntil } from '@fleetmesh/test-utils'
import { createMarketFleet, workFor } from './utils/mesh.js'
import type { BidEvent, LeaseEvent } from '../src/index.js'
import type { MarketFleet } from './utils/mesh.js'

describe('no requester is refused for another\'s behaviour', function () {
  this.timeout(90_000)
  let fleet: MarketFleet
  beforeEach(async () => { fleet = await createMarketFleet() })
  afterEach(async () => { await fleet.stop() })

  it('a requester that heartbeats its leases holds at most ceil(REQUESTER_LEASE_SHARE x maxConcurrentLeases), 3 of 4, of a worker\'s leases (NoBid REQUESTER_LIMIT); another requester\'s job still runs there', async () => {
    // the hog: an admitted requester whose leases run long and are heartbeated as they should be
    const hog = await fleet.add('station', 'u33d')
    const bootstrap = hog.node.getMultiaddrs().map(String)
    const worker = await fleet.add('station', 'u33d', { bootstrap, worker: { maxConcurrentLeases: 4, onLease: async (lease, signal) => workFor(lease.requester === hog.node.peerId.toString() ? 60_000 : 100)(lease, signal) } })
    const honest = await fleet.add('station', 'u33d', { bootstrap })
    await waitAdmitted(hog.node, [worker.node, honest.node])
    await waitUntil(() => honest.node.isAdmitted(worker.node.peerId), { timeoutMs: 15_000, message: 'honest requester and worker admitted' })
    const bids: BidEvent[] = []
    worker.market.addEventListener('bid', (e) => { bids.push(e.detail) })

    const hogging = [0, 1].map(() => hog.market.submit({ modelCid: 'bafy', shardUnits: [10, 10], maxPricePerUnit: 2, deadline: Date.now() + 80_000 }))
    for (const h of hogging) h.catch(() => {})
    await waitUntil(() => worker.market.heldLeases().length === 3 && bids.some(b => b.side === 'skipped' && b.code === 'REQUESTER_LIMIT'), { timeoutMs: 20_000, message: 'the worker to hold three of the hog\'s leases and refuse it more with REQUESTER_LIMIT' })
    // heartbeats keep the hog's lease alive past the first-heartbeat bound
    await new Promise(resolve => setTimeout(resolve, FIRST_HEARTBEAT_TIMEOUT_MS + 1000))
    assert.equal(worker.market.heldLeases().filter(l => l.requester === hog.node.peerId.toString()).length, 3, 'the hog holds three leases, not all four')

    const result = await honest.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 2, deadline: Date.now() + 30_000 })
    assert.equal(result.shards[0]?.worker, worker.node.peerId.toString(), 'the honest job ran on the worker the hog uses')
  })

  it('a requester whose first heartbeat came after FIRST_HEARTBEAT_TIMEOUT_MS loses that lease but not the worker: its next awards are taken, since it answers (honest jobs failed NoBidsError in bench/adversary)', async () => {
    // a loaded requester: heartbeats every 15 s, and tolerates that itself
    const late = await fleet.add('station', 'u33d', { market: { heartbeatIntervalMs: 15_000, leaseTimeoutMs: 40_000 } })
    const bootstrap = late.node.getMultiaddrs().map(String)
    // the first lease would run a minute; later ones are quick
    let leases = 0
    const worker = await fleet.add('station', 'u33d', { bootstrap, worker: { onLease: async (lease, signal) => workFor(leases++ === 0 ? 60_000 : 100)(lease, signal) } })
    await waitAdmitted(late.node, [worker.node])
    const events: LeaseEvent[] = []
    worker.market.addEventListener('lease', (e) => { events.push(e.detail) })
    const ended: LeaseEvent[] = []
    late.market.addEventListener('lease', (e) => { if (e.detail.state === 'lost' || e.detail.state === 'released') ended.push(e.detail) })

    const job = late.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 2, deadline: Date.now() + 80_000 })
    job.catch(() => {})
    await waitUntil(() => events.some(e => e.state === 'active'), { timeoutMs: 15_000, message: 'the first lease' })
    const first = (events.find(e => e.state === 'active') as LeaseEvent).jobId
    await waitUntil(() => events.some(e => e.state === 'expired' && e.jobId === first), { timeoutMs: FIRST_HEARTBEAT_TIMEOUT_MS + 10_000, message: 'the worker to end the lease for want of a first heartbeat' })
    // the requester hears the worker ended the lease (its Release, or its late heartbeat's answer)
    await waitUntil(() => ended.length > 0, { timeoutMs: 30_000, message: 'the requester to hear its lease ended' })

    const result = await late.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 2, deadline: Date.now() + 30_000 })
    assert.equal(result.shards[0]?.worker, worker.node.peerId.toString(), 'the worker took the late requester\'s next job')
  })
})
