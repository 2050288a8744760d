import { sha256 } from '@fleetmesh/ledger'
import { SimConfigError } from './errors.js'
import type { Rng } from './rng.js'
import type { ResolvedScenario } from './scenario.js'

/** Role codes of {@link NodeTable.role}. */
export const STATION = 0
export const VEHICLE = 1

/** One node of a fleet given node by node (to mirror a real mesh). Plain data. */
export interface FleetNode {
  /** PeerId string */
  name: string
  role: 'station' | 'vehicle'
  /** one of the scenario's regions */
  region: string
  /** credits per unit */
  basePricePerUnit: number
  /** the owner policy allows work now @default true */
  available?: boolean
}

/**
 * Every node of a run as columns of typed arrays (one entry per node,
 * index = node number): role, region, online state, kad id, pricing and
 * lease count. A node is a number, never an object, so 100,000 nodes cost a
 * few MB.
 */
export class NodeTable {
  readonly size: number
  /** {@link STATION} or {@link VEHICLE} */
  readonly role: Uint8Array
  /** index into {@link regions} */
  readonly region: Uint16Array
  /** 1 while online */
  readonly online: Uint8Array
  /** ms of the last leave (for mesh repair), -Infinity if never */
  readonly leftAt: Float64Array
  /** first 32 bits of sha2-256 of the node's name: its kad-dht id */
  readonly kadId: Uint32Array
  /** offset of the node's gossipsub heartbeat in each second, ms */
  readonly heartbeatPhase: Float32Array
  /** base price, credits per unit */
  readonly basePrice: Float64Array
  /** leases held now */
  readonly held: Uint8Array
  /** 1 if a vehicle's owner policy allows work now (stations: always 1) */
  readonly available: Uint8Array
  /** region prefixes */
  readonly regions: string[]
  /** PeerId strings (tie-break of the auction and account names of balances) */
  readonly names: string[]
  /** nodes of each region */
  readonly byRegion: Int32Array[]

  /**
   * Builds the fleet of a scenario: nodes spread over the regions round
   * robin, the first `stationShare` of each region stations (at least one),
   * base prices spread evenly over the scenario's range in node order.
   *
   * @param names - PeerId strings of the nodes @default `sim-<i>` (zero-padded so string order is node order)
   * @param fleet - the nodes one by one instead (their count must be the scenario's `nodes`)
   * @throws SimConfigError if `fleet` does not fit the scenario
   */
  constructor (s: ResolvedScenario, rng: Rng, names?: string[], fleet?: FleetNode[]) {
    const n = s.nodes
    this.size = n
    this.regions = [...s.regions]
    this.role = new Uint8Array(n)
    this.region = new Uint16Array(n)
    this.online = new Uint8Array(n).fill(1)
    this.leftAt = new Float64Array(n).fill(-Infinity)
    this.kadId = new Uint32Array(n)
    this.heartbeatPhase = new Float32Array(n)
    this.basePrice = new Float64Array(n)
    this.held = new Uint8Array(n)
    this.available = new Uint8Array(n)
    const width = String(n - 1).length
    this.names = names ?? Array.from({ length: n }, (_, i) => `sim-${String(i).padStart(width, '0')}`)
    const members: number[][] = this.regions.map(() => [])
    for (let i = 0; i < n; i++) members[i % this.regions.length].push(i)
    const [lo, hi] = s.workers.basePricePerUnit
    for (let r = 0; r < members.length; r++) {
      const list = members[r]
      const stations = Math.max(1, Math.round(list.length * s.stationShare))
      list.forEach((node, k) => {
        this.region[node] = r
        this.role[node] = k < stations ? STATION : VEHICLE
      })
    }
    const enc = new TextEncoder()
    for (let i = 0; i < n; i++) {
      const h = sha256(enc.encode(this.names[i]))
      this.kadId[i] = ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0
      this.heartbeatPhase[i] = rng.next() * 1000
      this.basePrice[i] = n === 1 ? lo : lo + (hi - lo) * i / (n - 1)
      this.available[i] = this.role[i] === STATION || rng.chance(s.workers.vehiclesAvailable) ? 1 : 0
    }
    if (fleet != null) {
      if (fleet.length !== n) throw new SimConfigError(`the fleet lists ${fleet.length} nodes, the scenario ${n}`)
      for (const m of members) m.length = 0
      fleet.forEach((f, i) => {
        const r = this.regions.indexOf(f.region)
        if (r < 0) throw new SimConfigError(`fleet node ${f.name} is in region ${f.region}, not one of the scenario's ${this.regions.join(', ')}`)
        this.names[i] = f.name
        this.role[i] = f.role === 'station' ? STATION : VEHICLE
        this.region[i] = r
        this.basePrice[i] = f.basePricePerUnit
        this.available[i] = f.available === false ? 0 : 1
        members[r].push(i)
        const h = sha256(enc.encode(f.name))
        this.kadId[i] = ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0
      })
    }
    this.byRegion = members.map(m => Int32Array.from(m))
  }

  /** Nodes online now. */
  onlineCount (): number {
    let c = 0
    for (let i = 0; i < this.size; i++) c += this.online[i]
    return c
  }
}
