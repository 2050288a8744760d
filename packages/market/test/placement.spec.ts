import assert from 'node:assert/strict'
import { delay, waitAdmitted } from '@fleetmesh/test-utils'
import { createMarketFleet, workFor } from './utils/mesh.js'
import type { BidEvent, BidRefusal, OfferRequirements, RefusalEvent } from '../src/index.js'
import type { MarketFleet, MarketNode } from './utils/mesh.js'

/** Runs `submit` to its rejection; returns the error and how long it took, ms. */
async function failure (what: string, job: Promise<unknown>): Promise<{ err: any, ms: number }> {
  const t0 = Date.now()
  const err = await job.then(() => undefined, (e: any) => e)
  const ms = Date.now() - t0
  // the time to failure of each case, for the record (not asserted beyond "well before the deadline")
  console.log(`      time to failure, ${what}: ${ms} ms`)
  return { err, ms }
}

const peerIds = (nodes: MarketNode[]): string[] => nodes.map(n => n.node.peerId.toString()).sort()

describe('placement fails fast, with the real reason', function () {
  this.timeout(60_000)
  let fleet: MarketFleet
  beforeEach(async () => { fleet = await createMarketFleet() })
  afterEach(async () => { await fleet.stop() })

  async function mesh (workers: Array<{ price?: number, role?: 'station', canServe?: (offer: OfferRequirements) => BidRefusal | undefined, fail?: string }>, requesterOptions = {}): Promise<{ requester: MarketNode, workers: MarketNode[] }> {
    const requester = await fleet.add('station', 'u33d', requesterOptions)
    const bootstrap = requester.node.getMultiaddrs().map(String)
    const ws: MarketNode[] = []
    for (const w of workers) {
      const m = await fleet.add('station', 'u33d', { bootstrap, worker: { pricing: { basePricePerUnit: w.price ?? 1, loadFactor: 0 } } })
      const fail = w.fail
      m.market.handleLeases(fail != null ? async () => { throw new Error(fail) } : workFor(50), { canServe: w.canServe })
      ws.push(m)
    }
    await waitAdmitted(requester.node, ws.map(w => w.node))
    await delay(1500) // gossip mesh
    return { requester, workers: ws }
  }

  it('price: two workers ask 1.0 for a job paying at most 0.5: NoBidsError naming the lowest ask right after the bid window (deadline 5 min)', async () => {
    const { requester, workers } = await mesh([{ price: 1 }, { price: 1 }])
    const refused: RefusalEvent[] = []
    requester.market.addEventListener('refusal', (e) => { refused.push(e.detail) })
    const { err, ms } = await failure('price', requester.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 0.5, bidWindowMs: 500, placementTimeoutMs: 60_000 }))
    assert.equal(err?.name, 'NoBidsError', String(err))
    assert.equal(err.code, 'ERR_NO_BIDS')
    assert.equal(err.reason, 'price')
    assert.match(err.message, /lowest ask 1\.0 > maxPricePerUnit 0\.5/)
    assert.equal(err.lowestAsk, 1)
    assert.equal(err.maxPricePerUnit, 0.5)
    assert.equal(err.region, 'u33d')
    assert.deepEqual(err.refusals.map((r: any) => r.worker).sort(), peerIds(workers))
    for (const r of err.refusals) assert.equal(r.code, 'PRICE', `refusal of ${r.worker as string}`)
    assert.deepEqual(refused.map(r => [r.code, r.askPricePerUnit]), [['PRICE', 1], ['PRICE', 1]], 'one NoBid per worker')
    assert.ok(ms < 30_000, `failed after ${ms} ms: at the bid window, not at the 60 s placement timeout or the 5 min deadline`)
    assert.deepEqual(requester.market.jobs(), [])
  })

  it('no workers in the job\'s region: NoBidsError no-workers after bid window + placement timeout', async () => {
    const { requester } = await mesh([{ price: 0.1 }])
    const { err, ms } = await failure('no workers', requester.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 1, region: 'gcpv', bidWindowMs: 500, placementTimeoutMs: 2000 }))
    assert.equal(err?.name, 'NoBidsError', String(err))
    assert.equal(err.reason, 'no-workers')
    assert.equal(err.region, 'gcpv')
    assert.match(err.message, /no worker in region gcpv/)
    assert.deepEqual(err.refusals, [])
    assert.ok(ms >= 2000, `waited the placement timeout (${ms} ms)`)
    assert.ok(ms < 30_000, `failed after ${ms} ms, not at the 5 min deadline`)
  })

  it('limits: every worker\'s canServe refuses the model as too large: NoBidsError limits right after the bid window', async () => {
    const tooBig = (offer: OfferRequirements): BidRefusal | undefined => (offer.modelBytes ?? 0) > 100e6 ? { code: 'MODEL_TOO_LARGE', message: `model ${offer.modelBytes ?? 0} bytes over the 100 MB store budget` } : undefined
    const { requester, workers } = await mesh([{ canServe: tooBig }, { canServe: tooBig }])
    const skipped: BidEvent[] = []
    const sent: BidEvent[] = []
    for (const w of workers) {
      w.market.addEventListener('bid', (e) => {
        if (e.detail.side === 'skipped') skipped.push(e.detail)
        if (e.detail.side === 'sent') sent.push(e.detail)
      })
    }
    const { err, ms } = await failure('limits', requester.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 2, modelBytes: 120_000_000, placementTimeoutMs: 60_000 }))
    assert.equal(err?.name, 'NoBidsError', String(err))
    assert.equal(err.reason, 'limits')
    assert.match(err.message, /model 120 MB over every bidder's store budget \(2 workers\)/)
    assert.deepEqual(err.refusals.map((r: any) => r.code), ['MODEL_TOO_LARGE', 'MODEL_TOO_LARGE'])
    assert.deepEqual(sent, [], 'neither worker bid')
    // each worker skipped the offer; a re-offer sent before their NoBids came in is skipped too
    assert.ok(skipped.length >= 2 && skipped.every(s => s.code === 'MODEL_TOO_LARGE'), skipped.map(s => s.code).join(', '))
    assert.deepEqual([...new Set(skipped.map(s => s.bidder))].sort(), peerIds(workers), 'both workers skipped it')
    assert.ok(ms < 30_000, `failed after ${ms} ms: at the bid window, not at the 60 s placement timeout`)

    // the same workers serve a model that fits
    const ok = await requester.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 2, modelBytes: 4_700_000 })
    assert.equal(ok.shards.length, 1)
  })

  it('a shard whose lease was lost and could not be placed again reports how the lease was lost, not "no bids"', async () => {
    const { requester, workers } = await mesh([{ fail: 'GPU fell off the bus' }])
    const { err, ms } = await failure('lost lease', requester.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 2, deadline: Date.now() + 40_000, placementTimeoutMs: 2000 }))
    assert.equal(err?.name, 'JobFailedError', String(err))
    assert.equal(err.unplaced.length, 1)
    const reason: string = err.unplaced[0].reason
    assert.match(reason, /released: failed: GPU fell off the bus/)
    assert.ok(reason.includes(workers[0]?.node.peerId.toString() ?? '?'), `names the worker: ${reason}`)
    assert.doesNotMatch(reason, /^no bids/)
    assert.match(err.message, /GPU fell off the bus/)
    assert.equal(err.at, 'placement')
    assert.ok(ms < 30_000, `failed after ${ms} ms: at the placement timeout, not at the 40 s deadline`)
  })

  it('more shards than capacity: the placement timeout waits while the job\'s own bidders work through its shards', async () => {
    const requester = await fleet.add('station', 'u33d')
    const worker = await fleet.add('station', 'u33d', { bootstrap: requester.node.getMultiaddrs().map(String), worker: { onLease: workFor(1500), maxConcurrentLeases: 1 } })
    await waitAdmitted(requester.node, [worker.node])
    await delay(1500)
    const result = await requester.market.submit({ modelCid: 'bafy', shardUnits: [10, 10, 10], maxPricePerUnit: 2, placementTimeoutMs: 500, deadline: Date.now() + 40_000 })
    assert.deepEqual(result.shards.map(s => s.worker), new Array(3).fill(worker.node.peerId.toString()), 'one worker ran the shards one after another')
  })

  it('the requester refuses bidders below minReputation, reading reputation from the ledger component', async () => {
    // a stand-in ledger that rates every peer 0.2
    const ledger = (): unknown => ({ [Symbol.toStringTag]: 'test-ledger', reputation: () => 0.2 })
    const { requester, workers } = await mesh([{ price: 0.5 }], { services: { ledger } })
    const { err } = await failure('reputation', requester.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 2, minReputation: 0.5, placementTimeoutMs: 60_000 }))
    assert.equal(err?.name, 'NoBidsError', String(err))
    assert.equal(err.reason, 'reputation')
    assert.deepEqual(err.refusals.map((r: any) => [r.worker, r.code]), [[workers[0]?.node.peerId.toString(), 'REPUTATION']])
    assert.match(err.message, /below minReputation 0\.5/)
  })
})
