import { InvalidMarketMessageError, MAX_BID_ADDR_BYTES, MAX_BID_ADDRS } from '@fleetmesh/protocol'
import { CODE_P2P, multiaddr } from '@multiformats/multiaddr'
import type { PeerId, PeerStore } from '@libp2p/interface'
import type { AddressManager, ConnectionManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * A bid carries its bidder's own multiaddrs (`Bid.addrs`). Bids travel on
 * the region's bids topic, relayed by stations, so a requester often hears
 * a bidder it has never been connected to and knows no address of: its
 * award would need a DHT lookup first, and in a small fleet whose
 * requester knows one station that lookup can find nothing ("the dial
 * request has no valid addresses"), so the bidder was dropped from the job
 * and its shards went to the bidders the requester happened to know. With
 * the addresses in the (signed) bid the requester dials the winner
 * directly. Used by worker.ts (sending) and requester.ts (awarding).
 */

/**
 * This node's announced multiaddrs in binary, without their `/p2p/<id>`
 * suffix, at most MAX_BID_ADDRS (an address over MAX_BID_ADDR_BYTES is left
 * out). Empty without an address manager.
 */
export function ownBidAddrs (addressManager: Pick<AddressManager, 'getAddresses'> | undefined): Array<Uint8Array<ArrayBuffer>> {
  const out: Array<Uint8Array<ArrayBuffer>> = []
  const seen = new Set<string>()
  for (const ma of addressManager?.getAddresses() ?? []) {
    const bare = ma.getComponents().at(-1)?.code === CODE_P2P ? ma.decapsulateCode(CODE_P2P) : ma
    const key = bare.toString()
    if (seen.has(key) || bare.bytes.byteLength > MAX_BID_ADDR_BYTES) continue
    seen.add(key)
    out.push(new Uint8Array(bare.bytes))
    if (out.length >= MAX_BID_ADDRS) break
  }
  return out
}

/**
 * Parses a bid's addresses.
 *
 * @throws InvalidMarketMessageError if there are more than MAX_BID_ADDRS, one is longer than MAX_BID_ADDR_BYTES, or one is not a multiaddr
 */
export function parseBidAddrs (addrs: Uint8Array[]): Multiaddr[] {
  if (addrs.length > MAX_BID_ADDRS) throw new InvalidMarketMessageError(`bid carries ${addrs.length} addresses; at most ${MAX_BID_ADDRS}`)
  return addrs.map((bytes, i) => {
    if (bytes.byteLength > MAX_BID_ADDR_BYTES) throw new InvalidMarketMessageError(`bid address ${i} is ${bytes.byteLength} bytes; at most ${MAX_BID_ADDR_BYTES}`)
    try {
      return multiaddr(bytes)
    } catch (err: any) {
      throw new InvalidMarketMessageError(`bid address ${i} is not a multiaddr: ${err?.message ?? err}`)
    }
  })
}

/**
 * Before a direct exchange with `peer`: when this node has no connection to
 * it, adds `addrs` (from the peer's own signed bid) to its peer store entry,
 * so the dial tries them beside any it knew (a stored address may be stale:
 * a vehicle's port changes when its daemon restarts). Never throws: a peer
 * store error leaves the dial to the addresses known and the peer routing.
 */
export async function learnBidderAddrs (components: { connectionManager: Pick<ConnectionManager, 'getConnections'>, peerStore?: Pick<PeerStore, 'merge'> }, peer: PeerId, addrs: Multiaddr[]): Promise<void> {
  const store = components.peerStore
  if (store == null || addrs.length === 0 || components.connectionManager.getConnections(peer).length > 0) return
  await store.merge(peer, { multiaddrs: addrs }).catch(() => {})
}
