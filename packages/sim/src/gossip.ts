import FlatQueue from 'flatqueue'
import { GOSSIP_D, GOSSIP_DHI, GOSSIP_DLAZY, GOSSIP_FACTOR, GOSSIP_HEARTBEAT_MS, GOSSIP_HISTORY_GOSSIP, GOSSIP_MESSAGE_OVERHEAD_BYTES, GOSSIP_MSG_ID_BYTES } from './constants.js'
import type { HostCpu } from './cpu.js'
import type { LinkModel } from './network.js'
import type { GossipDegree } from './scenario.js'
import type { Connections } from './topology.js'
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
 * - connections: with a connection graph ({@link Connections}) a node
 *   grafts, floods and sends IHAVE only to topic peers it is connected to,
 *   and each node grafts its role's D and accepts its role's Dhi; without
 *   one, any subscriber may be a peer;
 * - CPU: a node's validation runs on its host's CPU (`net.cpu`), where
 *   nodes of one process wait for each other.
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
  /** `adj[u * stride + k]`: k-th mesh peer (local index) of u */
  readonly adj: Int32Array
  /** slots per subscriber in {@link adj}: the largest Dhi (GOSSIP_DHI without degrees by role) */
  readonly stride: number
  /** mesh degree of each subscriber */
  readonly degree: Uint8Array
  /** who is connected to whom (node numbers); undefined: any subscriber may be a peer */
  readonly connections?: Connections

  /**
   * Grafts the mesh: subscribers in random order each add random peers
   * (not at their Dhi) until they hold their D, as gossipsub's heartbeat
   * does; with `connections`, only peers they are connected to.
   *
   * @param members - node numbers of the subscribers
   * @param nodeCount - nodes in the fleet
   * @param options.connections - the connection graph (node numbers)
   * @param options.degreeOf - the mesh degree of a node number @default GOSSIP_D / GOSSIP_DHI for all
   */
  constructor (members: ArrayLike<number>, nodeCount: number, rng: Rng, options: { connections?: Connections, degreeOf?: (node: number) => GossipDegree } = {}) {
    const m = Int32Array.from(members)
    this.members = m
    this.connections = options.connections
    this.local = new Int32Array(nodeCount).fill(-1)
    for (let i = 0; i < m.length; i++) this.local[m[i]] = i
    const s = m.length
    const degreeOf = options.degreeOf ?? (() => ({ D: GOSSIP_D, Dlo: GOSSIP_D, Dhi: GOSSIP_DHI }))
    const want = new Uint8Array(s)
    const low = new Uint8Array(s)
    const cap = new Uint8Array(s)
    let stride = GOSSIP_DHI
    for (let u = 0; u < s; u++) {
      const d = degreeOf(m[u])
      want[u] = Math.min(d.D, s - 1)
      low[u] = Math.min(d.Dlo, s - 1)
      cap[u] = d.Dhi
      stride = Math.max(stride, d.Dhi)
    }
    this.stride = stride
    this.adj = new Int32Array(s * stride).fill(-1)
    this.degree = new Uint8Array(s)
    const order = Array.from({ length: s }, (_, i) => i)
    const conns = options.connections
    // with connections, subscribers join in node order (the start order of bench/scale: stations first), each grafting among the peers it is connected to;
    // a later node's graft of an earlier one is accepted up to the earlier one's Dhi
    if (conns == null) shuffle(order, rng)
    else order.sort((a, b) => m[a] - m[b])
    const graftAmong = (u: number, joined: (v: number) => boolean, until: number): void => {
      const g = m[u]
      const peers: number[] = []
      for (let k = 0; k < (conns as Connections).degree(g); k++) { const v = this.local[(conns as Connections).peer(g, k)]; if (v >= 0 && joined(v)) peers.push(v) }
      shuffle(peers, rng)
      for (const v of peers) {
        if (this.degree[u] >= until) break
        if (this.degree[v] >= cap[v] || this.has(u, v)) continue
        this.link(u, v)
      }
    }
    if (conns != null) {
      // joining: D of the connected subscribers that joined before; then each heartbeat below Dlo grafts up to D among all connected subscribers
      for (const u of order) graftAmong(u, v => m[v] < m[u], want[u])
      for (const u of order) if (this.degree[u] < low[u]) graftAmong(u, () => true, want[u])
    }
    for (const u of order) {
      if (conns != null) break
      let tries = 0
      while (this.degree[u] < want[u] && tries < 64) {
        tries++
        const v = rng.int(s)
        if (v === u || this.degree[v] >= cap[v] || this.degree[u] >= cap[u] || this.has(u, v)) continue
        this.link(u, v)
      }
    }
  }

  /** Topic peers local u is connected to (local indices); undefined without a connection graph. */
  connectedPeers (u: number): number[] | undefined {
    const conns = this.connections
    if (conns == null) return undefined
    const g = this.members[u]
    const out: number[] = []
    for (let k = 0; k < conns.degree(g); k++) { const v = this.local[conns.peer(g, k)]; if (v >= 0) out.push(v) }
    return out
  }

  /** Subscribers. */
  get size (): number {
    return this.members.length
  }

  /** True if local u has local v in its mesh. */
  has (u: number, v: number): boolean {
    const base = u * this.stride
    for (let k = 0; k < this.degree[u]; k++) if (this.adj[base + k] === v) return true
    return false
  }

  private link (u: number, v: number): void {
    this.adj[u * this.stride + this.degree[u]++] = v
    this.adj[v * this.stride + this.degree[v]++] = u
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
  /** validation time at each hop off the host's thread (the ledger's signature checks run in libuv's pool): it delays the delivery and the forward, and holds no host CPU, ms @default 0 */
  offThreadMs?: number
  /** the off-thread part runs as this many pool jobs one after the other, each followed by the validation resuming on the node's thread (a wait for its process, `wakeMs`, no CPU) @default 0 (the off-thread part is a delay) */
  poolJobs?: number
  /** the publisher's CPU (signing) is already reserved: it sends at this virtual ms @default after `processingMs` on its host from `t0` */
  sentAt?: number
  /** CPU a node (by node number) spends on this message beyond `processingMs` (its first message of this signer: the certificate check), ms; called once per node that handles it @default none */
  extraMs?: (node: number) => number
}

