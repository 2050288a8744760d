import assert from 'node:assert/strict'
import { MARKET_PROTOCOL } from '@fleetmesh/protocol'
import { delay, waitAdmitted, waitUntil } from '@fleetmesh/test-utils'
import { peerIdFromString } from '@libp2p/peer-id'
import { HEARTBEAT_INTERVAL_MS, KEPT_STREAM_IDLE_MS } from '../src/constants.js'
import { KeptStreams } from '../src/kept-streams.js'
import { createMarketFleet, workFor } from './utils/mesh.js'
import type { KeptStream } from '../src/kept-streams.js'
import type { MarketFleet, MarketNode } from './utils/mesh.js'
import type { Stream } from '@libp2p/interface'

/** The open market streams `from` holds to `to`, by direction. */
function marketStreams (from: MarketNode, to: MarketNode, direction: 'inbound' | 'outbound'): Stream[] {
  return from.node.libp2p.getConnections(to.node.peerId).flatMap(c => c.streams).filter(s => s.protocol === MARKET_PROTOCOL && s.direction === direction && s.status === 'open')
}

describe('market streams kept between a requester\'s messages to a worker', function () {
  this.timeout(60_000)
  let fleet: MarketFleet
  afterEach(async () => { await fleet.stop() })

  it('the award goes over a stream opened in the bid window, the lease\'s heartbeats over the same stream, and an unused stream is closed after KEPT_STREAM_IDLE_MS', async () => {
    fleet = await createMarketFleet()
    const requester = await fleet.add('station', 'u33d')
    const worker = await fleet.add('station', 'u33d', { bootstrap: requester.node.getMultiaddrs().map(String), worker: { onLease: workFor(3000) } })
    await waitAdmitted(requester.node, [worker.node])
    await waitAdmitted(worker.node, [requester.node])
    await delay(1500) // gossipsub heartbeat grafts the mesh

    let atAward: string[] | undefined
    let atActive: string[] | undefined
    requester.market.addEventListener('lease', (evt) => {
      if (evt.detail.side !== 'requester') return
      // emitted as the award is sent: the streams open to the worker then
      if (evt.detail.state === 'awarded') atAward ??= marketStreams(requester, worker, 'outbound').map(s => s.id)
      if (evt.detail.state === 'active') atActive ??= marketStreams(requester, worker, 'outbound').map(s => s.id)
    })
    const job = requester.market.submit({ modelCid: 'bafy', shardUnits: [10], maxPricePerUnit: 2, bidWindowMs: 1500, minBids: 2, deadline: Date.now() + 30_000 })
    await waitUntil(() => atActive != null, { timeoutMs: 10_000, message: 'the lease to be active' })
    assert.ok(atAward != null && atAward.length > 0, `a market stream to the likely winner was open when the award was sent (open then: ${JSON.stringify(atAward)})`)
    assert.ok(atActive != null && atActive.some(id => atAward?.includes(id)), `the award's stream is kept once the worker accepted (open: ${JSON.stringify(atActive)}, at the award: ${JSON.stringify(atAward)})`)

    // two heartbeats later the same stream is still the one in use
    await delay(2 * HEARTBEAT_INTERVAL_MS + 500)
    const kept = marketStreams(requester, worker, 'outbound').map(s => s.id)
    assert.ok(kept.some(id => atActive?.includes(id)), `the heartbeats went over the award's stream (open now: ${JSON.stringify(kept)}, after the accept: ${JSON.stringify(atActive)})`)

    const result = await job
    assert.equal(result.shards[0]?.worker, worker.node.peerId.toString())
    // no more heartbeats: the requester closes its unused stream, and the worker's side ends with it
    await delay(KEPT_STREAM_IDLE_MS + 1500)
    assert.deepEqual(marketStreams(requester, worker, 'outbound').map(s => s.id), [], 'the unused stream was closed')
    assert.deepEqual(marketStreams(worker, requester, 'inbound').map(s => s.id), [], 'the worker\'s end of it was closed too')
  })
})

/** A stand-in for a libp2p stream: only what the pool reads (statuses) and calls (close, abort). */
function fakeStream (): Stream & { closed: boolean } {
  const s = {
    closed: false,
    status: 'open',
    readStatus: 'readable',
    writeStatus: 'writable',
    remoteWriteStatus: 'writable',
    addEventListener () {},
    removeEventListener () {},
    send () { return true },
    push () {},
    log: Object.assign(() => {}, { error () {}, trace () {} }),
    async close () { s.closed = true; s.status = 'closed' },
    abort () { s.closed = true; s.status = 'aborted' }
  }
  return s as unknown as Stream & { closed: boolean }
}

describe('KeptStreams (the pool, no network)', () => {
  const a = peerIdFromString('12D3KooWH7VhVcZJfWwbS6tNUT9hbhragWYXtv2PpCsNZVitnNGS')
  const b = peerIdFromString('12D3KooWRm8J3iL796zPFi2EtGGtUJn58AG67gcqzMFHZnnsTzqD')

  it('keeps at most perPeer unused streams per peer and max in all; the rest are closed at once', () => {
    const pool = new KeptStreams({ idleMs: 60_000, perPeer: 2, max: 3 })
    const streams = Array.from({ length: 5 }, () => fakeStream())
    const wrapped: KeptStream[] = streams.map((s, i) => KeptStreams.wrap(i < 3 ? a : b, s))
    for (const k of wrapped) pool.put(k)
    assert.equal(pool.size, 3, 'two for a, one for b (the total limit)')
    assert.deepEqual(streams.map(s => s.closed), [false, false, true, false, true], 'the third stream to a and the second to b were closed')
    pool.clear()
    assert.equal(pool.size, 0)
    assert.ok(streams.every(s => s.closed), 'clear closes every kept stream')
  })

  it('take returns a kept stream once, skips one the remote closed, and an unused one is closed after idleMs', async () => {
    const pool = new KeptStreams({ idleMs: 100, perPeer: 2, max: 10 })
    const open = fakeStream()
    const closedByRemote = fakeStream()
    pool.put(KeptStreams.wrap(a, open))
    pool.put(KeptStreams.wrap(a, closedByRemote))
    ;(closedByRemote as any).remoteWriteStatus = 'closed'
    assert.equal(pool.take(a)?.stream, open, 'the stream the remote closed is skipped')
    assert.equal(closedByRemote.closed, true, 'and dropped')
    assert.equal(pool.take(a), undefined, 'nothing left for a')
    assert.equal(pool.take(b), undefined, 'nothing ever kept for b')
    const idle = fakeStream()
    pool.put(KeptStreams.wrap(b, idle))
    await delay(250)
    assert.equal(idle.closed, true, 'closed after idleMs unused')
    assert.equal(pool.size, 0)
    assert.equal(pool.take(b), undefined)
  })
})
