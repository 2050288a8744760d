import FlatQueue from 'flatqueue'
import { sha256 } from '@fleetmesh/ledger'
import { DHT_MESSAGE_BYTES, DHT_PEER_BYTES, DHT_QUERY_TIMEOUT_MS, DHT_RPC_TIMEOUT_MS, DIAL_ROUND_TRIPS, KAD_ALPHA, KAD_DISJOINT_PATHS, KAD_K, KAD_PREFIX_LENGTH, STREAM_ROUND_TRIPS } from './constants.js'
import { STATION } from './nodes.js'
import type { LinkModel } from './network.js'
import type { NodeTable } from './nodes.js'
import type { Rng } from './rng.js'
import type { Connections } from './topology.js'

/**
 * Kad-DHT lookups, modelled from @libp2p/kad-dht:
 *
 * - ids: kad-dht's id is the sha2-256 of the PeerId (or key); the
 *   simulator keeps its first 32 bits ({@link NodeTable.kadId}) and uses
 *   their XOR as the distance;
 * - servers: stations run the DHT in server mode, vehicles in client mode
 *   (packages/peer `mesh-node.ts`), so only stations sit in routing tables,
 *   answer queries and hold provider records;
 * - routing table: kad-dht's bucket trie splits a full bucket while its
 *   depth is below PREFIX_LENGTH (6), so it ends as up to 64 buckets of
 *   K (20) peers by the first 6 bits of the peer's id; the simulator fills
 *   each node's table as the routing-table refresh converges it: for each
 *   6-bit prefix, K random servers with that prefix (all when fewer);
 * - lookups: the start peers (the K closest in the local table) are split
 *   over `disjointPaths` (K = 20) paths; each path queries its closest
 *   unqueried peer, ALPHA (10) at once, and adds the peers each answer
 *   names that are closer to the key than the answering peer; a peer is queried once per lookup; the lookup ends when
 *   a provider is found, when no path has peers left, or at
 *   DHT_QUERY_TIMEOUT_MS;
 * - RPC: a new stream (its protocol negotiation, one round trip) and the
 *   request's round trip, plus DIAL_ROUND_TRIPS round trips when the nodes
 *   are not connected already; a server that left fails after
 *   DHT_RPC_TIMEOUT_MS;
 * - with a connection graph (bench/scale's bootstrap lists), a client's
 *   table holds the servers it is connected to (a client joins no other
 *   server's table and learns only from its own connections), and an RPC
 *   dials exactly when the two are not connected; with `serverTableSize`
 *   (bench/scale's measured start-up tables) a server's table holds that
 *   many servers, its connected ones first, so its answers name few closer
 *   peers;
 * - CPU: a lookup's set-up at its requester (`dhtLookupMs`) and each
 *   RPC's answer at its server (`dhtRpcMs`), when the scenario gives them
 *   (bench/sim-cost.ts measures both); on shared hosts (bench/scale) each
 *   of an RPC's arrivals waits for its host as a message does (the
 *   wake-up wait, then the work that reached the host before it: the
 *   lookup's other RPCs to the same process, the lookups' and messages'
 *   work reserved before), and a lookup's set-up waits for its host too;
 * - provide: the record goes to the K servers closest to the key (the
 *   lookup a real provide makes finds them; the simulator takes them from
 *   the full server list), or to the servers a scenario names
 *   (`recordHolders`: where bench/scale's providers' walks put them over
 *   the tables of its start-up, as measured).
 */

const BUCKETS = 1 << KAD_PREFIX_LENGTH
const SHIFT = 32 - KAD_PREFIX_LENGTH

/** The 32-bit kad id of a key (a capability key such as `region/u33d`). */
export function keyId (key: string): number {
  const h = sha256(new TextEncoder().encode(key))
  return ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0
}

/** XOR distance of two 32-bit kad ids. */
export function distance (a: number, b: number): number {
  return (a ^ b) >>> 0
}

