import assert from 'node:assert/strict'
import { delay, waitAdmitted, waitUntil } from '@fleetmesh/test-utils'
import { planAwards } from '../src/auction.js'
import { createMarketFleet, parkedVehicle, workFor } from './utils/mesh.js'
import type { AuctionBid } from '../src/auction.js'
import type { BidEvent, JobEvent, LeaseEvent } from '../src/index.js'
import type { MarketFleet, MarketNode } from './utils/mesh.js'

describe('market on real nodes: 1 requester + 8 workers in two regions', function () {
  this.timeout(60_000)
  let fleet: MarketFleet
  afterEach(async () => { await fleet.stop() })

  it('awards every shard to the best bids by the documented score; only same-region workers bid', async () => {
    fleet = await createMarketFleet()
    const requester = await fleet.add('station', 'u33d')
    const bootstrap = requester.node.getMultiaddrs().map(String)
    // region u33d: prices 0.5..1.5 credits/unit; region gcpv is cheaper still but must never bid on a u33d offer
    const local: Array<[string, 'station' | 'vehicle', number, number]> = [
      ['A', 'station', 0.5, 2], ['B', 'station', 0.8, 2], ['C', 'vehicle', 1.0, 1], ['D', 'vehicle', 1.2, 1], ['E', 'vehicle', 1.5, 1]
    ]
    const foreign: Array<[string, 'station' | 'vehicle', number, number]> = [['F', 'station', 0.1, 4], ['G', 'vehicle', 0.1, 2], ['H', 'vehicle', 0.1, 2]]
    const workers = new Map<string, { name: string, region: string, w: MarketNode }>()
    for (const [list, region] of [[local, 'u33d'], [foreign, 'gcpv']] as const) {
      for (const [name, role, price, cap] of list) {
        const vehicleState = role === 'vehicle' ? parkedVehicle() : undefined
        const w = await fleet.add(role, region, { bootstrap, worker: { onLease: workFor(150), pricing: { basePricePerUnit: price, loadFactor: 0.5 }, maxConcurrentLeases: cap, vehicleState } })
        workers.set(w.node.peerId.toString(), { name, region, w })
      }
    }
    await waitAdmitted(requester.node, [...workers.values()].map(x => x.w.node))
    await delay(1500) // gossipsub heartbeat grafts the mesh

    const bids: BidEvent[] = []
    const leases: LeaseEvent[] = []
    const jobs: JobEvent[] = []
    requester.market.addEventListener('bid', (e) => { bids.push(e.detail) })
    requester.market.addEventListener('lease', (e) => { leases.push(e.detail) })
    requester.market.addEventListener('job', (e) => { jobs.push(e.detail) })
    const offersSeen = new Set<string>()
    for (const { name, w } of workers.values()) w.market.addEventListener('offer', () => { offersSeen.add(name) })

    const result = await requester.market.submit({ modelCid: 'bafy-model', shardUnits: [100, 100, 100, 100, 100, 100], maxPricePerUnit: 2, deadline: Date.now() + 30_000, bidWindowMs: 1000 })
    const name = (peer: string): string => workers.get(peer)?.name ?? peer

    assert.deepEqual([...offersSeen].sort(), ['A', 'B', 'C', 'D', 'E'], 'only u33d workers saw the offer')
    assert.deepEqual(bids.map(b => name(b.bidder)).sort(), ['A', 'B', 'C', 'D', 'E'], 'one bid from each u33d worker, none from gcpv')
    const awarded = result.shards.map(s => name(s.worker)).sort()
    assert.deepEqual(awarded, ['A', 'A', 'B', 'B', 'C', 'D'], 'cheapest first, up to each bidder capacity')
    assert.equal(result.reawards, 0)
    assert.equal(result.reoffers, 0)
    for (const s of result.shards) {
      assert.equal(new TextDecoder().decode(s.result), `shard ${s.shardIndex} by worker`, `shard ${s.shardIndex} result`)
      assert.equal(s.pricePerUnit, bids.find(b => b.bidder === s.worker)?.pricePerUnit, `shard ${s.shardIndex} paid at the bid price`)
    }
    // the pure planner, fed the received bids, decides the same placement (RTT under 10 ms cannot change the order here)
    const terms = { shardUnits: [100, 100, 100, 100, 100, 100], maxPricePerUnit: 2, minReputation: 0, deadline: Date.now() + 30_000, submittedAt: Date.now(), region: 'u33d' }
    const auctionBids: AuctionBid[] = bids.map(b => ({ bidder: b.bidder, pricePerUnit: b.pricePerUnit ?? 0, msPerUnit: 10, setupMs: 2000, capacity: b.capacity ?? 0, modelCached: false, role: 'station', region: 'u33d', rttMs: 5, reputation: 1, expiresAt: Date.now() + 60_000 }))
    const plan = planAwards({ terms, bids: auctionBids, open: [0, 1, 2, 3, 4, 5].map(i => ({ shardIndex: i, replica: 0 })), now: Date.now() })
    assert.deepEqual(plan.awards.map(a => name(a.bidder)).sort(), awarded)
    // states: job bidding -> awarding -> running -> completed; each lease awarded -> active -> completed
    assert.deepEqual(jobs.map(j => j.state), ['bidding', 'awarding', 'running', 'completed'])
    for (const s of result.shards) {
      assert.deepEqual(leases.filter(l => l.leaseId === s.leaseId).map(l => l.state), ['awarded', 'active', 'completed'], `lease of shard ${s.shardIndex}`)
    }
    // a worker ends its lease when the requester acknowledged its Complete
    await waitUntil(() => [...workers.values()].every(({ w }) => w.market.heldLeases().length === 0), { timeoutMs: 5000, message: 'every worker to end its leases' })
  })
})
