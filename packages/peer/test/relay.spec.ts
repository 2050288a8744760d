import assert from 'node:assert/strict'
import { pbStream } from '@libp2p/utils'
import { AdmissionResult } from '@fleetmesh/protocol'
import { createTestMesh, waitUntil } from '@fleetmesh/test-utils'
import type { TestMesh } from '@fleetmesh/test-utils'
import type { MeshNode } from '../src/index.js'

const ECHO = '/fleetmesh/test-echo/1.0.0'

describe('reachability through a station relay', function () {
  this.timeout(60_000)
  let fleet: TestMesh

  beforeEach(async () => { fleet = await createTestMesh() })
  afterEach(async () => { await fleet.stop() })

  it('a vehicle that listens only through a station relay is found and reached by another vehicle', async () => {
    const station = await fleet.add('station', 'u33d')
    const boot = station.getMultiaddrs().map(String)
    // no direct listen address at all: reachable only through a relay reservation
    const hidden: MeshNode = await fleet.add('vehicle', 'u33d', { listen: ['/p2p-circuit'], bootstrap: boot })
    await waitUntil(() => hidden.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit')), { timeoutMs: 10_000, message: 'a relay reservation' })
    assert.ok(hidden.getMultiaddrs().every(a => a.toString().includes('/p2p-circuit')), `only circuit addresses: ${hidden.getMultiaddrs().join(', ')}`)
    await hidden.libp2p.handle(ECHO, async (stream) => {
      const pb = pbStream(stream)
      const msg = await pb.read(AdmissionResult)
      await pb.write({ accepted: true, code: `echo:${msg.code}` }, AdmissionResult)
      await stream.close()
    })
    await hidden.announced()

    const seeker: MeshNode = await fleet.add('vehicle', 'u33d', { bootstrap: boot })
    await seeker.announced()
    const found = await seeker.findPeers({ role: 'vehicle', region: 'u33d', timeoutMs: 10_000 })
    const peer = found.find(p => p.peerId.equals(hidden.peerId))
    assert.ok(peer != null, `the hidden vehicle was found (found ${found.length})`)
    assert.ok(peer.multiaddrs.some(a => a.toString().includes('/p2p-circuit')), 'its provider record carries the circuit address')
    assert.ok(seeker.isAdmitted(hidden.peerId), 'admitted over the relayed connection')
    const conns = seeker.libp2p.getConnections(hidden.peerId).filter(c => c.status === 'open')
    assert.ok(conns.some(c => c.remoteAddr.toString().includes('/p2p-circuit')), `relayed connection: ${conns.map(c => c.remoteAddr.toString()).join(', ')}`)
    assert.ok(typeof peer.rttMs === 'number', 'RTT measured through the relay')

    const stream = await seeker.libp2p.dialProtocol(hidden.peerId, ECHO, { signal: AbortSignal.timeout(5000) })
    const pb = pbStream(stream)
    await pb.write({ accepted: false, code: 'hello' }, AdmissionResult)
    const reply = await pb.read(AdmissionResult, { signal: AbortSignal.timeout(5000) })
    assert.equal(reply.code, 'echo:hello')
    await stream.close()
  })
})