/** Result of one lookup. */
export interface LookupResult {
  /** a provider was found in time */
  found: boolean
  /** ms from the start to the first provider (or to the end of the lookup) */
  ms: number
  /** RPCs sent */
  rpcs: number
  /** bytes of requests and answers */
  bytes: number
  /** with a connection graph: the provider came from a server the seeker was not connected to (a later round's dial; bench/scale's `answeredBy` "… dialled") */
  dialled?: boolean
}

/** Routing tables, provider records and lookups of a fleet. */
export class Dht {
  /** node numbers of the DHT servers */
  readonly servers: Int32Array
  /** `table[(node * 64 + bucket) * K + k]`: server node numbers, -1 empty */
  private readonly table: Int32Array
  private readonly count: Uint8Array
  private readonly nodes: NodeTable
  private readonly net: LinkModel
  private readonly connectedPeers: number
  private readonly connections?: Connections
  /** key id → the K servers closest to it (where its records go) and the providers */
  private readonly records = new Map<number, { holders: Set<number>, providers: Set<number> }>()

  /**
   * Builds the converged routing tables (model in the module docs).
   *
   * @param connectedPeers - peers each node is connected to (no dial before an RPC to one of them)
   * @param connections - the connection graph, if the scenario has one
   */
  /** CPU a lookup costs its requester before its first RPCs (kad-dht's query set-up), ms */
  private readonly lookupMs: number
  /** CPU a server spends answering one RPC (provider store, closer peers, the stream), ms; 0: the link model's processingMs */
  private readonly rpcMs: number

  /**
   * @param cost - CPU of a lookup's set-up (`lookupMs`) and of an RPC at its server (`rpcMs`), ms; `serverTableSize`: with a connection graph, each server's table holds this many servers (its connected servers first, then random ones), as bench/scale's start-up leaves them (measured: `shape.station.routingTableMean`), instead of the converged table
   */
  constructor (nodes: NodeTable, net: LinkModel, rng: Rng, connectedPeers: number, connections?: Connections, cost: { lookupMs?: number, rpcMs?: number, serverTableSize?: number } = {}) {
    this.lookupMs = cost.lookupMs ?? 0
    this.rpcMs = cost.rpcMs ?? 0
    this.nodes = nodes
    this.net = net
    this.connectedPeers = connectedPeers
    this.connections = connections
    const servers: number[] = []
    for (let i = 0; i < nodes.size; i++) if (nodes.role[i] === STATION) servers.push(i)
    this.servers = Int32Array.from(servers)
    const groups: number[][] = Array.from({ length: BUCKETS }, () => [])
    for (const s of servers) groups[nodes.kadId[s] >>> SHIFT].push(s)
    this.table = new Int32Array(nodes.size * BUCKETS * KAD_K).fill(-1)
    this.count = new Uint8Array(nodes.size * BUCKETS)
    const add = (n: number, p: number): boolean => {
      const b = nodes.kadId[p] >>> SHIFT
      const c = this.count[n * BUCKETS + b]
      for (let i = 0; i < c; i++) if (this.table[(n * BUCKETS + b) * KAD_K + i] === p) return false
      if (c >= KAD_K) return false
      this.table[(n * BUCKETS + b) * KAD_K + c] = p
      this.count[n * BUCKETS + b] = c + 1
      return true
    }
    const serverTable = connections != null && cost.serverTableSize != null ? Math.min(Math.round(cost.serverTableSize), servers.length - 1) : undefined
    for (let n = 0; n < nodes.size; n++) {
      if (connections != null && (nodes.role[n] !== STATION || serverTable != null)) {
        // a client: the servers it is connected to; a server of a start-up's table: those, then random ones up to its size
        let size = 0
        const most = nodes.role[n] === STATION && serverTable != null ? serverTable : Infinity
        for (let k = 0; k < connections.degree(n) && size < most; k++) {
          const p = connections.peer(n, k)
          if (nodes.role[p] === STATION && add(n, p)) size++
        }
        if (nodes.role[n] === STATION && serverTable != null) {
          for (let tries = 0; size < serverTable && tries < 50 * serverTable; tries++) {
            const p = servers[rng.int(servers.length)]
            if (p !== n && add(n, p)) size++
          }
        }
        continue
      }
      for (let b = 0; b < BUCKETS; b++) {
        // K random servers of the prefix (a partial Fisher-Yates on the group itself; its order does not matter)
        const g = groups[b]
        let take = 0
        for (let k = 0; k < g.length && take < KAD_K; k++) {
          const j = k + rng.int(g.length - k)
          const t = g[k]; g[k] = g[j]; g[j] = t
          if (g[k] === n) continue
          this.table[(n * BUCKETS + b) * KAD_K + take++] = g[k]
        }
        this.count[n * BUCKETS + b] = take
      }
    }
  }