/** The result of {@link disseminate}. */
export interface Dissemination {
  /** arrival time of the message at each subscriber (local index), ms; Infinity where it never arrived */
  arrival: Float64Array
  /** time each subscriber finished validating it (its delivery to the node's application; the publisher: `t0`), ms; Infinity where it never arrived */
  handled: Float64Array
  /** virtual ms the publisher's last first-round copy left it (its publish call returns): `t0` plus its signing and sends */
  publishedAt: number
  /** bytes sent by all nodes (messages, IHAVE, IWANT) */
  bytes: number
  /** message copies sent */
  copies: number
}

/**
 * A validation of node `node` ready at virtual `ready`: `onThread` ms on
 * its host's CPU, then `offThread` ms in libuv's pool as `poolJobs` jobs
 * one after the other, the validation resuming on the node's thread after
 * each (a wait for its process, no CPU); with no pool jobs the off-thread
 * part is a plain delay.
 *
 * @returns the virtual ms the validation is done
 */
export function validate (cpu: HostCpu, node: number, ready: number, onThread: number, offThread: number, poolJobs: number): number {
  let at = cpu.run(node, ready, onThread)
  if (poolJobs <= 0) return at + offThread
  for (let k = 0; k < poolJobs; k++) at = cpu.run(node, at + offThread / poolJobs, 0)
  return at
}

function shuffle (a: number[], rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) { const j = rng.int(i + 1); const t = a[i]; a[i] = a[j]; a[j] = t }
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
  const spread = new Spread(mesh, nodes, net, rng, origin, t0, options)
  while (spread.next() < Infinity) spread.step()
  return spread.result()
}

/**
 * One message's dissemination ({@link disseminate}) one arrival at a time,
 * so that several messages in flight at once take their hosts' CPU in
 * virtual-time order (a driver steps whichever message's next arrival is
 * earliest: a market round's bids and its award exchanges). The
 * constructor publishes (the publisher's copies); each {@link step}
 * handles the earliest arrival: its validation on its host's CPU, its
 * forwards and its IHAVE gossip.
 */
