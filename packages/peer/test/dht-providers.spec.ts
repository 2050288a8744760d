import assert from 'node:assert/strict'
import { capabilityCid } from '../src/index.js'
import { createRevocationList } from '@fleetmesh/protocol'
import { createTestMesh, delay, waitAdmitted, waitUntil } from '@fleetmesh/test-utils'
import type { TestMesh } from '@fleetmesh/test-utils'
import type { MeshNode } from '../src/index.js'

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

describe('DHT provider records of peers that are gone', function () {
  this.timeout(60_000)
  let fleet: TestMesh
  beforeEach(async () => { fleet = await createTestMesh() })
  afterEach(async () => { await fleet.stop() })

  it('a provider refused after it was admitted (revoked): once its refusal is swept, the station still answers lookups of the keys it provided', async () => {
    // Kad-DHT answers no GET_PROVIDERS of a key while one of its providers is missing from the peer store
    const station = await fleet.add('station', 'u33d', { refusalBackoffMs: 1000 })
    const boot = station.getMultiaddrs().map(String)
    const revoked = await fleet.add('vehicle', 'u33d', { bootstrap: boot })
    const seeker = await fleet.add('vehicle', 'u33e', { bootstrap: boot })
    await waitAdmitted(station, [revoked, seeker])
    await Promise.all([station, revoked, seeker].map(async n => n.announced()))
    assert.ok((await lookup(seeker, 'u33d', 5000)).includes(revoked.peerId.toString()), 'the vehicle is found as a provider of region/u33d first')

    await station.revoke(await createRevocationList(fleet.authority, [{ peerId: revoked.peerId, reason: 'stolen' }]))
    await fleet.stopNode(revoked)
    const admission = station.libp2p.services.admission as any
    await waitUntil(() => admission.refusedCount() === 0, { timeoutMs: 15_000, intervalMs: 100, message: 'the refusal to be swept after its back-off' })
    await delay(500)
    const found = await lookup(seeker, 'u33d', 5000)
    assert.ok(found.includes(station.peerId.toString()), `the station is found as a provider of region/u33d (found ${found.length})`)
    assert.ok(!found.includes(revoked.peerId.toString()), 'the revoked vehicle is not named')
  })
})
