import type { PeerId } from '@libp2p/interface'
import { MAX_ROUTING_TABLE_CHECK_MS, ROUTING_TABLE_CHECK_MS } from './constants.js'

/** What one routing-table check of a station saw: its table's size and the stations it knew of (admitted or named by the DHT). */
export interface RoutingCheckSight {
  tableSize: number
  known: number
}

/**
 * The delay before a station's next routing-table check while its table
 * is short, ms. Pure.
 *
 * A check that saw the table or the stations known grow since the one
 * before (`previous`) keeps the base interval, ROUTING_TABLE_CHECK_MS: each
 * self-query names the stations of the tables it reached, so a table
 * fills over a few checks in a row, as the other stations' tables fill.
 * A check that saw neither grow doubles `delay`, up to
 * MAX_ROUTING_TABLE_CHECK_MS (bench/scale, 200 nodes: the checks that
 * ran while 180 vehicles were joining gained nothing and had doubled to
 * 40 s, so the first checks after the join, which found 4 and then 12
 * stations, came 40 s apart, and the lookups in between met routing
 * tables of 2 stations).
 *
 * @param delay - the delay before this check, ms
 * @param previous - what the check before saw; undefined for the first check (no growth to compare: doubles)
 * @param now - what this check saw
 */
export function nextRoutingCheckDelay (delay: number, previous: RoutingCheckSight | undefined, now: RoutingCheckSight): number {
  if (previous != null && (now.tableSize > previous.tableSize || now.known > previous.known)) return ROUTING_TABLE_CHECK_MS
  return Math.min(delay * 2, MAX_ROUTING_TABLE_CHECK_MS)
}

/** The peers a Kad-DHT query event names: the closer peers of a PEER_RESPONSE, the peer of a FINAL_PEER. */
export function namedPeers (event: unknown): PeerId[] {
  const e = event as { name?: string, closer?: Array<{ id?: PeerId }>, peer?: { id?: PeerId } }
  const ids = e?.name === 'PEER_RESPONSE' && Array.isArray(e.closer) ? e.closer.map(p => p.id) : e?.name === 'FINAL_PEER' ? [e.peer?.id] : []
  return ids.filter((id): id is PeerId => id != null && typeof id.toString === 'function')
}
