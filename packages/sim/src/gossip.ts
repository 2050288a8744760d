import FlatQueue from 'flatqueue'
import { GOSSIP_D, GOSSIP_DHI, GOSSIP_DLAZY, GOSSIP_FACTOR, GOSSIP_HEARTBEAT_MS, GOSSIP_HISTORY_GOSSIP, GOSSIP_MESSAGE_OVERHEAD_BYTES, GOSSIP_MSG_ID_BYTES } from './constants.js'
import type { LinkModel } from './network.js'
import type { NodeTable } from './nodes.js'
import type { Rng } from './rng.js'

/**
 * gossipsub dissemination on one topic, modelled from @libp2p/gossipsub's
 * parameters (its `constants.js`; fleetmesh keeps the defaults):
 *
 * - the mesh: each subscriber grafts peers until it has D (6) and accepts
 *   grafts up to Dhi (12); a graft is mutual;
 * - publishing: with `floodPublish` (gossipsub's default, kept by
 *   fleetmesh) the publisher sends its own message to every connected
 *   topic peer, not only its mesh (`connectedPeers` of the scenario);
 * - forwarding: a node forwards a message it sees first to its mesh peers
 *   except the one it came from, after its validation's CPU
 *   (`processingMs`, more for market messages and receipts);
 * - gossip: at each of its next HistoryGossip (3) heartbeats (1 s apart,
 *   each node at its own phase) a node sends IHAVE with the message id to
 *   max(Dlazy (6), GossipFactor (0.25) × its non-mesh topic peers) random
 *   topic peers; one that lacks the message answers IWANT and gets it
 *   (three one-way trips after the heartbeat);
 * - churn: a mesh peer that left is replaced at the node's next heartbeat
 *   (a heartbeat after the leave, the link points at a random online
 *   subscriber); until then messages sent to it are lost.
 *
 * Not modelled: peer scoring (every peer here is honest), IDONTWANT, the
 * opportunistic graft, message size on the wire beyond a fixed overhead.
 */

/** The mesh of one topic over its subscribers, as adjacency lists in one typed array. */
export class TopicMesh {
  /** node numbers of the subscribers, by local index */
  readonly members: Int32Array
  /** local index of each node number, -1 if not subscribed */
  readonly local: Int32Array
  /** `adj[u * GOSSIP_DHI + k]`: k-th mesh peer (local index) of u */
  readonly adj: Int32Array
  /** mesh degree of each subscriber */
  readonly degree: Uint8Array

  /**
   * Grafts the mesh: subscribers in random order each add random peers
   * (not at Dhi) until they hold D, as gossipsub's heartbeat does.
   *
   * @param members - node numbers of the subscribers
   * @param nodeCount - nodes in the fleet
   */
  constructor (members: ArrayLike<number>, nodeCount: number, rng: Rng) {
    const m = Int32Array.from(members)
    this.members = m
    this.local = new Int32Array(nodeCount).fill(-1)
    for (let i = 0; i < m.length; i++) this.local[m[i]] = i
    const s = m.length
    this.adj = new Int32Array(s * GOSSIP_DHI).fill(-1)
    this.degree = new Uint8Array(s)
    const want = Math.min(GOSSIP_D, s - 1)
    const order = Array.from({ length: s }, (_, i) => i)
    for (let i = s - 1; i > 0; i--) { const j = rng.int(i + 1); [order[i], order[j]] = [order[j], order[i]] }
    for (const u of order) {
      let tries = 0
      while (this.degree[u] < want && tries < 64) {
        tries++
        const v = rng.int(s)
        if (v === u || this.degree[v] >= GOSSIP_DHI || this.has(u, v)) continue
        this.link(u, v)
      }
    }
  }

  /** Subscribers. */
  get size (): number {
    return this.members.length
  }

  /** True if local u has local v in its mesh. */
  has (u: number, v: number): boolean {
    const base = u * GOSSIP_DHI
    for (let k = 0; k < this.degree[u]; k++) if (this.adj[base + k] === v) return true
    return false
  }

