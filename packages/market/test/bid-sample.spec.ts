import assert from 'node:assert/strict'
import { delay, waitAdmitted, waitUntil } from '@fleetmesh/test-utils'
import { offersTopic } from '@fleetmesh/protocol'
import { bidDrawn, estimateRegionWorkers } from '../src/bid-draw.js'
import { createMarketFleet, workFor } from './utils/mesh.js'
import type { BidEvent } from '../src/index.js'
import type { MarketFleet, MarketNode } from './utils/mesh.js'

const WORKERS = 12

describe('bid sampling on real nodes: a region of 12 workers', function () {
  this.timeout(90_000)
  let fleet: MarketFleet
  afterEach(async () => { await fleet.stop() })

  it('an offer asking for 3 bids draws only the workers its sample names, the others stay silent; the next offer states the region\'s workers learned from those bids', async () => {
    fleet = await createMarketFleet()
    const requester = await fleet.add('station', 'u33d')
    const bootstrap = requester.node.getMultiaddrs().map(String)
    const workers: MarketNode[] = []
    for (let i = 0; i < WORKERS; i++) workers.push(await fleet.add('station', 'u33d', { bootstrap, worker: { onLease: workFor(50), pricing: { basePricePerUnit: 1, loadFactor: 0 } } }))
    // both ways: a worker drops (and marks seen) an offer from a requester it has not admitted yet, and the requester
    // publishes to the workers whose subscription of the region's offers topic it has heard
    await waitAdmitted(requester.node, workers.map(w => w.node))
    for (const w of workers) await waitAdmitted(w.node, [requester.node])
    const offers = offersTopic('u33d')
    await waitUntil(() => workers.every(w => requester.node.libp2p.services.pubsub.getSubscribers(offers).some(p => p.equals(w.node.peerId))), { timeoutMs: 15_000, message: `the requester to hear every worker's subscription of ${offers}` })
    await delay(1500) // gossipsub heartbeat grafts the mesh

    const heard: BidEvent[] = []
    requester.market.addEventListener('bid', (e) => { heard.push(e.detail) })
    const answers = new Map<string, BidEvent>()
    for (const w of workers) w.market.addEventListener('bid', (e) => { answers.set(w.node.peerId.toString(), e.detail) })

    // the requester states its estimate of the region: its 12 admitted workers there; a job id whose draw names neither none of
    // them (the job would find no bid) nor exactly 3 (what it learns would equal that first guess: the second offer could not show it)
    const drawFor = (id: string, regionWorkers: number): string[] => workers.map(w => w.node.peerId.toString()).filter(p => bidDrawn({ jobId: id, round: 0, bidsWanted: 3, regionWorkers }, p)).sort()
    let k = 0
    while (drawFor(`sampled-job-${k}`, WORKERS).length === 0 || drawFor(`sampled-job-${k}`, WORKERS).length === 3) k++
    const jobId = `sampled-job-${k}`
    const job = requester.market.submit({ jobId, modelCid: 'bafy-model', shardUnits: [100], maxPricePerUnit: 2, deadline: Date.now() + 60_000, bidWindowMs: 3000, minBids: WORKERS, bidsWanted: 3 })
    const settled = job.then(() => 'completed', (err: Error) => err.name)
    const expected = drawFor(jobId, WORKERS)
    await waitUntil(() => answers.size === WORKERS, { timeoutMs: 20_000, message: 'every worker to answer the offer (bid or skip)' })
    const sent = [...answers].filter(([, e]) => e.side === 'sent').map(([p]) => p).sort()
    assert.deepEqual(sent, expected, 'the workers that bid are exactly those the offer\'s sample draws')
    assert.ok(sent.length < WORKERS, `${sent.length} of ${WORKERS} workers bid for 3 wanted`)
    for (const [peer, e] of answers) {
      if (e.side === 'skipped') assert.equal(e.code, 'NOT_DRAWN', `worker ${peer} skipped for not being drawn`)
    }
    await waitUntil(() => heard.length >= sent.length, { timeoutMs: 20_000, message: 'the requester to hear every bid sent' })
    assert.deepEqual(heard.filter(b => b.side === 'received').map(b => b.bidder).sort(), sent, 'the requester heard the drawn bids and no others')
    assert.equal(await settled, 'completed', 'the job completed on the drawn bids')

    // the second job's offer states what the first taught: its bidders ÷ the share it asked for
    const learned = estimateRegionWorkers({ bidsWanted: 3, regionWorkers: WORKERS }, sent.length) as number
    assert.notEqual(learned, WORKERS, 'the first job taught another estimate than the first guess')
    answers.clear()
    heard.length = 0
    const second = requester.market.submit({ jobId: 'second-job', modelCid: 'bafy-model', shardUnits: [100], maxPricePerUnit: 2, deadline: Date.now() + 60_000, bidWindowMs: 3000, minBids: WORKERS, bidsWanted: 3 })
    const secondSettled = second.then(() => 'completed', (err: Error) => err.name)
    await waitUntil(() => answers.size === WORKERS, { timeoutMs: 20_000, message: 'every worker to answer the second offer' })
    const expectedSecond = drawFor('second-job', learned)
    const sentSecond = [...answers].filter(([, e]) => e.side === 'sent').map(([p]) => p).sort()
    assert.deepEqual(sentSecond, expectedSecond, `the second offer's sample states the learned estimate (${learned} workers)`)
    for (const [peer, e] of answers) {
      if (e.side === 'skipped') assert.match(e.reason ?? '', new RegExp(`of ~${learned} workers`), `worker ${peer}'s skip names the learned estimate`)
    }
    if (sentSecond.length === 0) requester.market.cancel('second-job')
    assert.ok(['completed', 'JobCancelledError'].includes(await secondSettled), 'the second job completed (or was cancelled when none was drawn)')
  })
})
