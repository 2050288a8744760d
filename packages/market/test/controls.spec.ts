import assert from 'node:assert/strict'
import { delay, waitAdmitted, waitUntil } from '@fleetmesh/test-utils'
import { createMarketFleet, parkedVehicle, workFor } from './utils/mesh.js'
import type { BidEvent, LeaseEvent, WorkerLease } from '../src/index.js'
import type { MarketFleet } from './utils/mesh.js'

class ShardMismatchError extends Error {
  override readonly name = 'ShardMismatchError'
  readonly code = 'ERR_SHARD_MISMATCH'
}

describe('requester controls and lease handling (registrar style)', function () {
  this.timeout(60_000)
  let fleet: MarketFleet
  beforeEach(async () => { fleet = await createMarketFleet() })
  afterEach(async () => { await fleet.stop() })

  it('cancel(jobId, reason) and an aborted signal reject submit with JobCancelledError carrying the reason', async () => {
    const requester = await fleet.add('station', 'u33d')
    const job = requester.market.submit({ jobId: 'ctrl-c', modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 1, bidWindowMs: 10_000 })
    assert.equal(requester.market.cancel('ctrl-c', 'user pressed ctrl-c'), true)
    const err = await job.then(() => undefined, (e: any) => e)
    assert.equal(err?.name, 'JobCancelledError', String(err))
    assert.equal(err.code, 'ERR_JOB_CANCELLED')
    assert.equal(err.reason, 'user pressed ctrl-c')
    assert.match(err.message, /user pressed ctrl-c/)
    assert.equal(requester.market.cancel('ctrl-c', 'again'), false, 'the job is gone')

    const controller = new AbortController()
    const aborted = requester.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 1, bidWindowMs: 10_000 }, { signal: controller.signal })
    controller.abort(new Error('the user closed the tab'))
    const err2 = await aborted.then(() => undefined, (e: any) => e)
    assert.equal(err2?.name, 'JobCancelledError', String(err2))
    assert.equal(err2.reason, 'the user closed the tab')
    const err3 = await requester.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 1 }, { signal: controller.signal }).then(() => undefined, (e: any) => e)
    assert.equal(err3?.name, 'JobCancelledError', 'an already aborted signal')
    assert.equal(err3.reason, 'the user closed the tab')
  })

  it('releaseLease re-awards the shard to the other worker and the job completes; the released worker is told why', async () => {
    const requester = await fleet.add('station', 'u33d')
    const bootstrap = requester.node.getMultiaddrs().map(String)
    const slow = await fleet.add('station', 'u33d', { bootstrap, worker: { onLease: workFor(60_000), pricing: { basePricePerUnit: 0.5 } } })
    const other = await fleet.add('station', 'u33d', { bootstrap, worker: { onLease: workFor(100), pricing: { basePricePerUnit: 1 } } })
    await waitAdmitted(requester.node, [slow.node, other.node])
    await delay(1500)
    const atRequester: LeaseEvent[] = []
    requester.market.addEventListener('lease', (e) => { atRequester.push(e.detail) })
    const atSlow: LeaseEvent[] = []
    slow.market.addEventListener('lease', (e) => { atSlow.push(e.detail) })
    const done = requester.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 2, deadline: Date.now() + 40_000 })
    await waitUntil(() => atRequester.some(l => l.worker === slow.node.peerId.toString() && l.state === 'active'), { timeoutMs: 15_000, message: 'the cheaper worker to hold the shard' })
    const leaseId = atRequester.find(l => l.state === 'active')?.leaseId ?? ''
    assert.equal(requester.market.releaseLease('no-such-lease', 'x'), false)
    assert.equal(requester.market.releaseLease(leaseId, 'spot check disagreed'), true)
    assert.equal(requester.market.releaseLease(leaseId, 'twice'), false, 'a lease is released once')
    const result = await done
    assert.equal(result.shards[0]?.worker, other.node.peerId.toString(), 're-awarded to the next best bid')
    assert.equal(result.reawards, 1)
    const released = atRequester.find(l => l.leaseId === leaseId && l.state === 'released')
    assert.equal(released?.reason, 'spot check disagreed')
    await waitUntil(() => atSlow.some(l => l.state === 'cancelled'), { timeoutMs: 5000, message: 'the released worker to see its lease cancelled' })
    assert.equal(atSlow.find(l => l.state === 'cancelled')?.reason, 'spot check disagreed')
    assert.equal(slow.market.heldLeases().length, 0)
  })

  it('failJob rejects submit with the very error given, and the workers see their leases cancelled with its message', async () => {
    const requester = await fleet.add('station', 'u33d')
    const worker = await fleet.add('station', 'u33d', { bootstrap: requester.node.getMultiaddrs().map(String), worker: { onLease: workFor(60_000) } })
    await waitAdmitted(requester.node, [worker.node])
    await delay(1500)
    const atWorker: LeaseEvent[] = []
    worker.market.addEventListener('lease', (e) => { atWorker.push(e.detail) })
    const done = requester.market.submit({ jobId: 'mismatch', modelCid: 'bafy', shardUnits: [10, 10], maxPricePerUnit: 2, deadline: Date.now() + 40_000 })
    await waitUntil(() => worker.market.heldLeases().length === 2, { timeoutMs: 15_000, message: 'both shards leased' })
    const error = new ShardMismatchError('shard 1 output differs from its spot check')
    assert.equal(requester.market.failJob('mismatch', error), true)
    const err = await done.then(() => undefined, (e: any) => e)
    assert.equal(err, error, 'the same error object')
    assert.equal(err.name, 'ShardMismatchError')
    assert.equal(requester.market.failJob('mismatch', error), false, 'the job is gone')
    await waitUntil(() => worker.market.heldLeases().length === 0, { timeoutMs: 5000, message: 'the worker to drop both leases' })
    const cancelled = atWorker.filter(l => l.state === 'cancelled')
    assert.equal(cancelled.length, 2)
    for (const l of cancelled) assert.equal(l.reason, 'shard 1 output differs from its spot check', `lease of shard ${l.shardIndex}`)
  })

  it('a worker bids only with a lease handler: none registered, no bid (and the requester is told); handleLeases runs leases', async () => {
    const requester = await fleet.add('station', 'u33d')
    const worker = await fleet.add('station', 'u33d', { bootstrap: requester.node.getMultiaddrs().map(String), worker: { maxConcurrentLeases: 2 } })
    await waitAdmitted(requester.node, [worker.node])
    await delay(1500)
    assert.equal(worker.market.isBidding(), false, 'no handler: not bidding')
    const skipped: BidEvent[] = []
    worker.market.addEventListener('bid', (e) => { if (e.detail.side === 'skipped') skipped.push(e.detail) })
    const none = await requester.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 2, placementTimeoutMs: 1500 }).then(() => undefined, (e: any) => e)
    assert.equal(none?.name, 'NoBidsError', String(none))
    assert.equal(none.reason, 'busy')
    assert.deepEqual(none.refusals.map((r: any) => [r.code, r.message]), [['UNAVAILABLE', 'no lease handler registered']])
    assert.equal(skipped[0]?.reason, 'no lease handler registered')

    const order: string[] = []
    worker.market.addEventListener('lease', (e) => { order.push(`event ${e.detail.state}`) })
    let seen: WorkerLease | undefined
    let held: unknown
    worker.market.handleLeases(async (lease) => {
      order.push('handler')
      seen = lease
      held = worker.market.heldLease(lease.leaseId)
      return new TextEncoder().encode(`ran ${lease.shardIndex}`)
    })
    assert.equal(worker.market.isBidding(), true)
    const result = await requester.market.submit({ modelCid: 'bafy-m', mode: 'pipeline', shardUnits: [10], maxPricePerUnit: 2, maxFrameBytes: 65_536, inputs: [{ name: 'x', dtype: 'float32', dims: [1, 3, 48, 320] }] })
    assert.equal(new TextDecoder().decode(result.shards[0]?.result), 'ran 0')
    assert.deepEqual(order.slice(0, 2), ['event active', 'handler'], 'the active event comes before the handler runs')
    await waitUntil(() => order.includes('event completed'), { timeoutMs: 5000, message: 'the worker lease to complete' })
    assert.equal(seen?.jobId, result.jobId)
    assert.equal(seen?.requester, requester.node.peerId.toString())
    assert.equal(seen?.shardCount, 1)
    assert.equal(seen?.units, 10)
    assert.equal(seen?.modelCid, 'bafy-m')
    assert.equal(seen?.mode, 'pipeline')
    assert.ok((seen?.deadline ?? 0) > Date.now(), 'deadline')
    assert.equal(seen?.leaseTimeoutMs, 3000, 'the requester\'s lease timeout')
    assert.equal(seen?.maxFrameBytes, 65_536)
    assert.deepEqual(seen?.inputs, [{ name: 'x', dtype: 'float32', dims: [1, 3, 48, 320] }])
    assert.equal((held as { leaseId?: string } | undefined)?.leaseId, seen?.leaseId, 'heldLease finds the running lease')
    assert.equal(worker.market.heldLease(seen?.leaseId ?? ''), undefined, 'and forgets it once it ended')

    worker.market.unhandleLeases()
    assert.equal(worker.market.isBidding(), false, 'handler removed: not bidding again')
  })

  it('a vehicle without a state source never bids; one with a source does', async () => {
    const requester = await fleet.add('station', 'u33d')
    const bootstrap = requester.node.getMultiaddrs().map(String)
    const blind = await fleet.add('vehicle', 'u33d', { bootstrap, worker: { onLease: workFor(50), pricing: { basePricePerUnit: 0.1 } } })
    const parked = await fleet.add('vehicle', 'u33d', { bootstrap, worker: { onLease: workFor(50), pricing: { basePricePerUnit: 1 }, vehicleState: parkedVehicle() } })
    await waitAdmitted(requester.node, [blind.node, parked.node])
    await delay(1500)
    assert.equal(blind.market.isBidding(), false)
    assert.equal(parked.market.isBidding(), true)
    const skipped: BidEvent[] = []
    blind.market.addEventListener('bid', (e) => { skipped.push(e.detail) })
    const result = await requester.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 2 })
    assert.equal(result.shards[0]?.worker, parked.node.peerId.toString(), 'the cheaper vehicle without a state source did not win')
    assert.equal(skipped.length, 1)
    assert.equal(skipped[0]?.side, 'skipped')
    assert.match(skipped[0]?.reason ?? '', /no vehicle state source/)
  })
})
