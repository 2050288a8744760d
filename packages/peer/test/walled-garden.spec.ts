import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  ADMISSION_PROTOCOL, AdmissionHello, AdmissionResult, DHT_PROTOCOL, INFER_PROTOCOL, MARKET_PROTOCOL, MODEL_PROTOCOL,
  RECEIPTS_TOPIC, RECONCILE_PROTOCOL, REVOCATION_PROTOCOL, REVOCATIONS_TOPIC, bidsTopic, createRevocationList, issueCertificate, offersTopic
} from '@fleetmesh/protocol'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { pbStream } from '@libp2p/utils'
import { capabilityCid, generateSwarmKey, loadOrCreateIdentity } from '../src/index.js'
import { createTestMesh, waitUntil } from '@fleetmesh/test-utils'
import { createRawNode, probeDht, probeProtocol } from './utils/raw-node.js'
import type { TestMesh } from '@fleetmesh/test-utils'
import type { MeshNode } from '../src/index.js'
import type { Libp2p, PeerId } from '@libp2p/interface'

function connected (node: MeshNode, peer: PeerId): boolean {
  return node.libp2p.getConnections(peer).some(c => c.status === 'open')
}

describe('walled garden: nothing for outsiders', function () {
  this.timeout(60_000)
  let fleet: TestMesh
  const extra: Array<{ stop: () => Promise<void> | void }> = []
  const dirs: string[] = []

  beforeEach(async () => { fleet = await createTestMesh() })
  afterEach(async () => {
    await Promise.allSettled(extra.map(async n => n.stop()))
    extra.length = 0
    await fleet.stop()
    await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true })))
    dirs.length = 0
  })

  it('a stock node with the swarm key and no certificate gets no gossip, no subscriptions, no DHT answer, no byte on any fleetmesh protocol, and is cut within 1 s', async () => {
    const station = await fleet.add('station', 'u33d')
    const vehicle = await fleet.add('vehicle', 'u33d', { bootstrap: station.getMultiaddrs().map(String), worker: undefined })
    await waitUntil(() => station.isAdmitted(vehicle.peerId), { timeoutMs: 5000, message: 'vehicle admitted' })
    await vehicle.announced()
    const topics = [offersTopic('u33d'), bidsTopic('u33d'), RECEIPTS_TOPIC, REVOCATIONS_TOPIC, '/fleetmesh/1/presence']
    station.subscribe('/fleetmesh/1/presence', () => {})
    vehicle.subscribe('/fleetmesh/1/presence', () => {})

    const raw = await createRawNode(fleet.swarmKey)
    extra.push(raw)
    let gossip = 0
    raw.services.pubsub.addEventListener('message', () => { gossip++ })
    for (const t of topics) raw.services.pubsub.subscribe(t)
    const target = station.getMultiaddrs()[0] as any
    await raw.dial(target)
    // members keep gossiping while the outsider is connected
    const publishing = setInterval(() => { void vehicle.publish('/fleetmesh/1/presence', new TextEncoder().encode('hello')).catch(() => {}) }, 20)
    const cid = (await capabilityCid('role', 'station')).bytes
    const answers = [
      await probeDht(raw, target, DHT_PROTOCOL, 3, cid),
      await probeDht(raw, target, DHT_PROTOCOL, 4, cid)
    ]
    const bytes: Record<string, number> = {}
    for (const p of [MARKET_PROTOCOL, INFER_PROTOCOL, MODEL_PROTOCOL, RECONCILE_PROTOCOL, REVOCATION_PROTOCOL]) {
      if (!raw.getConnections().some(c => c.status === 'open')) await raw.dial(target).catch(() => {})
      bytes[p] = await probeProtocol(raw, target, p, new Uint8Array(64))
    }
    clearInterval(publishing)
    assert.deepEqual(answers, [0, 0], 'no Kad-DHT answer to GET_PROVIDERS or FIND_NODE')
    assert.deepEqual(Object.values(bytes), [0, 0, 0, 0, 0], `no byte on any fleetmesh protocol: ${JSON.stringify(bytes)}`)
    assert.equal(gossip, 0, 'no gossip message reached the outsider')
    for (const t of topics) assert.equal(raw.services.pubsub.getSubscribers(t).length, 0, `no subscription of ${t} was sent to the outsider`)

    // a fresh outsider that stays silent is cut within 1 s
    const silent = await createRawNode(fleet.swarmKey)
    extra.push(silent)
    const start = Date.now()
    await silent.dial(target)
    await waitUntil(() => connected(station, silent.peerId), { timeoutMs: 1000, message: 'the station sees the outsider', intervalMs: 1 })
    await waitUntil(() => !connected(station, silent.peerId), { timeoutMs: 2000, message: 'silent outsider cut', intervalMs: 5 })
    const cutMs = Date.now() - start
    assert.ok(cutMs <= 1000, `silent outsider stayed connected ${cutMs} ms`)
    assert.equal(station.refusals().at(-1)?.code, 'ERR_ADMISSION_TIMEOUT')
  })

  it('an admission stream that ends without a certificate (an aborted duplicate dial) is not a refusal', async () => {
    const station = await fleet.add('station', 'u33d')
    const vehicle = await fleet.add('vehicle', 'u33d')
    await vehicle.connect(station.getMultiaddrs()[0] as any)
    await waitUntil(() => station.isAdmitted(vehicle.peerId), { timeoutMs: 3000, message: 'vehicle admitted' })
    // what the remote sees of a connection libp2p aborted: the admission stream opens and reads EOF
    for (let i = 0; i < 3; i++) {
      const connection = vehicle.libp2p.getConnections(station.peerId)[0]
      assert.ok(connection != null)
      const stream = await connection.newStream(ADMISSION_PROTOCOL, { runOnLimitedConnection: true })
      await stream.close()
    }
    const reset = await vehicle.libp2p.getConnections(station.peerId)[0]!.newStream(ADMISSION_PROTOCOL, { runOnLimitedConnection: true })
    reset.abort(new Error('duplicate'))
    await new Promise(resolve => setTimeout(resolve, 1200))
    assert.deepEqual(station.refusals(), [], 'the station refused nobody')
    assert.deepEqual(vehicle.refusals(), [], 'the vehicle refused nobody')
    assert.ok(station.isAdmitted(vehicle.peerId) && vehicle.isAdmitted(station.peerId), 'both stay admitted')
    assert.ok(connected(station, vehicle.peerId), 'the connection stays up')
  })

  it('a requester bootstrapped only to a station of region A finds and connects to the vehicles of region B through the DHT, with no refusal on either side', async () => {
    const stationA = await fleet.add('station', 'u33d')
    const stationB = await fleet.add('station', 'u0bc', { bootstrap: stationA.getMultiaddrs().map(String) })
    await waitUntil(() => stationA.isAdmitted(stationB.peerId), { timeoutMs: 5000, message: 'stations admitted' })
    const vehicles = await Promise.all([0, 1, 2].map(async () => fleet.add('vehicle', 'u0bc', { bootstrap: stationB.getMultiaddrs().map(String) })))
    await Promise.all(vehicles.map(async v => v.announced()))
    const requester = await fleet.add('vehicle', 'u33d', { bootstrap: stationA.getMultiaddrs().map(String) })
    await waitUntil(() => requester.isAdmitted(stationA.peerId), { timeoutMs: 5000, message: 'requester admitted' })
    const found = await requester.findPeers({ region: 'u0bc', role: 'vehicle', timeoutMs: 8000 })
    assert.equal(found.length, 3, `found ${found.length} of 3 region-B vehicles`)
    // ping and dial again, as a job's market and infer streams would
    await Promise.all(found.map(async p => requester.connect(p.multiaddrs[0] ?? p.peerId as any)))
    await new Promise(resolve => setTimeout(resolve, 1000))
    for (const v of vehicles) {
      assert.ok(requester.isAdmitted(v.peerId), `requester keeps ${v.peerId} admitted`)
      assert.ok(v.isAdmitted(requester.peerId), `${v.peerId} keeps the requester admitted`)
      assert.deepEqual(v.refusals().map(r => r.code), [], `${v.peerId} refused nobody`)
    }
    assert.deepEqual(requester.refusals().map(r => r.code), [], 'the requester refused nobody')
  })

  it('a certificate that is not yet valid is refused', async () => {
    const station = await fleet.add('station', 'u33d')
    const raw: Libp2p = await createRawNode(fleet.swarmKey)
    extra.push(raw)
    const future = await issueCertificate(fleet.authority, { peerId: raw.peerId, role: 'vehicle', region: 'u33d', issuedAt: Date.now() + 3600_000 })
    const stream = await raw.dialProtocol(station.getMultiaddrs()[0] as any, ADMISSION_PROTOCOL, { signal: AbortSignal.timeout(2000) })
    const pb = pbStream(stream)
    await pb.write({ certificate: future as Uint8Array<ArrayBuffer> }, AdmissionHello)
    const result = await pb.read(AdmissionResult, { signal: AbortSignal.timeout(2000) })
    assert.equal(result.accepted, false)
    assert.equal(result.code, 'ERR_CERTIFICATE_NOT_YET_VALID')
    await waitUntil(() => !connected(station, raw.peerId), { timeoutMs: 1000, message: 'refused peer disconnected' })
  })

  it('a wrong or missing swarm key fails every dial within 1 s, 50 tries in each direction', async () => {
    const station = await fleet.add('station', 'u33d', { dialTimeoutMs: 5000 })
    const other = await createTestMesh()
    extra.push(other)
    const wrong = await other.add('station', 'u33d', { dialTimeoutMs: 5000, swarmKey: generateSwarmKey() })
    const times: number[] = []
    for (let i = 0; i < 50; i++) {
      for (const [from, to] of [[wrong, station], [station, wrong]] as const) {
        const start = Date.now()
        await assert.rejects(from.libp2p.dial(to.getMultiaddrs()[0] as any, { signal: AbortSignal.timeout(5000) }), `try ${i}: dial must fail`)
        times.push(Date.now() - start)
      }
    }
    const slowest = Math.max(...times)
    assert.ok(slowest < 1000, `slowest failing dial took ${slowest} ms (sorted tail ${times.sort((a, b) => a - b).slice(-5).join(', ')})`)
    assert.equal(station.libp2p.getConnections().length, 0, 'the station holds no connection')
    assert.equal(wrong.libp2p.getConnections().length, 0, 'the other node holds no connection')
    // no key at all: a stock node without pnet
    const bare = await createRawNode(undefined)
    extra.push(bare)
    for (let i = 0; i < 10; i++) {
      const start = Date.now()
      await assert.rejects(bare.dial(station.getMultiaddrs()[0] as any, { signal: AbortSignal.timeout(5000) }), `no key, try ${i}`)
      assert.ok(Date.now() - start < 1000, `no key, try ${i}: failed after ${Date.now() - start} ms`)
    }
  })

  it('200 outsider connections at once do not stop a new vehicle joining, and the refused identities are forgotten', async () => {
    const station = await fleet.add('station', 'u33d', { refusalBackoffMs: 60_000 })
    const outsiders = await Promise.all(Array.from({ length: 20 }, async () => createRawNode(fleet.swarmKey)))
    extra.push(...outsiders)
    // the worst outsiders: they take the admission stream and stay silent
    const held: any[] = []
    await Promise.all(outsiders.map(async o => o.handle(ADMISSION_PROTOCOL, (stream) => { held.push(stream) })))
    const target = station.getMultiaddrs()[0] as any
    const flood = Promise.allSettled(outsiders.flatMap(o => Array.from({ length: 10 }, async () => o.dial(target, { force: true, signal: AbortSignal.timeout(3000) }))))
    await flood
    const start = Date.now()
    const vehicle = await fleet.add('vehicle', 'u33d', { bootstrap: [String(target)] })
    await waitUntil(() => station.isAdmitted(vehicle.peerId) && vehicle.isAdmitted(station.peerId), { timeoutMs: 5000, message: 'the vehicle joins during the flood' })
    const joinMs = Date.now() - start
    await flood
    assert.ok(joinMs <= 2000, `the vehicle joined after ${joinMs} ms`)
    await waitUntil(() => outsiders.every(o => !connected(station, o.peerId)), { timeoutMs: 3000, message: 'every outsider cut' })
    const admission = station.libp2p.services.admission as any
    assert.ok(admission.refusedCount() >= 1 && admission.refusedCount() <= 1024, `refused peers remembered: ${admission.refusedCount()}`)
  })

  it('refused identities are forgotten after their back-off, peer store entry included', async () => {
    const station = await fleet.add('station', 'u33d', { refusalBackoffMs: 60_000 })
    const raws = await Promise.all([0, 1, 2].map(async () => createRawNode(fleet.swarmKey)))
    extra.push(...raws)
    for (const raw of raws) {
      await raw.dial(station.getMultiaddrs()[0] as any)
      await waitUntil(() => connected(station, raw.peerId), { timeoutMs: 1000, message: 'the station sees the outsider', intervalMs: 1 })
      await waitUntil(() => !connected(station, raw.peerId), { timeoutMs: 2000, message: 'outsider cut' })
    }
    const admission = station.libp2p.services.admission as any
    assert.equal(admission.refusedCount(), 3)
    await waitUntil(() => admission.refusedCount() === 0, { timeoutMs: 12_000, message: 'refusals forgotten', intervalMs: 100 })
    for (const raw of raws) {
      await waitUntil(async () => !(await station.libp2p.peerStore.has(raw.peerId)), { timeoutMs: 2000, message: `peer store forgets ${raw.peerId}` })
      assert.equal(station.libp2p.services.admission.isRefused(raw.peerId), false)
    }
  })

  it('a revoked vehicle is dropped by every node of a 10-node mesh within 2 s, and the list survives a restart and reaches late joiners', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetmesh-revoke-'))
    dirs.push(dir)
    // a data-dir station: its certificate names the identity stored there
    const key = await loadOrCreateIdentity(dir)
    const certificate = await issueCertificate(fleet.authority, { peerId: peerIdFromPrivateKey(key), role: 'station', region: 'u33d', validForMs: 3600_000 })
    const station1 = await fleet.add('station', 'u33d', { dataDir: dir, privateKey: key, certificate })
    const station2 = await fleet.add('station', 'u33d', { bootstrap: station1.getMultiaddrs().map(String) })
    const boot = [...station1.getMultiaddrs(), ...station2.getMultiaddrs()].map(String)
    const vehicles = await Promise.all(Array.from({ length: 8 }, async () => fleet.add('vehicle', 'u33d', { bootstrap: boot })))
    const nodes = [station1, station2, ...vehicles]
    const victim = vehicles[0] as MeshNode
    await waitUntil(() => vehicles.every(v => v.isAdmitted(station1.peerId) && v.isAdmitted(station2.peerId)), { timeoutMs: 15_000, message: 'every vehicle admitted by both stations' })
    // gossip meshes form on the revocations topic within a heartbeat or two
    await waitUntil(() => nodes.every(n => n.libp2p.services.pubsub.getSubscribers(REVOCATIONS_TOPIC).length > 0), { timeoutMs: 10_000, message: 'revocation topic subscribed everywhere' })
    await new Promise(resolve => setTimeout(resolve, 1500))

    const list = await createRevocationList(fleet.authority, [{ peerId: victim.peerId, reason: 'stolen' }])
    const start = Date.now()
    await station1.revoke(list)
    const others = nodes.filter(n => n !== victim)
    await waitUntil(() => others.every(n => n.revocationLists().length === 1 && !connected(n, victim.peerId) && !n.isAdmitted(victim.peerId)), { timeoutMs: 2000, message: 'every node drops the revoked vehicle' })
    const tookMs = Date.now() - start
    assert.ok(tookMs <= 2000, `dropped everywhere after ${tookMs} ms`)
    for (const n of others) assert.ok(n.libp2p.services.admission.isExcluded(victim.peerId), `${n.peerId} excludes the revoked vehicle`)
    // the revoked vehicle cannot come back
    await victim.connect(station2.getMultiaddrs()[0] as any).catch(() => {})
    await new Promise(resolve => setTimeout(resolve, 300))
    assert.equal(station2.isAdmitted(victim.peerId), false, 'refused on reconnect')

    // a node joining later learns the list from the first member it meets
    const late = await fleet.add('vehicle', 'u33d', { bootstrap: [String(station2.getMultiaddrs()[0])] })
    await waitUntil(() => late.revocationLists().length === 1, { timeoutMs: 5000, message: 'late joiner receives the list' })
    // the station that applied it keeps it in its datastore across a restart
    await station1.stop()
    const restarted = await fleet.add('station', 'u33d', { dataDir: dir, privateKey: key, certificate })
    assert.ok(restarted.peerId.equals(station1.peerId))
    assert.equal(restarted.revocationLists().length, 1, 'the list is loaded from the datastore')
    assert.equal(restarted.revocationLists()[0]?.entries[0]?.peerId?.toString(), victim.peerId.toString())
    // an older list of the same authority is stale
    await assert.rejects(restarted.revoke(await createRevocationList(fleet.authority, [], { sequence: 1 })), { name: 'StaleRevocationListError' })
  })
})
