import assert from 'node:assert/strict'
import { JobMode, offersTopic } from '@fleetmesh/protocol'
import { OFFER_BUDGET } from '../src/constants.js'
import { sealMarketMessage } from '../src/messages.js'
import { delay, waitAdmitted, waitUntil } from '@fleetmesh/test-utils'
import { createMarketFleet, workFor } from './utils/mesh.js'
import type { BidEvent, GossipRejection } from '../src/index.js'
import type { MarketFleet } from './utils/mesh.js'

describe('per-peer budgets on real nodes', function () {
  this.timeout(90_000)
  let fleet: MarketFleet
  beforeEach(async () => { fleet = await createMarketFleet() })
  afterEach(async () => { await fleet.stop() })

  it('500 valid offers in 2 s from one admitted peer: the worker stores and bids on at most its per-requester budget; another requester\'s job still gets a bid', async () => {
    const honest = await fleet.add('station', 'u33d')
    const bootstrap = honest.node.getMultiaddrs().map(String)
    const worker = await fleet.add('station', 'u33d', { bootstrap, worker: { onLease: workFor(50), maxConcurrentLeases: 4 } })
    const mallory = await fleet.add('station', 'u33d', { bootstrap, noMarket: true })
    await mallory.node.connect(worker.node.getMultiaddrs()[0] as any)
    await waitAdmitted(honest.node, [worker.node, mallory.node])
    await waitUntil(() => worker.node.isAdmitted(mallory.node.peerId), { timeoutMs: 15_000, message: 'mallory admitted by the worker' })
    const pubsub = mallory.node.libp2p.services.pubsub
    pubsub.subscribe(offersTopic('u33d'))
    await delay(1500) // gossip meshes graft

    const malloryId = mallory.node.peerId.toString()
    const floodOffers: string[] = []
    worker.market.addEventListener('offer', (e) => { if (e.detail.requester === malloryId) floodOffers.push(e.detail.jobId) })
    const floodBids: BidEvent[] = []
    worker.market.addEventListener('bid', (e) => { if (e.detail.side === 'sent' && e.detail.jobId.startsWith('flood-')) floodBids.push(e.detail) })
    const limited: GossipRejection[] = []
    worker.market.addEventListener('gossip:rejected', (e) => { if (e.detail.code === 'ERR_RATE_LIMITED') limited.push(e.detail) })

    const sealed: Uint8Array[] = []
    for (let i = 0; i < 500; i++) {
      sealed.push(await sealMarketMessage({
        offer: {
          jobId: `flood-${i}`,
          requester: mallory.node.peerId.toMultihash().bytes,
          modelCid: 'bafy',
          mode: JobMode.DATA,
          shardUnits: [10n],
          maxPricePerUnit: 100,
          deadline: BigInt(Date.now() + 60_000),
          redundancy: 1,
          minReputation: 0,
          region: 'u33d',
          round: 0,
          openShards: [],
          bidWindowMs: 500,
          inputs: []
        }
      }, { privateKey: mallory.privateKey, certificate: mallory.certificate }))
    }
    const started = Date.now()
    const honestJob = (async () => {
      await delay(1000)
      return honest.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 2, deadline: Date.now() + 40_000 })
    })()
    for (let i = 0; i < 500; i += 25) {
      await Promise.all(sealed.slice(i, i + 25).map(async bytes => pubsub.publish(offersTopic('u33d'), bytes).catch(() => {})))
      await delay(100)
    }
    const result = await honestJob
    await waitUntil(() => floodOffers.length + limited.length >= 500, { timeoutMs: 20_000, message: 'the worker to see all 500 offers' }).catch(() => {})
    const elapsedS = (Date.now() - started) / 1000

    const bound = OFFER_BUDGET.burst + OFFER_BUDGET.perSecond * elapsedS
    assert.ok(floodOffers.length >= 1, 'some offers got through')
    assert.ok(floodOffers.length <= bound, `stored ${floodOffers.length} of mallory's offers in ${elapsedS} s, at most ${bound}`)
    assert.ok(floodBids.length <= floodOffers.length, `bid on ${floodBids.length} of them`)
    assert.ok(limited.length >= 500 - bound, `${limited.length} offers over the budget were refused`)
    for (const r of limited.slice(0, 10)) assert.equal(r.verdict, 'ignore', 'over-rate gossip is ignored, not rejected')
    assert.equal(result.shards[0]?.worker, worker.node.peerId.toString(), 'the honest requester\'s job got its bid and ran')
  })
})
