import assert from 'node:assert/strict'
import { DHT_PROTOCOL } from '@fleetmesh/protocol'
import { createTestMesh, delayCertificate, waitUntil } from '@fleetmesh/test-utils'

/** libp2p identify's protocol (its default prefix) */
const IDENTIFY_PROTOCOL = '/ipfs/id/1.0.0'
import type { TestMesh } from '@fleetmesh/test-utils'

/**
 * A node that dials a peer admits it only once the peer's certificate
 * arrives, and the peer sends it only after it verified the dialler's
 * (OUTBOUND_ADMISSION_TIMEOUT_MS allows 3 s for that). Meanwhile the peer,
 * which already admitted the dialler, opens its own streams to it
 * (identify, ping, gossipsub, Kad-DHT, market answers, model fetches):
 * they must wait for the dialler's admission, not be reset first.
 */
describe('admission: a late certificate or a lost identify on a fresh connection', function () {
  this.timeout(60_000)
  let fleet: TestMesh
  beforeEach(async () => { fleet = await createTestMesh() })
  afterEach(async () => { await fleet.stop() })

  it('its streams to the dialler, sent before the dialler admitted it, are served once it is admitted', async () => {
    const dialler = await fleet.add('station', 'u33d')
    const peer = await fleet.add('station', 'u33d')
    // the peer's certificate reaches the dialler 2 s late: later than the 1.2 s a gated stream used to wait
    delayCertificate(peer, dialler, 2000)
    let pinged: { ms?: number, error?: string } | undefined
    peer.libp2p.services.admission.addEventListener('peer:admitted', (evt) => {
      if (!evt.detail.peerId.equals(dialler.peerId)) return
      assert.equal(dialler.isAdmitted(peer.peerId), false, 'the dialler has not admitted the peer yet')
      peer.libp2p.services.ping.ping(dialler.peerId, { signal: AbortSignal.timeout(20_000) })
        .then(ms => { pinged = { ms } }, (err: any) => { pinged = { error: `${err?.name}: ${err?.message}` } })
    })
    await dialler.connect(peer.getMultiaddrs()[0] as any)
    assert.ok(dialler.isAdmitted(peer.peerId), 'connect() resolves once the peer is admitted')
    await waitUntil(() => pinged != null, { timeoutMs: 20_000, message: 'the ping sent before the dialler admitted the peer to settle' })
    assert.equal(pinged?.error, undefined, 'the ping was answered')
    assert.deepEqual(dialler.refusals(), [], 'no refusal at the dialler')
    assert.deepEqual(peer.refusals(), [], 'no refusal at the peer')
  })

  it('an identify that fails is run again: libp2p then tells the topologies (Kad-DHT, gossipsub) of the peer', async () => {
    const dialler = await fleet.add('station', 'u33d')
    const peer = await fleet.add('station', 'u33d')
    // the peer resets the dialler's first identify stream (a stream lost under load)
    const registrar = (peer.libp2p as any).components.registrar
    const { handler, options } = registrar.getHandler(IDENTIFY_PROTOCOL)
    let reset = 0
    await registrar.handle(IDENTIFY_PROTOCOL, async (stream: any, connection: any) => {
      if (connection.remotePeer.equals(dialler.peerId) && reset === 0) {
        reset++
        stream.abort(new Error('test: identify stream lost'))
        return
      }
      return handler(stream, connection)
    }, { ...options, force: true })
    // libp2p notifies the topologies of a peer on its `peer:identify` event
    let identified: string[] = []
    dialler.libp2p.addEventListener('peer:identify', (evt) => {
      if (evt.detail.peerId.equals(peer.peerId)) identified = evt.detail.protocols
    })
    await dialler.connect(peer.getMultiaddrs()[0] as any)
    await waitUntil(() => identified.includes(DHT_PROTOCOL), { timeoutMs: 10_000, message: 'the dialler to identify the peer' })
    assert.equal(reset, 1, 'the first identify stream was reset')
  })
})
