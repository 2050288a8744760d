import assert from 'node:assert/strict'
import { BidderRole, bidsTopic, JobMode, MAX_OFFER_BYTES, offersTopic } from '@fleetmesh/protocol'
import { delay, waitUntil } from '@fleetmesh/test-utils'
import { sealMarketMessage } from '../src/messages.js'
import { createMarketFleet, workFor } from './utils/mesh.js'
import type { GossipRejection } from '../src/index.js'
import type { MarketFleet, MarketNode } from './utils/mesh.js'
import type { JobOffer } from '@fleetmesh/protocol'

/** gossipsub's score of `peer` at `at` (GossipSub has getScore; its type does not declare it) */
function score (at: MarketNode, peer: string): number {
  return (at.node.libp2p.services.pubsub as unknown as { getScore: (p: string) => number }).getScore(peer)
}

describe('gossip validation on real nodes', function () {
  this.timeout(60_000)
  let fleet: MarketFleet
  afterEach(async () => { await fleet.stop() })

  it('forged and oversize offers/bids are rejected, expired and replayed ones ignored; none reaches the auction, and the sender\'s score drops', async () => {
    fleet = await createMarketFleet()
    const requester = await fleet.add('station', 'u33d')
    const bootstrap = requester.node.getMultiaddrs().map(String)
    const worker = await fleet.add('station', 'u33d', { bootstrap, worker: { onLease: workFor(100) } })
    const mallory = await fleet.add('station', 'u33d', { bootstrap, noMarket: true })
    await mallory.node.connect(worker.node.getMultiaddrs()[0] as any)
    await waitUntil(() => requester.node.isAdmitted(worker.node.peerId) && requester.node.isAdmitted(mallory.node.peerId) && worker.node.isAdmitted(mallory.node.peerId), { timeoutMs: 15_000, message: 'all admitted' })
    // mallory listens on the offers topic to capture a genuine offer
    const pubsub = mallory.node.libp2p.services.pubsub
    const captured: Uint8Array[] = []
    pubsub.subscribe(offersTopic('u33d'))
    pubsub.addEventListener('message', (e: any) => { if (e.detail.topic === offersTopic('u33d')) captured.push(e.detail.data) })
    await delay(1500)

    const rejectedAtWorker: GossipRejection[] = []
    worker.market.addEventListener('gossip:rejected', (e) => { rejectedAtWorker.push(e.detail) })
    const rejectedAtRequester: GossipRejection[] = []
    requester.market.addEventListener('gossip:rejected', (e) => { rejectedAtRequester.push(e.detail) })
    const offersAtWorker: string[] = []
    worker.market.addEventListener('offer', (e) => { offersAtWorker.push(e.detail.jobId) })
    const bidsAtRequester: string[] = []
    requester.market.addEventListener('bid', (e) => { bidsAtRequester.push(`${e.detail.jobId}/${e.detail.bidder}`) })

    const genuine = await requester.market.submit({ jobId: 'genuine', modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 2, deadline: Date.now() + 20_000 })
    assert.equal(genuine.shards.length, 1)
    await waitUntil(() => captured.length > 0, { timeoutMs: 5000, message: 'mallory to capture the genuine offer' })

    const offer = (over: Partial<JobOffer>): JobOffer => ({
      jobId: 'forged',
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
      inputs: [],
      ...over
    })
    const asMallory = { privateKey: mallory.privateKey, certificate: mallory.certificate }
    const altered = Uint8Array.from(captured[0] as Uint8Array)
    altered[Buffer.from(altered).indexOf('bafy')] = 'c'.charCodeAt(0)
    const attacks: Array<[string, string, Uint8Array]> = [
      ['replayed offer', offersTopic('u33d'), captured[0] as Uint8Array],
      ['offer naming another requester', offersTopic('u33d'), await sealMarketMessage({ offer: offer({ jobId: 'forged-1', requester: requester.node.peerId.toMultihash().bytes }) }, asMallory)],
      ['altered offer', offersTopic('u33d'), altered],
      ['expired offer', offersTopic('u33d'), await sealMarketMessage({ offer: offer({ jobId: 'expired' }) }, { ...asMallory, now: Date.now() - 120_000 })],
      ['oversize offer', offersTopic('u33d'), await sealMarketMessage({ offer: offer({ jobId: 'oversize', modelCid: 'x'.repeat(MAX_OFFER_BYTES) }) }, asMallory)],
      ['bid naming another bidder', bidsTopic('u33d'), await sealMarketMessage({ bid: { jobId: 'target', bidder: worker.node.peerId.toMultihash().bytes, pricePerUnit: 0, msPerUnit: 0, setupMs: 0, capacity: 1, modelCached: true, role: BidderRole.STATION, round: 0, addrs: [] } }, asMallory)]
    ]
    // a second job is in its bid window while the attacks arrive: the forged bid targets its auction
    const target = requester.market.submit({ jobId: 'target', modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 2, deadline: Date.now() + 20_000, bidWindowMs: 4000 })
    await delay(1200)
    for (const [, topic, bytes] of attacks) await pubsub.publish(topic, bytes)
    await waitUntil(() => rejectedAtWorker.length >= 6 && rejectedAtRequester.length >= 1, { timeoutMs: 10_000, message: 'validators to see every attack' }).catch((err) => {
      throw new Error(`${err.message as string}: worker ${JSON.stringify(rejectedAtWorker.map(r => r.code))}, requester ${JSON.stringify(rejectedAtRequester.map(r => r.code))}`)
    })

    const codes = new Set(rejectedAtWorker.map(r => r.code))
    for (const code of ['ERR_REPLAYED_MESSAGE', 'ERR_SIGNER_MISMATCH', 'ERR_INVALID_SIGNATURE', 'ERR_MESSAGE_EXPIRED', 'ERR_MESSAGE_TOO_LARGE']) {
      assert.ok(codes.has(code), `worker rejected with ${code}: got ${[...codes].join(', ')}`)
    }
    // late and replayed messages may come from an honest forwarder: ignored; forged and malformed ones are rejected
    const ignored = new Set(['ERR_REPLAYED_MESSAGE', 'ERR_MESSAGE_EXPIRED'])
    for (const r of [...rejectedAtWorker, ...rejectedAtRequester]) {
      assert.equal(r.verdict, ignored.has(r.code) ? 'ignore' : 'reject', `${r.code} ${ignored.has(r.code) ? 'ignores' : 'rejects'}`)
      assert.equal(r.from, mallory.node.peerId.toString())
    }
    assert.ok(rejectedAtRequester.some(r => r.code === 'ERR_SIGNER_MISMATCH'), 'the requester rejected the forged bid')
    assert.equal((await target).shards[0]?.worker, worker.node.peerId.toString())
    assert.deepEqual(offersAtWorker, ['genuine', 'target'], 'no bad offer reached the worker')
    assert.deepEqual(bidsAtRequester, [`genuine/${worker.node.peerId.toString()}`, `target/${worker.node.peerId.toString()}`], 'no bad bid reached the auction')

    await delay(1200) // gossipsub recomputes scores on its 1 s heartbeat
    const wScore = score(worker, mallory.node.peerId.toString())
    const rScore = score(requester, mallory.node.peerId.toString())
    assert.ok(wScore < 0, `worker's score of the sender dropped: ${wScore}`)
    assert.ok(rScore < 0, `requester's score of the sender dropped: ${rScore}`)
    assert.ok(score(worker, requester.node.peerId.toString()) >= 0, 'honest requester keeps its score')

    // and the nodes keep running
    const again = await requester.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 2, deadline: Date.now() + 20_000 })
    assert.equal(again.shards[0]?.worker, worker.node.peerId.toString())
  })
})
