import { STATION } from './nodes.js'
import { Rng } from './rng.js'
import type { NodeTable } from './nodes.js'
import type { ResolvedScenario } from './scenario.js'

/**
 * Who is connected to whom, and which process hosts each node.
 *
 * `random` (a field fleet): no explicit graph; each node is taken to be
 * connected to `connectedPeers` random peers (gossip grafts and floods
 * among random subscribers, a DHT RPC dials when the peer is not among
 * them by chance).
 *
 * `bootstrap` (the real `bench/scale.ts`, its start-up order and
 * bootstrap lists): the first station alone; every other station dials
 * the first station and the first station of its region; the i-th vehicle
 * (vehicles in node order) dials two stations of its region, the
 * (i mod s)-th and the (i+1 mod s)-th of its region's s stations. The
 * connections stay as dialled; `stationsFullyConnected` adds every
 * station pair, `extraVehicleLinks` random vehicle-station links (as many
 * per vehicle on average: a real run's measured connection count less
 * its two bootstrap stations). The stations run in host 0, vehicle
 * i in host 1 + (i mod `vehicleHosts`).
 */
export class Connections {
  /** `peers[offsets[u] .. offsets[u + 1]]`: node numbers connected to u */
  readonly offsets: Int32Array
  readonly peers: Int32Array

  constructor (lists: number[][]) {
    this.offsets = new Int32Array(lists.length + 1)
    let total = 0
    lists.forEach((l, u) => { this.offsets[u] = total; total += l.length })
    this.offsets[lists.length] = total
    this.peers = new Int32Array(total)
    lists.forEach((l, u) => { this.peers.set(l, this.offsets[u]) })
  }

  /** Connections of node u. */
  degree (u: number): number {
    return this.offsets[u + 1] - this.offsets[u]
  }

  /** The k-th peer of node u. */
  peer (u: number, k: number): number {
    return this.peers[this.offsets[u] + k]
  }

  /** True if u and v are connected. */
  connected (u: number, v: number): boolean {
    for (let k = this.offsets[u]; k < this.offsets[u + 1]; k++) if (this.peers[k] === v) return true
    return false
  }

  /** Mean connection count of the nodes `which` selects. */
  meanDegree (which: (u: number) => boolean): number {
    let sum = 0
    let count = 0
    for (let u = 0; u < this.offsets.length - 1; u++) if (which(u)) { sum += this.degree(u); count++ }
    return count === 0 ? 0 : sum / count
  }
}

/** The connection graph and hosts of a scenario (see {@link Connections}); none for a `random` topology. */
export function buildTopology (s: ResolvedScenario, nodes: NodeTable): { connections?: Connections, hostOf?: Int32Array, hosts: number } {
  if (s.topology !== 'bootstrap') return { hosts: 0 }
  const n = nodes.size
  const lists: Array<Set<number>> = Array.from({ length: n }, () => new Set())
  const link = (a: number, b: number): void => { if (a !== b) { lists[a].add(b); lists[b].add(a) } }
  const stations: number[] = []
  const vehicles: number[] = []
  for (let i = 0; i < n; i++) (nodes.role[i] === STATION ? stations : vehicles).push(i)
  const stationsOf = nodes.regions.map((_, r) => stations.filter(x => nodes.region[x] === r))
  const first = stations[0]
  for (const st of stations) {
    if (first != null) link(st, first)
    const local = stationsOf[nodes.region[st]][0]
    if (local != null) link(st, local)
  }
  if (s.stationsFullyConnected) for (const a of stations) for (const b of stations) link(a, b)
  vehicles.forEach((v, i) => {
    const local = stationsOf[nodes.region[v]]
    if (local.length === 0) { if (first != null) link(v, first); return }
    link(v, local[i % local.length])
    link(v, local[(i + 1) % local.length])
  })
  // the vehicles' later dials (DHT lookups): random stations, as many as the scenario says on average
  if (s.extraVehicleLinks > 0 && stations.length > 0) {
    const rng = new Rng(s.seed + 7)
    const extra = Math.round(s.extraVehicleLinks * vehicles.length)
    for (let k = 0, tries = 0; k < extra && tries < 20 * extra; tries++) {
      const v = vehicles[rng.int(vehicles.length)]
      const st = stations[rng.int(stations.length)]
      if (lists[v].has(st)) continue
      link(v, st)
      k++
    }
  }
  const hosts = 1 + Math.max(1, s.vehicleHosts)
  const hostOf = new Int32Array(n)
  for (const st of stations) hostOf[st] = 0
  vehicles.forEach((v, i) => { hostOf[v] = 1 + (i % Math.max(1, s.vehicleHosts)) })
  return { connections: new Connections(lists.map(l => [...l])), hostOf, hosts }
}