  /** Peers in `node`'s routing table. */
  tableSize (node: number): number {
    let c = 0
    for (let b = 0; b < BUCKETS; b++) c += this.count[node * BUCKETS + b]
    return c
  }

  /** The `k` servers in `node`'s table closest to `id` by XOR, closest first. */
  closest (node: number, id: number, k = KAD_K): number[] {
    const best: number[] = []
    const base = node * BUCKETS
    for (let b = 0; b < BUCKETS; b++) {
      const c = this.count[base + b]
      for (let i = 0; i < c; i++) {
        const p = this.table[(base + b) * KAD_K + i]
        insertClosest(best, p, id, k, this.nodes.kadId)
      }
    }
    return best
  }

  /** The `k` servers of the whole fleet closest to `id` (online or not). */
  trueClosest (id: number, k = KAD_K): number[] {
    const best: number[] = []
    for (const s of this.servers) insertClosest(best, s, id, k, this.nodes.kadId)
    return best
  }

  /**
   * `provider` announces `key`: its record goes to the K servers closest to
   * the key's id (a provide over converged tables), or to `holders` when the
   * key's first provide names them (where the providers' walks put the
   * records: bench/scale's start-up, as its `recordsByStation` measures them).
   *
   * @param holders - node numbers of the servers that hold the key's records; only the key's first provide sets them
   */
  provide (key: string, provider: number, holders?: Iterable<number>): void {
    const id = keyId(key)
    let r = this.records.get(id)
    if (r == null) { r = { holders: new Set(holders ?? this.trueClosest(id)), providers: new Set() }; this.records.set(id, r) }
    r.providers.add(provider)
  }

  /** Servers holding records of `key` (node numbers; empty before its first provide). */
  holders (key: string): number[] {
    return [...(this.records.get(keyId(key))?.holders ?? [])]
  }

