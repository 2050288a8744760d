import assert from 'node:assert/strict'
import { peerIdFromString } from '@libp2p/peer-id'
import { delay, waitAdmitted, waitUntil } from '@fleetmesh/test-utils'
import { createMarketFleet, parkedVehicle, workFor } from './utils/mesh.js'
import type { LeaseEvent } from '../src/index.js'
import type { MarketFleet, MarketNode } from './utils/mesh.js'

/** Watches a requester's lease events and fails if a slot ever has two live leases. */
function watchSingleLease (m: MarketNode): { events: LeaseEvent[], violations: string[] } {
  const live = new Map<string, string>()
  const out = { events: [] as LeaseEvent[], violations: [] as string[] }
  m.market.addEventListener('lease', (e) => {
    const l = e.detail
    out.events.push(l)
    const slot = `${l.jobId}/${l.shardIndex}/${l.replica}`
    if (l.state === 'awarded') {
      if (live.has(slot)) out.violations.push(`${slot} awarded to ${l.worker} while ${live.get(slot) ?? ''} holds it`)
      live.set(slot, l.leaseId)
    } else if (l.state !== 'active' && live.get(slot) === l.leaseId) {
      live.delete(slot)
    }
  })
  return out
}

describe('market churn: re-award, requester gone, cancel, deadline', function () {
  this.timeout(60_000)
  let fleet: MarketFleet
  beforeEach(async () => { fleet = await createMarketFleet() })
  afterEach(async () => { await fleet.stop() })

  it('a worker SIGKILLed mid-lease (separate process): its shards are re-awarded and the job completes; no shard is awarded twice at once', async () => {
    const requester = await fleet.add('station', 'u33d')
    const bootstrap = requester.node.getMultiaddrs().map(String)
    const doomed = await fleet.fork({ mode: 'worker', role: 'station', region: 'u33d', bootstrap, price: 0.1, workMs: 60_000 })
    // one lease each: the two lost shards must go to the next two best bids
    const w1 = await fleet.add('station', 'u33d', { bootstrap, worker: { onLease: workFor(200), pricing: { basePricePerUnit: 1 }, maxConcurrentLeases: 1 } })
    const w2 = await fleet.add('vehicle', 'u33d', { bootstrap, worker: { onLease: workFor(200), pricing: { basePricePerUnit: 1.2 }, maxConcurrentLeases: 1, vehicleState: parkedVehicle() } })
    await waitAdmitted(requester.node, [w1.node, w2.node])
    await waitUntil(() => requester.node.isAdmitted(peerIdFromString(doomed.peerId)), { timeoutMs: 15_000, message: 'forked worker admitted' })
    await delay(1500)
    const watch = watchSingleLease(requester)

    // minBids 3: the requester would otherwise award at once on the two in-process workers' bids (enough to place both
    // shards: shouldAwardEarly's enough-bids), before the forked worker's bid came, as it did in CI under load
    const done = requester.market.submit({ modelCid: 'bafy', shardUnits: [100, 100], maxPricePerUnit: 2, minBids: 3, deadline: Date.now() + 40_000 })
    const bids: string[] = []
    requester.market.addEventListener('bid', (e) => { bids.push(`${e.detail.bidder === doomed.peerId ? 'doomed' : e.detail.bidder.slice(-6)} ${e.detail.side} ${e.detail.pricePerUnit}`) })
    await waitUntil(() => watch.events.filter(l => l.worker === doomed.peerId && l.state === 'active').length === 2, { timeoutMs: 15_000, message: 'the cheapest (forked) worker to hold both shards' })
      .catch((err: Error) => { throw new Error(`${err.message}; bids: ${bids.join(', ')}; leases: ${watch.events.map(l => `${l.worker === doomed.peerId ? 'doomed' : l.worker.slice(-6)} ${l.shardIndex} ${l.state} ${l.reason ?? ''}`).join(', ')}`) })
    doomed.child.kill('SIGKILL')
    const result = await done

    assert.deepEqual(watch.violations, [])
    const lost = watch.events.filter(l => l.worker === doomed.peerId && l.state === 'lost')
    assert.equal(lost.length, 2, 'both leases of the killed worker were lost')
    for (const l of lost) assert.match(l.reason ?? '', /disconnected|expired/, 'lost by connection loss or lease expiry')
    assert.equal(result.reawards, 2)
    assert.deepEqual(result.shards.map(s => s.worker).sort(), [w1.node.peerId.toString(), w2.node.peerId.toString()].sort(), 're-awarded to the next best bids')
  })

  it('a worker stopped mid-lease releases it; the shard is re-awarded and the job completes', async () => {
    const requester = await fleet.add('station', 'u33d')
    const bootstrap = requester.node.getMultiaddrs().map(String)
    const quitter = await fleet.add('station', 'u33d', { bootstrap, worker: { onLease: workFor(60_000), pricing: { basePricePerUnit: 0.1 } } })
    const steady = await fleet.add('station', 'u33d', { bootstrap, worker: { onLease: workFor(200), pricing: { basePricePerUnit: 1 } } })
    await waitAdmitted(requester.node, [quitter.node, steady.node])
    await delay(1500)
    const watch = watchSingleLease(requester)
    const done = requester.market.submit({ modelCid: 'bafy', shardUnits: [100], maxPricePerUnit: 2, deadline: Date.now() + 30_000 })
    await waitUntil(() => quitter.market.heldLeases().length === 1, { timeoutMs: 10_000, message: 'the cheap worker to hold the shard' })
    await quitter.node.stop()
    const result = await done
    assert.deepEqual(watch.violations, [])
    const lost = watch.events.find(l => l.worker === quitter.node.peerId.toString() && l.state !== 'awarded' && l.state !== 'active')
    assert.equal(lost?.state, 'released', 'the stopping worker handed the lease back')
    assert.match(lost?.reason ?? '', /stopping/)
    assert.equal(result.shards[0]?.worker, steady.node.peerId.toString())
  })

  it('requester gone (SIGKILLed process): the worker drops its lease after the heartbeat timeout, not before', async () => {
    const requester = await fleet.fork({ mode: 'requester', role: 'station', region: 'u33d', bootstrap: [], leaseTimeoutMs: 1500, heartbeatIntervalMs: 300, job: { shardUnits: [100], maxPricePerUnit: 5, deadlineMs: 60_000 } })
    let aborted = false
    const worker = await fleet.add('station', 'u33d', {
      bootstrap: requester.addrs,
      worker: {
        onLease: async (_lease, signal) => {
          signal.addEventListener('abort', () => { aborted = true })
          await delay(60_000, signal)
          return new Uint8Array()
        }
      }
    })
    await waitUntil(() => worker.node.isAdmitted(peerIdFromString(requester.peerId)), { timeoutMs: 15_000, message: 'requester admitted' })
    await delay(1500)
    const events: LeaseEvent[] = []
    worker.market.addEventListener('lease', (e) => { events.push(e.detail) })
    requester.send({ type: 'submit' })
    await waitUntil(() => worker.market.heldLeases().length === 1, { timeoutMs: 15_000, message: 'the worker to hold a lease' })
    await delay(1000) // heartbeats keep it alive meanwhile
    assert.equal(worker.market.heldLeases().length, 1, 'heartbeats keep the lease')
    const killedAt = Date.now()
    requester.child.kill('SIGKILL')
    await waitUntil(() => worker.market.heldLeases().length === 0, { timeoutMs: 10_000, message: 'the worker to drop the lease' })
    const after = Date.now() - killedAt
    const end = events.find(l => l.state === 'expired')
    assert.ok(end != null, `lease ended as expired: ${JSON.stringify(events.map(l => l.state))}`)
    assert.match(end.reason ?? '', /requester gone/)
    assert.ok(after >= 1000, `dropped ${after} ms after the kill: it waits for the 1500 ms lease timeout, not the disconnect`)
    assert.equal(aborted, true, 'the handler was told through its signal')
  })

  it('a node whose event loop is held longer than the lease timeout (a synchronous load) loses no lease: the time it did not run is not the peer\'s silence', async () => {
    const timings = { leaseTimeoutMs: 1000, heartbeatIntervalMs: 250 }
    const requester = await fleet.add('station', 'u33d', { market: timings })
    const bootstrap = requester.node.getMultiaddrs().map(String)
    let finish: () => void = () => {}
    const working = new Promise<void>(resolve => { finish = resolve })
    const worker = await fleet.add('station', 'u33d', { bootstrap, market: timings, worker: { onLease: async () => { await working; return new TextEncoder().encode('done') } } })
    await waitAdmitted(requester.node, [worker.node])
    await delay(1500)
    const watch = watchSingleLease(requester)
    const workerSide: LeaseEvent[] = []
    worker.market.addEventListener('lease', (e) => { workerSide.push(e.detail) })
    const done = requester.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 2, deadline: Date.now() + 30_000 })
    await waitUntil(() => watch.events.some(l => l.state === 'active'), { timeoutMs: 15_000, message: 'the lease is active' })
    await delay(600) // a few heartbeats answered
    // both nodes share this process: holding its loop holds both, as a synchronous load of a large model would
    const until = Date.now() + 2 * timings.leaseTimeoutMs
    while (Date.now() < until) { /* held */ }
    await delay(1000) // heartbeats resume
    finish()
    const result = await done
    assert.deepEqual(watch.events.filter(l => l.state === 'lost' || l.state === 'released').map(l => l.reason), [], 'the requester lost no lease')
    assert.deepEqual(workerSide.filter(l => l.state === 'expired').map(l => l.reason), [], 'the worker expired no lease')
    assert.equal(result.reawards, 0)
  })

  it('cancellation is clean: workers stop their work and the job rejects with JobCancelledError', async () => {
    const requester = await fleet.add('station', 'u33d')
    let aborts = 0
    const worker = await fleet.add('station', 'u33d', {
      bootstrap: requester.node.getMultiaddrs().map(String),
      worker: { onLease: async (_l, signal) => { signal.addEventListener('abort', () => { aborts++ }); await delay(60_000, signal) } }
    })
    await waitAdmitted(requester.node, [worker.node])
    await delay(1500)
    const controller = new AbortController()
    const done = requester.market.submit({ modelCid: 'bafy', shardUnits: [10, 10], maxPricePerUnit: 2, deadline: Date.now() + 30_000 }, { signal: controller.signal })
    await waitUntil(() => worker.market.heldLeases().length === 2, { timeoutMs: 10_000, message: 'both shards leased' })
    controller.abort()
    await assert.rejects(done, { name: 'JobCancelledError' })
    await waitUntil(() => worker.market.heldLeases().length === 0, { timeoutMs: 5000, message: 'worker leases cancelled' })
    assert.equal(aborts, 2)
    assert.deepEqual(requester.market.jobs(), [])
  })

  it('a job whose shard is still running at its deadline fails naming the lease, not "no bids"', async () => {
    const requester = await fleet.add('station', 'u33d')
    const worker = await fleet.add('station', 'u33d', { bootstrap: requester.node.getMultiaddrs().map(String), worker: { onLease: workFor(60_000) } })
    await waitAdmitted(requester.node, [worker.node])
    await delay(1500)
    const ended: string[] = []
    worker.market.addEventListener('lease', (e) => { if (e.detail.state === 'cancelled' || e.detail.state === 'expired') ended.push(`${e.detail.state}: ${e.detail.reason ?? ''}`) })
    const err = await requester.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 2, deadline: Date.now() + 4000 }).then(() => undefined, (e: any) => e)
    assert.equal(err?.name, 'JobFailedError', String(err))
    assert.equal(err.code, 'ERR_JOB_FAILED')
    assert.equal(err.unplaced.length, 1)
    assert.equal(err.unplaced[0].reason, `leased to ${worker.node.peerId.toString()}, not completed in time`)
    assert.doesNotMatch(err.message, /no bids|raise maxPricePerUnit/)
    assert.equal(err.at, 'deadline')
    // the lease's life ends at the job's deadline at both ends: the requester's cancel or the worker's own expiry, whichever comes first, ends it
    await waitUntil(() => ended.length > 0, { timeoutMs: 5000, message: 'the worker to end its lease' })
    assert.equal(ended.length, 1, ended.join('; '))
    assert.match(ended[0] ?? '', /^cancelled: .*job failed: deadline|^expired: expired: the lease's life ended/)
    assert.deepEqual(worker.market.heldLeases(), [])
  })
})
