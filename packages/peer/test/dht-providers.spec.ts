import assert from 'node:assert/strict'
import { capabilityCid, VEHICLE_K_BUCKET_SIZE } from '../src/index.js'
import { TABLE_ROLE_RECHECK_MS } from '../src/constants.js'
import { createRevocationList, DHT_PROTOCOL } from '@fleetmesh/protocol'
import { createTestMesh, delay, waitAdmitted, waitUntil } from '@fleetmesh/test-utils'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'

/** libp2p ping's protocol (its default prefix) */
const PING_PROTOCOL = '/ipfs/ping/1.0.0'
import type { TestMesh } from '@fleetmesh/test-utils'
import type { MeshNode, MeshNodeInit } from '../src/index.js'
import type { PeerId } from '@libp2p/interface'

/** Providers of `region/<region>` other than `node` that `node` finds by DHT within `timeoutMs`. */
async function lookup (node: MeshNode, region: string, timeoutMs: number): Promise<string[]> {
  const found: string[] = []
  try {
    for await (const p of node.libp2p.contentRouting.findProviders(await capabilityCid('region', region), { signal: AbortSignal.timeout(timeoutMs) })) {
      if (!p.id.equals(node.peerId)) found.push(p.id.toString())
    }
  } catch {}
  return found
}

/** Makes `node` reset every `protocol` stream `from` opens for `ms` from now (a request lost `why`). */
async function resetStreams (node: MeshNode, protocol: string, from: MeshNode, ms: number, why: string): Promise<void> {
  const until = Date.now() + ms
  const registrar = (node.libp2p as any).components.registrar
  const { handler, options } = registrar.getHandler(protocol)
  await registrar.handle(protocol, async (stream: any, connection: any) => {
    if (connection.remotePeer.equals(from.peerId) && Date.now() < until) { stream.abort(new Error(`test: ${why}`)); return }
    return handler(stream, connection)
  }, { ...options, force: true })
}