  /**
   * findProviders(key) from node `src` (model in the module docs); online
   * state as it stands now. Pure given `rng`, except on shared hosts,
   * where its work takes its place on the hosts' calendars.
   *
   * @param at - virtual ms the lookup starts (its place on shared hosts' calendars) @default 0
   */
  findProviders (src: number, key: string, rng: Rng, at = 0): LookupResult {
    const id = keyId(key)
    const held = this.records.get(id)?.holders
    const online = this.nodes.online
    const kad = this.nodes.kadId
    // the requester's own record counts (kad-dht checks its provider store first)
    if (held?.has(src) === true && online[src] === 1) return { found: true, ms: 0, rpcs: 0, bytes: 0 }
    const dialShare = Math.max(0, 1 - this.connectedPeers / Math.max(1, this.servers.length))
    const seen = new Set<number>([src])
    const paths: number[][] = Array.from({ length: KAD_DISJOINT_PATHS }, () => [])
    const start = this.closest(src, id)
    start.forEach((p, i) => { seen.add(p); paths[i % KAD_DISJOINT_PATHS].push(p) })
    const inflight = new Int32Array(KAD_DISJOINT_PATHS)
    // completions: (path, peer) encoded as peer * paths + path, keyed by time
    const q = new FlatQueue<number>()
    let rpcs = 0
    let bytes = 0
    let last = 0
    const launch = (path: number, now: number): void => {
      const list = paths[path]
      while (inflight[path] < KAD_ALPHA && list.length > 0) {
        list.sort((a, b) => distance(kad[b], id) - distance(kad[a], id))
        const p = list.pop() as number
        inflight[path]++
        rpcs++
        bytes += DHT_MESSAGE_BYTES
        let t: number
        if (online[p] !== 1 || this.net.lost(src, p, rng)) t = now + DHT_RPC_TIMEOUT_MS
        else if (shared) t = this.rpcOnHosts(src, p, at + now, this.connections != null ? !this.connections.connected(src, p) : rng.chance(dialShare), rng) - at
        else {
          // kad-dht opens a stream per RPC: the protocol negotiation, then the request and its answer
          t = now + (1 + STREAM_ROUND_TRIPS) * this.net.roundTrip(src, p, rng) + this.rpcMs
          const dial = this.connections != null ? !this.connections.connected(src, p) : rng.chance(dialShare)
          if (dial) for (let d = 0; d < DIAL_ROUND_TRIPS; d++) t += this.net.roundTrip(src, p, rng)
        }
        q.push(p * KAD_DISJOINT_PATHS + path, t)
      }
    }
    // on shared hosts every step waits for its host (times on the hosts' calendars: virtual ms from `at`, made relative at the end)
    const shared = this.net.cpu.shared
    const t0 = shared ? this.net.cpu.run(src, at, this.lookupMs) - at : this.lookupMs
    for (let p = 0; p < KAD_DISJOINT_PATHS; p++) launch(p, t0)
    while (q.length > 0) {
      const t = q.peekValue() as number
      const v = q.pop() as number
      last = t
      if (t > DHT_QUERY_TIMEOUT_MS) return { found: false, ms: DHT_QUERY_TIMEOUT_MS, rpcs, bytes }
      const path = v % KAD_DISJOINT_PATHS
      const p = (v - path) / KAD_DISJOINT_PATHS
      inflight[path]--
      if (online[p] === 1) {
        if (held?.has(p) === true) return { found: true, ms: t, rpcs, bytes: bytes + DHT_MESSAGE_BYTES + DHT_PEER_BYTES, dialled: this.connections != null ? !this.connections.connected(src, p) : undefined }
        const closer = this.closest(p, id)
        bytes += DHT_MESSAGE_BYTES + closer.length * DHT_PEER_BYTES
        const dp = distance(kad[p], id)
        for (const c of closer) {
          if (seen.has(c) || distance(kad[c], id) >= dp) continue
          seen.add(c)
          paths[path].push(c)
        }
      }
      launch(path, t)
    }
    return { found: false, ms: last, rpcs, bytes }
  }

  /**
   * One RPC from `src` to server `p` sent at virtual `t` on shared hosts:
   * a dial's DIAL_ROUND_TRIPS when `dial`, the stream's negotiation
   * (STREAM_ROUND_TRIPS), then the request and its answer; each arrival
   * waits for its host (its wake-up wait, then its queue): `processingMs`
   * at the server per set-up step and `rpcMs` for the request; the
   * seeker's steps take no CPU of their own (its CPU to the first provider
   * is `lookupMs`, spent before the first RPC) but wait for its host to wake.
   *
   * @returns the virtual ms the seeker has the answer
   */
  private rpcOnHosts (src: number, p: number, t: number, dial: boolean, rng: Rng): number {
    const { net } = this
    let at = t
    const setup = STREAM_ROUND_TRIPS + (dial ? DIAL_ROUND_TRIPS : 0)
    for (let r = 0; r < setup; r++) {
      at = net.cpu.run(p, at + net.latency(src, p, rng), net.processingMs)
      at = net.cpu.run(src, at + net.latency(p, src, rng), 0)
    }
    at = net.cpu.run(p, at + net.latency(src, p, rng), this.rpcMs)
    return net.cpu.run(src, at + net.latency(p, src, rng), 0)
  }
}

function insertClosest (best: number[], p: number, id: number, k: number, kad: Uint32Array): void {
  const d = distance(kad[p], id)
  if (best.length === k && d >= distance(kad[best[k - 1]], id)) return
  let i = best.length
  if (i === k) i--
  best[i] = p
  while (i > 0 && distance(kad[best[i - 1]], id) > d) {
    best[i] = best[i - 1]
    best[i - 1] = p
    i--
  }
}