export class Spread {
  readonly arrival: Float64Array
  readonly handled: Float64Array
  /** virtual ms the publisher's last first-round copy left it */
  readonly publishedAt: number
  bytes = 0
  copies = 0
  private readonly from: Int32Array
  private readonly done: Uint8Array
  private readonly q = new FlatQueue<number>()
  /** copies of a message their receiver already has (local index, keyed by arrival): each costs the receiver `duplicateMs` */
  private readonly dq = new FlatQueue<number>()
  /** duplicates cost their receivers CPU (shared hosts and a `duplicateMs`) */
  private readonly duplicates: boolean
  private stopped = false
  private readonly mesh: TopicMesh
  private readonly nodes: NodeTable
  private readonly net: LinkModel
  private readonly rng: Rng
  private readonly options: DisseminateOptions
  private readonly size: number
  private readonly proc: number
  private readonly offThread: number
  private readonly poolJobs: number

  /** Publishes (see {@link disseminate} for the arguments). */
  constructor (mesh: TopicMesh, nodes: NodeTable, net: LinkModel, rng: Rng, origin: number, t0: number, options: DisseminateOptions) {
    this.mesh = mesh
    this.nodes = nodes
    this.net = net
    this.rng = rng
    this.options = options
    const s = mesh.size
    this.arrival = new Float64Array(s).fill(Infinity)
    this.handled = new Float64Array(s).fill(Infinity)
    this.from = new Int32Array(s).fill(-1)
    this.done = new Uint8Array(s)
    this.size = options.dataBytes + GOSSIP_MESSAGE_OVERHEAD_BYTES
    this.proc = options.processingMs ?? net.processingMs
    this.offThread = options.offThreadMs ?? 0
    this.poolJobs = options.poolJobs ?? 0
    this.duplicates = net.cpu.shared && net.duplicateMs > 0
    const { arrival, handled, done } = this
    const online = nodes.online
    // the publisher signs and sends on its host's CPU
    const sendAt = options.sentAt ?? net.cpu.run(origin, t0, this.proc)
    const sendMs = net.sendMs
    let publishedAt = sendAt
    const sendFrom = (g: number, v: number, departs = sendAt): void => {
      this.bytes += this.size
      this.copies++
      if (net.lost(g, mesh.members[v], rng)) return
      const t = departs + net.latency(g, mesh.members[v], rng)
      this.arrive(v, t)
    }
    const o = mesh.local[origin]
    if (o < 0) {
      // a publisher outside the topic (fanout, floodPublish): its connected topic peers, or D of them
      const conns = mesh.connections
      if (conns != null) {
        const targets: number[] = []
        for (let k = 0; k < conns.degree(origin); k++) {
          const v = mesh.local[conns.peer(origin, k)]
          if (v >= 0 && online[mesh.members[v]] === 1) targets.push(v)
        }
        const start = this.sendBlock(origin, sendAt, targets.length)
        publishedAt = start + targets.length * sendMs
        targets.forEach((v, j) => { sendFrom(origin, v, start + (j + 1) * sendMs) })
      } else {
        const n = Math.min(s, Math.max(GOSSIP_D, options.connectedPeers))
        for (let k = 0; k < n; k++) {
          const v = rng.int(s)
          if (online[mesh.members[v]] === 1) sendFrom(origin, v)
        }
      }
    } else {
      arrival[o] = t0
      handled[o] = t0
      done[o] = 1
      if (options.target === origin) {
        this.publishedAt = publishedAt
        this.stopped = true
        return
      }
      // floodPublish: every connected topic peer (the mesh peers first, then the others)
      const base = o * mesh.stride
      const connected = mesh.connectedPeers(o)
      const firstCopies = mesh.degree[o] + (connected != null ? connected.filter(v => !mesh.has(o, v)).length : 0)
      const start = this.sendBlock(origin, sendAt, firstCopies)
      publishedAt = start + firstCopies * sendMs
      let j = 0
      for (let k = 0; k < mesh.degree[o]; k++) {
        const v = this.resolve(mesh.adj[base + k], t0)
        if (v >= 0 && v !== o) this.send(o, v, start + (++j) * sendMs)
      }
      if (connected != null) {
        for (const v of connected) if (online[mesh.members[v]] === 1 && !mesh.has(o, v)) this.send(o, v, start + (++j) * sendMs)
      } else {
        const extra = Math.min(s - 1, options.connectedPeers) - mesh.degree[o]
        for (let k = 0; k < extra; k++) {
          const v = rng.int(s)
          if (v !== o && online[mesh.members[v]] === 1 && !mesh.has(o, v)) this.send(o, v, sendAt)
        }
      }
      this.gossipFrom(o, t0)
    }
    this.publishedAt = publishedAt
  }