  private link (u: number, v: number): void {
    this.adj[u * GOSSIP_DHI + this.degree[u]++] = v
    this.adj[v * GOSSIP_DHI + this.degree[v]++] = u
  }

  /** Mean mesh degree. */
  meanDegree (): number {
    let d = 0
    for (let i = 0; i < this.degree.length; i++) d += this.degree[i]
    return this.degree.length === 0 ? 0 : d / this.degree.length
  }
}

/** Options of {@link disseminate}. */
export interface DisseminateOptions {
  /** bytes of the message's data (the wire adds GOSSIP_MESSAGE_OVERHEAD_BYTES) */
  dataBytes: number
  /** topic peers the publisher is connected to (floodPublish) */
  connectedPeers: number
  /** stop once this node number has the message (its arrival is then final; bytes are not complete) */
  target?: number
  /** IHAVE/IWANT gossip @default true */
  ihave?: boolean
  /** CPU per hop for this message, ms (its validation) @default the link model's processingMs */
  processingMs?: number
}

/** The result of {@link disseminate}. */
export interface Dissemination {
  /** arrival time of the message at each subscriber (local index), ms; Infinity where it never arrived */
  arrival: Float64Array
  /** bytes sent by all nodes (messages, IHAVE, IWANT) */
  bytes: number
  /** message copies sent */
  copies: number
}

function nextHeartbeat (phase: number, t: number): number {
  const k = Math.ceil((t - phase) / GOSSIP_HEARTBEAT_MS)
  return phase + Math.max(0, k) * GOSSIP_HEARTBEAT_MS
}

/**
 * Spreads one message published by node `origin` at `t0` (ms) over a
 * topic's mesh (model in the module docs). Online state is taken as it is
 * at `t0` (a dissemination lasts seconds; churn is per hour). Pure given
 * `rng`: equal inputs and seeds give equal arrivals.
 */
