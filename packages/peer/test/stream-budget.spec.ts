import assert from 'node:assert/strict'
import { createTestMesh, waitUntil } from '@fleetmesh/test-utils'
import { INBOUND_STREAM_BUDGET, MAX_CONNECTIONS_PER_PEER, STREAM_FLOOD_BACKOFF_MS } from '../src/index.js'
import type { AdmissionRefusal, MeshNode } from '../src/index.js'
import type { TestMesh } from '@fleetmesh/test-utils'

/** A protocol the target serves with no stream limit to speak of: only the budget refuses its streams. */
const FLOOD_PROTOCOL = '/fleetmesh-test/flood/1.0.0'

/** Opens `count` streams from `from` to `to`, `parallel` at a time, as fast as they are answered; returns how many opened. */
async function openStreams (from: MeshNode, to: MeshNode, count: number, parallel: number): Promise<number> {
  let opened = 0
  let next = 0
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) {
      next++
      const connection = from.libp2p.getConnections(to.peerId).find(c => c.status === 'open')
      if (connection == null) return
      try {
        const s = await connection.newStream(FLOOD_PROTOCOL, { signal: AbortSignal.timeout(5000), maxOutboundStreams: 100_000 } as any)
        opened++
        s.abort(new Error('done'))
      } catch {}
    }
  }))
  return opened
}

describe('inbound stream budget per connection', function () {
  this.timeout(60_000)
  let fleet: TestMesh
  beforeEach(async () => { fleet = await createTestMesh() })
  afterEach(async () => { await fleet.stop() })

  it('an admitted peer that opens streams past the budget has them reset before negotiation, is cut and refused with ERR_STREAM_FLOOD for STREAM_FLOOD_BACKOFF_MS (bench/adversary\'s feed-open flood)', async () => {
    const target = await fleet.add('station', 'u33d', { inboundStreamBudget: { perSecond: 50, burst: 100, cutAfter: 50 } })
    await target.libp2p.handle(FLOOD_PROTOCOL, (stream) => { stream.abort(new Error('served')) }, { maxInboundStreams: 100_000 })
    const attacker = await fleet.add('station', 'u33d', { bootstrap: target.getMultiaddrs().map(String) })
    await waitUntil(() => target.isAdmitted(attacker.peerId) && attacker.isAdmitted(target.peerId), { timeoutMs: 15_000, message: 'both admitted' })
    const refusals: AdmissionRefusal[] = []
    target.addEventListener('peer:refused', (e) => { refusals.push(e.detail) })

    const startedAt = Date.now()
    await openStreams(attacker, target, 2000, 64)
    await waitUntil(() => refusals.length > 0, { timeoutMs: 10_000, message: 'the target to refuse the flooding peer' })
    assert.equal(refusals[0]?.code, 'ERR_STREAM_FLOOD')
    assert.ok(refusals[0]?.peerId.equals(attacker.peerId), 'the flooder is refused')
    await waitUntil(() => target.libp2p.getConnections(attacker.peerId).length === 0, { timeoutMs: 5000, message: 'the flooder\'s connection closed' })
    assert.equal(target.libp2p.services.admission.isRefused(attacker.peerId), true, 'kept out for the back-off')
    assert.ok(STREAM_FLOOD_BACKOFF_MS > 0 && INBOUND_STREAM_BUDGET.perSecond > 0)
    assert.ok(Date.now() - startedAt < 30_000)
  })

  it('a peer within the budget keeps its connection and its admission', async () => {
    const target = await fleet.add('station', 'u33d', { inboundStreamBudget: { perSecond: 50, burst: 100, cutAfter: 50 } })
    await target.libp2p.handle(FLOOD_PROTOCOL, (stream) => { stream.abort(new Error('served')) }, { maxInboundStreams: 100_000 })
    const peer = await fleet.add('station', 'u33d', { bootstrap: target.getMultiaddrs().map(String) })
    await waitUntil(() => target.isAdmitted(peer.peerId) && peer.isAdmitted(target.peerId), { timeoutMs: 15_000, message: 'both admitted' })
    const opened = await openStreams(peer, target, 80, 8)
    assert.equal(opened, 80, 'every stream of the burst negotiated')
    assert.equal(target.isAdmitted(peer.peerId), true)
    assert.equal(target.libp2p.services.admission.isRefused(peer.peerId), false)
  })

  it('a peer holds at most MAX_CONNECTIONS_PER_PEER connections to a node: further inbound ones are denied (each would multiply every per-connection bound)', async () => {
    const target = await fleet.add('station', 'u33d')
    const peer = await fleet.add('station', 'u33d', { bootstrap: target.getMultiaddrs().map(String) })
    await waitUntil(() => target.isAdmitted(peer.peerId) && peer.isAdmitted(target.peerId), { timeoutMs: 15_000, message: 'both admitted' })
    const addr = target.getMultiaddrs()[0]
    assert.ok(addr != null)
    const outcomes: string[] = []
    for (let i = 0; i < MAX_CONNECTIONS_PER_PEER + 2; i++) {
      try {
        // a denied connection is closed by the target once encrypted: the dialler may see it open for a moment
        await peer.libp2p.dial(addr, { force: true, signal: AbortSignal.timeout(10_000) })
        outcomes.push('dialled')
      } catch (err: any) {
        outcomes.push(err?.name ?? 'error')
      }
    }
    await waitUntil(() => target.libp2p.getConnections(peer.peerId).filter(c => c.status === 'open').length <= MAX_CONNECTIONS_PER_PEER, { timeoutMs: 5000, message: 'the target to hold at most the cap' })
    const held = target.libp2p.getConnections(peer.peerId).filter(c => c.status === 'open').length
    assert.equal(held, MAX_CONNECTIONS_PER_PEER, `the target holds ${held} connections of the peer (${outcomes.join(', ')})`)
    assert.equal(target.isAdmitted(peer.peerId), true, 'the peer stays admitted over the connections it keeps')
  })
})