  /** Virtual ms of the next arrival to handle (a first copy or a duplicate); Infinity when the message has spread (or reached its `target`). */
  next (): number {
    if (this.stopped) return Infinity
    return Math.min(this.nextFirst(), this.dq.length > 0 ? this.dq.peekValue() as number : Infinity)
  }

  /** Virtual ms of the next first copy to handle, Infinity if none is left. */
  private nextFirst (): number {
    const q = this.q
    while (q.length > 0) {
      const t = q.peekValue() as number
      const u = q.peek() as number
      if (this.done[u] === 1 || t > this.arrival[u]) { q.pop(); continue }
      return t
    }
    return Infinity
  }

  /**
   * A copy reaches local `v` at virtual `t`: the earliest is its first copy
   * (handled by {@link step}); every other one is a duplicate, whose
   * receive costs the receiver `duplicateMs` when duplicates count.
   */
  private arrive (v: number, t: number, from = -1): void {
    const earlier = this.arrival[v]
    if (t < earlier) {
      this.arrival[v] = t
      this.from[v] = from
      this.q.push(v, t)
      if (this.duplicates && Number.isFinite(earlier)) this.dq.push(v, earlier)
    } else if (this.duplicates) this.dq.push(v, t)
  }

  /**
   * Handles the earliest arrival (call when {@link next} is finite): the
   * node validates the message on its host's CPU, forwards it to its mesh
   * and sends IHAVE at its next heartbeats.
   *
   * @returns the local index of the node that handled it, -1 if none was left
   */
  step (): number {
    const first = this.nextFirst()
    if (this.stopped || (first === Infinity && this.dq.length === 0)) return -1
    const { mesh, net } = this
    if (this.dq.length > 0 && (this.dq.peekValue() as number) < first) {
      // a duplicate: decrypted, decoded, its id found in the seen cache, dropped
      const dt = this.dq.peekValue() as number
      const v = this.dq.pop() as number
      net.cpu.run(mesh.members[v], dt, net.duplicateMs)
      return -1
    }
    const t = this.q.peekValue() as number
    const u = this.q.pop() as number
    this.done[u] = 1
    // validation on the node's host CPU (arrivals are taken in time order: its queue is first come, first served)
    const extra = this.options.extraMs?.(mesh.members[u]) ?? 0
    const at = validate(net.cpu, mesh.members[u], t, this.proc + extra, this.offThread, this.poolJobs)
    this.handled[u] = at
    if (this.options.target != null && mesh.members[u] === this.options.target) { this.stopped = true; return u }
    const base = u * mesh.stride
    const from = this.from[u]
    // its copies: every mesh peer but the source
    const start = this.sendBlock(mesh.members[u], at, mesh.degree[u] - (from >= 0 && mesh.has(u, from) ? 1 : 0))
    let j = 0
    for (let k = 0; k < mesh.degree[u]; k++) {
      const v = this.resolve(mesh.adj[base + k], t)
      if (v < 0 || v === from || this.done[v] === 1) {
        // gossipsub still sends to a mesh peer that already has it (it cannot know); only the source is skipped
        if (v >= 0 && v !== from) {
          this.bytes += this.size
          this.copies++
          j++
          if (this.duplicates && !net.lost(mesh.members[u], mesh.members[v], this.rng)) this.dq.push(v, start + j * net.sendMs + net.latency(mesh.members[u], mesh.members[v], this.rng))
        }
        continue
      }
      this.send(u, v, start + (++j) * net.sendMs)
    }
    this.gossipFrom(u, t)
    return u
  }

