import { CONNECTION_MONITOR_INTERVAL_MS, STATION_GOSSIP_DEGREE, STATION_MAX_CONNECTIONS, VEHICLE_GOSSIP_DEGREE, VEHICLE_MAX_CONNECTIONS } from './constants.js'
import type { NodeRole } from '@fleetmesh/protocol'

/**
 * The per-role network footprint of a node: how many connections it keeps,
 * its gossipsub mesh degree and how often
 * its connections are pinged. Stations are the fleet's backbone (DHT
 * servers, relays, the hubs of the gossip mesh); vehicles hang off a few
 * stations. Plain data; `createMeshNode` applies it, and init fields
 * (`maxConnections`, `gossip`) override it.
 */
export interface RoleProfile {
  /** connection manager ceiling */
  maxConnections: number
  /** gossipsub mesh degree: target D, bounds Dlo..Dhi, outbound quota Dout */
  gossip: { D: number, Dlo: number, Dhi: number, Dout: number }
  /** connection monitor ping interval, ms */
  connectionMonitorIntervalMs: number
}

/**
 * The footprint of `role` (see each constant in constants.ts for its
 * measured effect).
 *
 * @param role - `station` or `vehicle`
 */
export function roleProfile (role: NodeRole): RoleProfile {
  if (role === 'station') {
    return { maxConnections: STATION_MAX_CONNECTIONS, gossip: { ...STATION_GOSSIP_DEGREE }, connectionMonitorIntervalMs: CONNECTION_MONITOR_INTERVAL_MS }
  }
  return { maxConnections: VEHICLE_MAX_CONNECTIONS, gossip: { ...VEHICLE_GOSSIP_DEGREE }, connectionMonitorIntervalMs: CONNECTION_MONITOR_INTERVAL_MS }
}
