import { ADMISSION_PROTOCOL, DHT_PROTOCOL, REVOCATION_PROTOCOL } from '@fleetmesh/protocol'
import type { Admission } from './admission-types.js'
import type { Connection, Logger, PeerId } from '@libp2p/interface'

/**
 * Protocols whose open streams do not keep a connection a vehicle's
 * provide opened: the DHT's own, admission, revocation lists, gossipsub's
 * long-lived streams, identify and ping. A stream of anything else (a
 * market message, an inference session, a model transfer) does.
 */
function isControlProtocol (protocol: string | undefined): boolean {
  if (protocol == null || protocol === '') return true
  return protocol === DHT_PROTOCOL || protocol === ADMISSION_PROTOCOL || protocol === REVOCATION_PROTOCOL ||
    protocol.startsWith('/meshsub/') || protocol.startsWith('/ipfs/id/') || protocol.startsWith('/ipfs/ping/')
}

/** What closeProvideConnections reads of the node. */
export interface ProvideConnectionsNode {
  getConnections: () => Connection[]
  admission: Pick<Admission, 'get'>
  log: Logger
}

/**
 * A vehicle's provide (Kad-DHT client, VEHICLE_K_BUCKET_SIZE) walks to the
 * stations nearest its region key, dials them and is admitted by each; all
 * the vehicles of a region provide the same key, so those two stations
 * held every vehicle of the region, and each vehicle 4–5 connections
 * instead of its two bootstrap stations (bench/scale, 100 nodes: 4.5 per
 * vehicle, 50 per station, 72 at the two nearest the key). Once its first
 * announce is done this closes the connections to stations that are not in
 * `keep` (its bootstrap peers) and carry no stream but the mesh's control
 * protocols; the records stay on those stations, which answer lookups with
 * them, and a requester dials the vehicle as before.
 *
 * @returns the number of connections closed
 */
export async function closeProvideConnections (node: ProvideConnectionsNode, keep: Array<PeerId | undefined>): Promise<number> {
  // a bootstrap address without a peer id cannot be told apart: keep everything
  if (keep.length === 0 || keep.some(p => p == null)) return 0
  const kept = new Set(keep.map(String))
  // never the last link: some bootstrap peer must be connected
  if (!node.getConnections().some(c => c.status === 'open' && kept.has(c.remotePeer.toString()))) return 0
  const closing = node.getConnections().filter(c =>
    c.status === 'open' &&
    !kept.has(c.remotePeer.toString()) &&
    node.admission.get(c.remotePeer)?.role === 'station' &&
    c.streams.every(s => isControlProtocol(s.protocol))
  )
  await Promise.all(closing.map(async c => c.close().catch((err: Error) => { c.abort(err) })))
  if (closing.length > 0) node.log('closed %d station connections its provide opened', closing.length)
  return closing.length
}