  /** What the message did so far (all of it once {@link next} is Infinity). */
  result (): Dissemination {
    return { arrival: this.arrival, handled: this.handled, publishedAt: this.publishedAt, bytes: this.bytes, copies: this.copies }
  }

  /** a mesh peer that left is replaced at the next heartbeat after its leave */
  private resolve (v: number, t: number): number {
    const { mesh, nodes, rng } = this
    const g = mesh.members[v]
    if (nodes.online[g] === 1) return v
    if (t - nodes.leftAt[g] < GOSSIP_HEARTBEAT_MS) return -1
    for (let tries = 0; tries < 8; tries++) {
      const w = rng.int(mesh.size)
      if (nodes.online[mesh.members[w]] === 1) return w
    }
    return -1
  }

  /** each copy a node sends costs it `net.sendMs` (encoding, noise, yamux): a block of its host's CPU after its validation, the j-th copy leaving at the j-th slot */
  private sendBlock (g: number, at: number, k: number): number {
    const sendMs = this.net.sendMs
    return sendMs > 0 && k > 0 ? this.net.cpu.run(g, at, k * sendMs, false) - k * sendMs : at
  }

  private send (u: number, v: number, at: number): void {
    const { mesh, net, rng } = this
    const gu = mesh.members[u]; const gv = mesh.members[v]
    this.bytes += this.size
    this.copies++
    if (net.lost(gu, gv, rng)) return
    const t = at + net.latency(gu, gv, rng)
    this.arrive(v, t, u)
  }

  private gossipFrom (u: number, t: number): void {
    if (this.options.ihave === false) return
    const { mesh, nodes, net, rng, arrival } = this
    const s = mesh.size
    const online = nodes.online
    const gu = mesh.members[u]
    const connected = mesh.connectedPeers(u)
    const nonMeshPeers = connected?.filter(v => !mesh.has(u, v))
    const nonMesh = nonMeshPeers != null ? nonMeshPeers.length : Math.max(0, Math.min(s - 1, this.options.connectedPeers) - mesh.degree[u])
    const targets = Math.min(nonMesh, Math.max(GOSSIP_DLAZY, Math.floor(GOSSIP_FACTOR * nonMesh)))
    if (targets === 0) return
    let hb = nextHeartbeat(nodes.heartbeatPhase[gu], t)
    for (let h = 0; h < GOSSIP_HISTORY_GOSSIP; h++, hb += GOSSIP_HEARTBEAT_MS) {
      for (let k = 0; k < targets; k++) {
        const v = nonMeshPeers != null ? nonMeshPeers[rng.int(nonMeshPeers.length)] : rng.int(s)
        const gv = mesh.members[v]
        if (v === u || online[gv] !== 1) continue
        this.bytes += GOSSIP_MSG_ID_BYTES
        const ihaveAt = hb + net.latency(gu, gv, rng)
        // the peer asks for it only if it still lacks it when the IHAVE arrives
        if (arrival[v] <= ihaveAt || net.lost(gu, gv, rng)) continue
        const t2 = ihaveAt + net.processingMs + net.latency(gv, gu, rng) + net.processingMs + net.latency(gu, gv, rng) + this.proc
        this.bytes += GOSSIP_MSG_ID_BYTES + this.size
        this.copies++
        if (t2 < arrival[v]) { arrival[v] = t2; this.from[v] = u; this.q.push(v, t2) }
      }
    }
  }
}

/** Time from `t0` until every online subscriber had the message (validated it) (Infinity if one never did), and the share of online subscribers reached. */
export function reachOf (d: Dissemination, mesh: TopicMesh, nodes: NodeTable, t0: number, within = Infinity): { allMs: number, reached: number, online: number } {
  let all = 0
  let reached = 0
  let on = 0
  for (let i = 0; i < mesh.size; i++) {
    if (nodes.online[mesh.members[i]] !== 1) continue
    on++
    const dt = d.handled[i] - t0
    if (Number.isFinite(dt) && dt <= within) reached++
    if (dt > all) all = dt
  }
  return { allMs: all, reached, online: on }
}