describe('Kad-DHT at stations: providers that are gone, routing table entries missed under load', function () {
  this.timeout(60_000)
  let fleet: TestMesh
  beforeEach(async () => { fleet = await createTestMesh() })
  afterEach(async () => { await fleet.stop() })

  /** A station of u33d, a vehicle of u33d providing region/u33d there, and a vehicle of u33e that has found it by DHT. */
  async function providerMesh (stationInit: Partial<MeshNodeInit> = {}): Promise<{ station: MeshNode, provider: MeshNode, seeker: MeshNode }> {
    const station = await fleet.add('station', 'u33d', stationInit)
    const boot = station.getMultiaddrs().map(String)
    const provider = await fleet.add('vehicle', 'u33d', { bootstrap: boot })
    const seeker = await fleet.add('vehicle', 'u33e', { bootstrap: boot })
    await waitAdmitted(station, [provider, seeker])
    await Promise.all([station, provider, seeker].map(async n => n.announced()))
    assert.ok((await lookup(seeker, 'u33d', 5000)).includes(provider.peerId.toString()), 'the vehicle is found as a provider of region/u33d first')
    return { station, provider, seeker }
  }

  it('a provider refused after it was admitted (revoked): once its refusal is swept, the station still answers lookups of the keys it provided', async () => {
    // Kad-DHT answers no GET_PROVIDERS of a key while one of its providers is missing from the peer store
    const { station, provider: revoked, seeker } = await providerMesh({ refusalBackoffMs: 1000 })

    await station.revoke(await createRevocationList(fleet.authority, [{ peerId: revoked.peerId, reason: 'stolen' }]))
    await fleet.stopNode(revoked)
    const admission = station.libp2p.services.admission as any
    await waitUntil(() => admission.refusedCount() === 0, { timeoutMs: 15_000, intervalMs: 100, message: 'the refusal to be swept after its back-off' })
    await delay(500)
    const found = await lookup(seeker, 'u33d', 5000)
    assert.ok(found.includes(station.peerId.toString()), `the station is found as a provider of region/u33d (found ${found.length})`)
    assert.ok(!found.includes(revoked.peerId.toString()), 'the revoked vehicle is not named')
  })

  it('7 h after a provider last provided (its peer store entry not refreshed since), the station still answers lookups of its keys', async () => {
    // libp2p's peer store drops a peer not updated for maxPeerAge (6 h by default) while Kad-DHT keeps its
    // provider records 48 h, and answers no GET_PROVIDERS of a key while one of its providers is missing
    const { station, provider, seeker } = await providerMesh()
    await fleet.stopNode(provider)
    // the wall clock moves 7 h on (timers do not): every provider record is still valid
    const now = Date.now
    const later = 7 * 3_600_000
    Date.now = () => now() + later
    let found: string[]
    try {
      found = await lookup(seeker, 'u33d', 5000)
    } finally {
      Date.now = now
    }
    assert.ok(found.includes(station.peerId.toString()), `the station is found as a provider of region/u33d (found ${found.length})`)
  })

  it('a station whose routing table missed an admitted station (its one ping failed) gets it back by a self-query', async () => {
    const p = await fleet.add('station', 'u33d')
    const q = await fleet.add('station', 'u33e', { bootstrap: p.getMultiaddrs().map(String) })
    await waitAdmitted(p, [q])
    const station = await fleet.add('station', 'u33d', { bootstrap: [...p.getMultiaddrs(), ...q.getMultiaddrs()].map(String) })
    // p resets the station's pings for 3 s: Kad-DHT pings a new contact once before adding it to its routing table
    await resetStreams(p, PING_PROTOCOL, station, 3000, 'ping lost')
    await waitAdmitted(station, [p, q])
    const table = (station.libp2p.services.dht as any).routingTable
    await waitUntil(() => table.size === 2, { timeoutMs: 20_000, intervalMs: 200, message: `the station's routing table to hold both stations (holds ${table.size as number})` })
  })

  it('a station that admitted only its bootstrap station, and whose first self-query went unanswered, learns the stations the DHT names', async () => {
    const p = await fleet.add('station', 'u33d')
    const q = await fleet.add('station', 'u33e', { bootstrap: p.getMultiaddrs().map(String) })
    await waitAdmitted(p, [q])
    // q's own start-up queries (self-query 1 s after start, the table refresh) are over before the station joins
    await delay(3000)
    // p resets the DHT streams of the station for 3 s: its first self-query (kad-dht's, 1 s after start) finds no one
    const station = await fleet.add('station', 'u33d', { bootstrap: p.getMultiaddrs().map(String) })
    await resetStreams(p, DHT_PROTOCOL, station, 3000, 'DHT request lost')
    await waitAdmitted(station, [p])
    const table = (station.libp2p.services.dht as any).routingTable
    // its routing table holds p, the one station it admitted; q is named by p's answers to a self-query
    await waitUntil(() => table.size === 2, { timeoutMs: 25_000, intervalMs: 200, message: `the station's routing table to hold both stations (holds ${table.size as number})` })
    assert.ok(station.peers().some(m => m.peerId.equals(q.peerId)), 'the station admitted q, which it never bootstrapped from')
  })

  it('a station whose every new-contact ping failed (an empty routing table, so no self-query can start) gets its one station back', async () => {
    const p = await fleet.add('station', 'u33d')
    // p resets the station's pings for 3 s: Kad-DHT adds a contact only after a ping answered, and tries once
    const station = await fleet.add('station', 'u33d', { bootstrap: p.getMultiaddrs().map(String) })
    await resetStreams(p, PING_PROTOCOL, station, 3000, 'ping lost')
    await waitAdmitted(station, [p])
    const table = (station.libp2p.services.dht as any).routingTable
    await waitUntil(() => table.size === 1, { timeoutMs: 40_000, intervalMs: 200, message: 'the station\'s routing table to hold p' })
  })

  it('a vehicle whose bootstrap dial to its second station failed dials that station again and holds both (it re-dialled only while it had no peer)', async () => {
    const a = await fleet.add('station', 'u33d')
    const b = await fleet.add('station', 'u33d', { bootstrap: a.getMultiaddrs().map(String) })
    await waitAdmitted(a, [b])
    const privateKey = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(privateKey)
    // b refuses the vehicle for 3 s: the vehicle's bootstrap dial to b fails, the one to a succeeds
    ;(b.libp2p.services.admission as any).penalize(id, 'ERR_TEST_REFUSED', 'test: refused for 3 s', 3000)
    const vehicle = await fleet.add('vehicle', 'u33d', { privateKey, bootstrap: [...a.getMultiaddrs(), ...b.getMultiaddrs()].map(String) })
    await waitUntil(() => vehicle.isAdmitted(a.peerId), { timeoutMs: 10_000, message: 'the vehicle to be admitted by a' })
    assert.ok(!vehicle.isAdmitted(b.peerId), 'b refused the vehicle\'s first dial')
    await waitUntil(() => vehicle.isAdmitted(b.peerId) && b.isAdmitted(vehicle.peerId), { timeoutMs: 20_000, intervalMs: 200, message: 'the vehicle to hold b as well, once b takes it' })
    const table = (vehicle.libp2p.services.dht as any).routingTable
    await waitUntil(() => table.size === 2, { timeoutMs: 10_000, intervalMs: 200, message: `the vehicle's routing table to hold both stations (holds ${table.size as number})` })
  })

  it('a vehicle named as a provider in a DHT answer is not kept in the routing table (vehicles answer no DHT query)', async () => {
    const p = await fleet.add('station', 'u33d')
    const q = await fleet.add('station', 'u33e', { bootstrap: p.getMultiaddrs().map(String) })
    await waitAdmitted(p, [q])
    const vehicle = await fleet.add('vehicle', 'u33f', { bootstrap: q.getMultiaddrs().map(String) })
    await waitAdmitted(q, [vehicle])
    await vehicle.announced()
    // p looks up the vehicle's region: q answers with the vehicle as a provider, and kad-dht queues it for p's table
    await waitUntil(async () => (await lookup(p, 'u33f', 3000)).includes(vehicle.peerId.toString()), { timeoutMs: 20_000, intervalMs: 500, message: 'p to find the vehicle as a provider of region/u33f' })
    await waitUntil(() => p.isAdmitted(vehicle.peerId), { timeoutMs: 10_000, message: 'kad-dht to dial the vehicle to ping it' })
    // kad-dht may take the vehicle in before its certificate was read (its role unknown): it is checked again
    // TABLE_ROLE_RECHECK_MS after it entered and taken out then
    await delay(TABLE_ROLE_RECHECK_MS + 1500)
    const table = (p.libp2p.services.dht as any).routingTable
    assert.equal(await table.find(vehicle.peerId), undefined, 'the vehicle is not in p\'s routing table')
    assert.ok(await table.find(q.peerId) != null, 'the station q is')
  })
  it('a vehicle that looked a region up dials none of the vehicles the answer named as providers (kad-dht pings every peer an answer names before its routing table takes it)', async () => {
    // providerMesh's seeker (a vehicle of u33e) found the provider (a vehicle of u33d) through the station
    const { station, provider, seeker } = await providerMesh()
    const other = await fleet.add('vehicle', 'u33d', { bootstrap: station.getMultiaddrs().map(String) })
    await waitAdmitted(station, [other])
    await other.announced()
    await waitUntil(async () => (await lookup(seeker, 'u33d', 3000)).includes(other.peerId.toString()), { timeoutMs: 20_000, intervalMs: 500, message: 'the seeker to find the second vehicle as a provider of region/u33d' })
    // kad-dht's routing-table update queue pings a named peer at once (a dial and an admission handshake): give it the time
    await delay(3000)
    for (const v of [provider, other]) {
      assert.equal(seeker.libp2p.getConnections(v.peerId).length, 0, `the seeker holds no connection to the provider ${v.peerId.toString()}`)
    }
    const table = (seeker.libp2p.services.dht as any).routingTable
    assert.ok(await table.find(station.peerId) != null, 'the station is in the seeker\'s routing table')
    assert.equal(table.size, 1, 'the seeker\'s routing table holds the station only')
  })
})

