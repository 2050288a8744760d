import { strict as assert } from 'node:assert'
import { SeriesRecorder, quantile } from '../src/series.js'
import { WorkerLeaseLog, ownerEarningsByDay } from '../src/views.js'
import type { VerifiedReceipt } from '@fleetmesh/ledger'
import type { HeldLease, LeaseEvent } from '@fleetmesh/market'

describe('dashboard data cores (pure)', () => {
  it('quantile interpolates between closest ranks; none for no values', () => {
    assert.equal(quantile([], 0.5), null)
    assert.equal(quantile([3], 0.99), 3)
    assert.equal(quantile([4, 1, 3, 2], 0.5), 2.5)
    assert.equal(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 0.99), 10.9)
  })

  it('a sample has the interval\'s items/s and latency quantiles, the credits and peers at sample time; since() gives newer samples; old ones drop out', () => {
    let credits = { earned: 1, spent: 0.5 }
    const peers = [{ role: 'station' }, { role: 'vehicle' }, { role: 'vehicle' }]
    const s = new SeriesRecorder({ peers: () => peers, credits: () => credits }, 10_000, 30_000)
    const t0 = Date.now()
    s.sample(t0)
    for (let seq = 0; seq < 4; seq++) {
      s.onProgress({ type: 'shard-started', jobId: 'j', worker: 'w', seq, items: 5, at: t0 + seq * 100 })
      s.onProgress({ type: 'shard-finished', jobId: 'j', worker: 'w', seq, computeMs: 1, at: t0 + seq * 100 + (seq + 1) * 100 })
    }
    s.onProgress({ type: 'shard-started', jobId: 'j', worker: 'w', seq: 9, items: 5, at: t0 })
    s.onWorkerLeaseCompleted(30)
    credits = { earned: 2, spent: 1 }
    const one = s.sample(t0 + 10_000)
    assert.equal(one.itemsPerSec, 2, '20 items in 10 s; the unfinished micro-batch does not count')
    assert.equal(one.workerUnitsPerSec, 3)
    assert.equal(one.latencyP50, 0.25)
    assert.ok(Math.abs((one.latencyP99 as number) - 0.397) < 1e-9, String(one.latencyP99))
    assert.deepEqual(one.peers, { station: 1, vehicle: 2 })
    assert.equal(one.creditsEarned, 2)
    assert.equal(one.creditsSpent, 1)
    const two = s.sample(t0 + 20_000)
    assert.equal(two.itemsPerSec, 0)
    assert.equal(two.latencyP50, null, 'no micro-batch in the interval')
    assert.deepEqual(s.since(t0 + 10_000).map(x => x.at), [t0 + 20_000])
    s.sample(t0 + 50_000)
    assert.deepEqual(s.since().map(x => x.at), [t0 + 20_000, t0 + 50_000], 'samples older than the window are dropped')
  })

  it('a node without a ledger has null credits', () => {
    const s = new SeriesRecorder({ peers: () => [], credits: () => undefined })
    const one = s.sample()
    assert.equal(one.creditsEarned, null)
    assert.equal(one.creditsSpent, null)
  })

  it('owners\' earnings per UTC day count paying receipts only (countersigned, one per slot), newest day first', () => {
    const r = (over: Partial<VerifiedReceipt>): VerifiedReceipt => ({
      id: 'a', jobId: 'j', shardIndex: 0, replica: 0, requester: 'q', worker: 'w', modelCid: 'm', inputDigest: '', outputDigest: '', computeMs: 1, units: 4, pricePerUnit: 0.5, startedAt: 0, finishedAt: Date.UTC(2025, 0, 1, 23, 59), leaseId: 'l', countersigned: true, workerJurisdiction: '', workerOwner: 'alice', requesterOwner: '', receipt: {} as any, ...over
    })
    const days = ownerEarningsByDay([
      r({ id: 'a' }),
      r({ id: 'b', jobId: 'k', finishedAt: Date.UTC(2025, 0, 2, 0, 1) }),
      r({ id: 'c', jobId: 'k', finishedAt: Date.UTC(2025, 0, 2, 0, 2) }), // same slot as b: not paid twice
      r({ id: 'd', jobId: 'x', countersigned: false }),
      r({ id: 'e', jobId: 'y', workerOwner: 'bob', units: 2 }),
      r({ id: 'f', jobId: 'z', workerOwner: '' })
    ])
    assert.deepEqual(days, [
      { owner: 'alice', day: '2025-01-02', credits: 2, shards: 1 },
      { owner: 'alice', day: '2025-01-01', credits: 2, shards: 1 },
      { owner: 'bob', day: '2025-01-01', credits: 1, shards: 1 }
    ])
  })

  it('the worker lease log keeps a lease\'s terms past its end, with the reason a lost one ended', () => {
    const held: HeldLease[] = [{ leaseId: 'l1', jobId: 'j1', requester: 'q', shardIndex: 1, replica: 0, shardCount: 3, units: 10, pricePerUnit: 0.2, modelCid: 'm', mode: 'data', deadline: 99, leaseTimeoutMs: 5000, startedAt: 5 }]
    const log = new WorkerLeaseLog(() => held, 2)
    const ev = (over: Partial<LeaseEvent>): LeaseEvent => ({ leaseId: 'l1', jobId: 'j1', shardIndex: 1, replica: 0, side: 'worker', requester: 'q', worker: 'me', state: 'active', at: 10, ...over })
    assert.equal(log.onLease(ev({ state: 'active' })), undefined)
    assert.equal(log.views().held[0]?.credits, 2)
    held.length = 0
    const ended = log.onLease(ev({ state: 'released', reason: 'released: drained: driving', at: 20 }))
    assert.deepEqual({ ...ended }, { leaseId: 'l1', jobId: 'j1', requester: 'q', shardIndex: 1, shardCount: 3, mode: 'data', state: 'released', reason: 'released: drained: driving', startedAt: 10, endedAt: 20, units: 10, pricePerUnit: 0.2, credits: 2, earned: false })
    assert.equal(log.onLease(ev({ side: 'requester', state: 'lost' })), undefined, 'requester-side events are not this worker\'s leases')
    log.onLease(ev({ leaseId: 'l2', state: 'completed', at: 30 }))
    log.onLease(ev({ leaseId: 'l3', state: 'completed', at: 40 }))
    const views = log.views(new Set(['l3']))
    assert.deepEqual(views.ended.map(v => [v.leaseId, v.earned]), [['l3', true], ['l2', false]], 'the newest two, newest first')
    assert.deepEqual(views.held, [])
  })
})
