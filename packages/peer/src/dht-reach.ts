/**
 * How far a vehicle's Kad-DHT work reaches. kad-dht 16 reads one number,
 * its routing table's `kBucketSize` K, for three things: the peers a
 * provide's ADD_PROVIDER goes to (the K closest its walk found), when a
 * query's walk ends (no closer peer than its K closest that answered), and
 * how many providers a `findProviders` lookup yields before it stops. A
 * vehicle wants a small K for the first two (VEHICLE_K_BUCKET_SIZE: each
 * provide reaches and dials a few stations, not every station) and the
 * full K_BUCKET_SIZE for the third (a lookup of `region/<r>`, where most
 * providers are vehicles, must still yield that region's stations).
 */

/** kad-dht 16's service as far as `lookupsYieldUpTo` reaches into it. */
interface KadDhtLike {
  routingTable?: { kBucketSize?: number }
  contentRouting?: { routingTable?: unknown }
}

/**
 * Lets the DHT's `findProviders` lookups yield up to `count` providers
 * whatever its routing table's K: kad-dht's content routing reads its
 * table only for `kBucketSize`, so it gets a view of the table that gives
 * `count` for it and everything else from the table itself.
 *
 * @throws Error when the service does not have the shape of kad-dht 16 (a
 * kad-dht upgrade moved it: the node would otherwise lose lookups silently)
 */
export function lookupsYieldUpTo (dht: unknown, count: number): void {
  const kad = dht as KadDhtLike
  const table = kad?.routingTable
  const contentRouting = kad?.contentRouting
  if (table == null || typeof table.kBucketSize !== 'number' || contentRouting == null || contentRouting.routingTable !== table) {
    throw new Error('the Kad-DHT service does not have the shape of kad-dht 16 (routingTable.kBucketSize, contentRouting.routingTable): check dht-reach.ts against the kad-dht version installed')
  }
  contentRouting.routingTable = Object.create(table, { kBucketSize: { value: count, enumerable: true } })
}
