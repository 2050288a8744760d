import assert from 'node:assert/strict'
import { BidderRole, InvalidMarketMessageError, MAX_BID_ADDRS } from '@fleetmesh/protocol'
import { delay, waitAdmitted } from '@fleetmesh/test-utils'
import { multiaddr } from '@multiformats/multiaddr'
import { ownBidAddrs, parseBidAddrs } from '../src/bid-addrs.js'
import { checkBidFields } from '../src/messages.js'
import { createMarketFleet, workFor } from './utils/mesh.js'
import type { LeaseEvent } from '../src/index.js'
import type { MarketFleet } from './utils/mesh.js'

const bid = (addrs: Uint8Array[]): any => ({ jobId: 'j', bidder: new Uint8Array(), pricePerUnit: 1, msPerUnit: 1, setupMs: 0, capacity: 1, modelCached: true, role: BidderRole.STATION, round: 0, addrs })

describe('bids carry their bidder\'s addresses', function () {
  this.timeout(60_000)

  it('a bid lists the node\'s own addresses without /p2p, at most MAX_BID_ADDRS; bad ones are refused by name', () => {
    const id = '12D3KooWGBuHfXBKLYFW1AqzNB2maP7ixoHpVFH7xrxaqTLSqsie'
    const many = Array.from({ length: 12 }, (_, i) => multiaddr(`/ip4/127.0.0.${i + 1}/tcp/4001/p2p/${id}`))
    const own = ownBidAddrs({ getAddresses: () => [...many, many[0] as any] })
    assert.equal(own.length, MAX_BID_ADDRS)
    assert.deepEqual(parseBidAddrs(own).map(String), many.slice(0, MAX_BID_ADDRS).map(m => m.toString().replace(`/p2p/${id}`, '')))
    assert.deepEqual(ownBidAddrs(undefined), [])
    checkBidFields(bid(own))
    assert.throws(() => { checkBidFields(bid([...own, own[0] as Uint8Array])) }, (e: any) => e.name === InvalidMarketMessageError.name && /at most 8/.test(e.message))
    assert.throws(() => { checkBidFields(bid([new Uint8Array([0xff, 0xff, 0xff])])) }, (e: any) => e.code === 'ERR_INVALID_MARKET_MESSAGE' && /bid address 0 is not a multiaddr/.test(e.message))
    assert.throws(() => { checkBidFields(bid([new Uint8Array(200)])) }, /bid address 0 is 200 bytes; at most 128/)
  })

  describe('on a mesh', () => {
    let fleet: MarketFleet
    afterEach(async () => { await fleet?.stop() })

    it('a requester with no address of a bidder whose bid came through a station dials it on the bid\'s addresses, with no DHT lookup', async () => {
      fleet = await createMarketFleet()
      const a = await fleet.add('station', 'u33d', { worker: { onLease: workFor(300), pricing: { basePricePerUnit: 1, loadFactor: 0 } } })
      const boot = a.node.getMultiaddrs().map(String)
      const b = await fleet.add('station', 'u33d', { bootstrap: boot, worker: { onLease: workFor(300), pricing: { basePricePerUnit: 1, loadFactor: 0 } } })
      // a gateway that bootstraps only to its nearest station, as the testnet's office does, and only dials out (so no worker dials it)
      const requester = await fleet.add('station', 'u33d', { bootstrap: boot, listen: [] })
      await waitAdmitted(a.node, [b.node, requester.node])
      await delay(1500) // gossipsub heartbeat grafts the mesh
      // the requester has never met the second station: no connection, no address (the DHT may have introduced them: undo it)
      const libp2p = requester.node.libp2p
      await libp2p.hangUp(b.node.peerId)
      await libp2p.peerStore.delete(b.node.peerId)
      assert.equal(libp2p.getConnections(b.node.peerId).length, 0, 'the requester is not connected to the second station')
      // count the peer routing lookups of the dial (the real lookup still runs)
      const lookups: string[] = []
      const findPeer = libp2p.peerRouting.findPeer.bind(libp2p.peerRouting)
      libp2p.peerRouting.findPeer = async (id, options) => { lookups.push(id.toString()); return findPeer(id, options) }
      const leases: LeaseEvent[] = []
      requester.market.addEventListener('lease', (e) => { leases.push(e.detail) })
      const result = await requester.market.submit({ modelCid: 'bafy', shardUnits: [10, 10], maxPricePerUnit: 2, spread: true, minBids: 2, deadline: Date.now() + 30_000 })
      assert.deepEqual(leases.filter(l => l.state === 'declined').map(l => l.reason), [], 'no award went unanswered')
      assert.deepEqual(result.shards.map(s => s.worker).sort(), [a, b].map(n => n.node.peerId.toString()).sort(), 'one shard on each station')
      assert.deepEqual(lookups, [], 'the award dialled the second station without a DHT lookup')
    })
  })
})