export function disseminate (mesh: TopicMesh, nodes: NodeTable, net: LinkModel, rng: Rng, origin: number, t0: number, options: DisseminateOptions): Dissemination {
  const s = mesh.size
  const arrival = new Float64Array(s).fill(Infinity)
  const from = new Int32Array(s).fill(-1)
  const done = new Uint8Array(s)
  const q = new FlatQueue<number>()
  const size = options.dataBytes + GOSSIP_MESSAGE_OVERHEAD_BYTES
  const ihave = options.ihave ?? true
  let bytes = 0
  let copies = 0
  const online = nodes.online
  const resolve = (v: number, t: number): number => {
    // a mesh peer that left is replaced at the next heartbeat after its leave
    const g = mesh.members[v]
    if (online[g] === 1) return v
    if (t - nodes.leftAt[g] < GOSSIP_HEARTBEAT_MS) return -1
    for (let tries = 0; tries < 8; tries++) {
      const w = rng.int(s)
      if (online[mesh.members[w]] === 1) return w
    }
    return -1
  }
  const proc = options.processingMs ?? net.processingMs
  const sendAt = t0 + proc
  const send = (u: number, v: number, at: number, extra: number): void => {
    const gu = mesh.members[u]; const gv = mesh.members[v]
    bytes += size + extra
    copies++
    if (net.lost(gu, gv, rng)) return
    const t = at + net.latency(gu, gv, rng)
    if (t < arrival[v]) { arrival[v] = t; from[v] = u; q.push(v, t) }
  }

  const sendFrom = (g: number, v: number): void => {
    bytes += size
    copies++
    if (net.lost(g, mesh.members[v], rng)) return
    const t = sendAt + net.latency(g, mesh.members[v], rng)
    if (t < arrival[v]) { arrival[v] = t; q.push(v, t) }
  }
  const gossipFrom = (u: number, t: number): void => {
    if (!ihave) return
    const gu = mesh.members[u]
    const nonMesh = Math.max(0, Math.min(s - 1, options.connectedPeers) - mesh.degree[u])
    const targets = Math.min(nonMesh, Math.max(GOSSIP_DLAZY, Math.floor(GOSSIP_FACTOR * nonMesh)))
    let hb = nextHeartbeat(nodes.heartbeatPhase[gu], t)
    for (let h = 0; h < GOSSIP_HISTORY_GOSSIP; h++, hb += GOSSIP_HEARTBEAT_MS) {
      for (let k = 0; k < targets; k++) {
        const v = rng.int(s)
        const gv = mesh.members[v]
        if (v === u || online[gv] !== 1) continue
        bytes += GOSSIP_MSG_ID_BYTES
        const ihaveAt = hb + net.latency(gu, gv, rng)
        // the peer asks for it only if it still lacks it when the IHAVE arrives
        if (arrival[v] <= ihaveAt || net.lost(gu, gv, rng)) continue
        const t2 = ihaveAt + net.processingMs + net.latency(gv, gu, rng) + net.processingMs + net.latency(gu, gv, rng) + proc
        bytes += GOSSIP_MSG_ID_BYTES + size
        copies++
        if (t2 < arrival[v]) { arrival[v] = t2; from[v] = u; q.push(v, t2) }
      }
    }
  }

  const o = mesh.local[origin]
  if (o < 0) {
    // a publisher outside the topic (fanout): its connected topic peers, or D of them
    const n = Math.min(s, Math.max(GOSSIP_D, options.connectedPeers))
    for (let k = 0; k < n; k++) {
      const v = rng.int(s)
      if (online[mesh.members[v]] === 1) sendFrom(origin, v)
    }
  } else {
    arrival[o] = t0
    done[o] = 1
    if (options.target === origin) return { arrival, bytes, copies }
    // floodPublish: every connected topic peer (the mesh peers first, then random others)
    const base = o * GOSSIP_DHI
    for (let k = 0; k < mesh.degree[o]; k++) {
      const v = resolve(mesh.adj[base + k], t0)
      if (v >= 0 && v !== o) send(o, v, sendAt, 0)
    }
    const extra = Math.min(s - 1, options.connectedPeers) - mesh.degree[o]
    for (let k = 0; k < extra; k++) {
      const v = rng.int(s)
      if (v !== o && online[mesh.members[v]] === 1 && !mesh.has(o, v)) send(o, v, sendAt, 0)
    }
    gossipFrom(o, t0)
  }
  while (q.length > 0) {
    const t = q.peekValue() as number
    const u = q.pop() as number
    if (done[u] === 1 || t > arrival[u]) continue
    done[u] = 1
    if (options.target != null && mesh.members[u] === options.target) break
    const at = t + proc
    const base = u * GOSSIP_DHI
    for (let k = 0; k < mesh.degree[u]; k++) {
      const v = resolve(mesh.adj[base + k], t)
      if (v < 0 || v === from[u] || done[v] === 1) {
        // gossipsub still sends to a mesh peer that already has it (it cannot know); only the source is skipped
        if (v >= 0 && v !== from[u]) { bytes += size; copies++ }
        continue
      }
      send(u, v, at, 0)
    }
    gossipFrom(u, t)
  }
  return { arrival, bytes, copies }
}

/** Time from `t0` until every online subscriber had the message (Infinity if one never did), and the share of online subscribers reached. */
export function reachOf (d: Dissemination, mesh: TopicMesh, nodes: NodeTable, t0: number, within = Infinity): { allMs: number, reached: number, online: number } {
  let all = 0
  let reached = 0
  let on = 0
  for (let i = 0; i < mesh.size; i++) {
    if (nodes.online[mesh.members[i]] !== 1) continue
    on++
    const dt = d.arrival[i] - t0
    if (Number.isFinite(dt) && dt <= within) reached++
    if (dt > all) all = dt
  }
  return { allMs: all, reached, online: on }
}
