import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { MIN_ANNOUNCED_REGION_PREFIX } from './constants.js'
import type { NodeRole } from '@fleetmesh/protocol'

/** A capability key kind. */
export type CapabilityKind = 'role' | 'region' | 'model'

/** The DHT key text of a capability. */
export function capabilityKey (kind: CapabilityKind, value: string): string {
  return `${kind}/${value}`
}

/**
 * The CID under which a capability key is provided: CIDv1, raw codec,
 * sha2-256 of the UTF-8 text `fleetmesh/<kind>/<value>`.
 */
export async function capabilityCid (kind: CapabilityKind, value: string): Promise<CID> {
  const digest = await sha256.digest(new TextEncoder().encode(`fleetmesh/${capabilityKey(kind, value)}`))
  return CID.createV1(raw.code, digest)
}

/**
 * The capability keys a node announces at start-up (models come on top).
 * Pure.
 *
 * A station: `role/station` and `region/<prefix>` for every prefix of its
 * region from MIN_ANNOUNCED_REGION_PREFIX (2) characters up to the whole
 * region, so a lookup of any wider area finds its stations. A vehicle:
 * `region/<its region>` only. A DHT client's provide dials, and is
 * admitted by, the K stations nearest each key, so a vehicle's start-up
 * costs one such round instead of four; a market job targets one whole
 * region, and the stations are a region's entry points for anything
 * wider.
 *
 * @param role - the node's certified role
 * @param region - its certified region (a geohash)
 * @returns [kind, value] pairs, stations' widest prefix first
 */
export function startupCapabilities (role: NodeRole, region: string): Array<[CapabilityKind, string]> {
  const keys: Array<[CapabilityKind, string]> = []
  if (role === 'station') {
    keys.push(['role', role])
    for (let n = Math.min(MIN_ANNOUNCED_REGION_PREFIX, region.length); n < region.length; n++) keys.push(['region', region.slice(0, n)])
  }
  keys.push(['region', region])
  return keys
}