describe('Kad-DHT at vehicles: how far a provide reaches', function () {
  this.timeout(90_000)
  let fleet: TestMesh
  beforeEach(async () => { fleet = await createTestMesh() })
  afterEach(async () => { await fleet.stop() })

  it('with fullStationTables, a vehicle\'s record of a key lies on the VEHICLE_K_BUCKET_SIZE stations nearest it, not on every station (each provide made every station dial and admit the vehicle)', async () => {
    const first = await fleet.add('station', 'u33d', { fullStationTables: true })
    const boot = first.getMultiaddrs().map(String)
    const stations = [first]
    for (let i = 1; i < 8; i++) stations.push(await fleet.add('station', 'u33d', { bootstrap: boot, fullStationTables: true }))
    for (const s of stations) await waitAdmitted(s, stations.filter(o => o !== s))
    await waitUntil(() => stations.every(s => (s.libp2p.services.dht as any).routingTable.size === stations.length - 1), { timeoutMs: 30_000, intervalMs: 200, message: 'every station\'s routing table to hold the other seven' })
    // the vehicle knows every station before it provides: a client's provide goes to the nearest stations it can reach
    const vehicle = await fleet.add('vehicle', 'u33d', { bootstrap: stations.flatMap(s => s.getMultiaddrs().map(String)), fullStationTables: true })
    await waitAdmitted(vehicle, stations)
    await waitUntil(() => stations.every(s => s.isAdmitted(vehicle.peerId)), { timeoutMs: 10_000, message: 'every station to admit the vehicle' })
    await vehicle.announced()
    await vehicle.announce('region', 'u33dz')
    const cid = await capabilityCid('region', 'u33dz')
    const holding = async (): Promise<MeshNode[]> => {
      const held: MeshNode[] = []
      for (const s of stations) {
        const providers: PeerId[] = await (s.libp2p.services.dht as any).providers.getProviders(cid)
        if (providers.some(p => p.equals(vehicle.peerId))) held.push(s)
      }
      return held
    }
    await waitUntil(async () => (await holding()).length > 0, { timeoutMs: 10_000, intervalMs: 200, message: 'a station to hold the vehicle\'s record of region/u33dz' })
    // the provide has had the time to reach every station it was sent to
    await delay(2000)
    const held = await holding()
    assert.ok(held.length <= VEHICLE_K_BUCKET_SIZE, `the vehicle's record lies on ${held.length} of ${stations.length} stations, at most ${VEHICLE_K_BUCKET_SIZE}`)
    // a seeker still finds it: its lookup's walk ends at the stations nearest the key
    const seeker = await fleet.add('vehicle', 'u33e', { bootstrap: stations[7]?.getMultiaddrs().map(String), fullStationTables: true })
    await waitUntil(async () => (await lookup(seeker, 'u33dz', 3000)).includes(vehicle.peerId.toString()), { timeoutMs: 20_000, intervalMs: 500, message: 'a vehicle of another region to find the vehicle as a provider of region/u33dz' })
  })
})
