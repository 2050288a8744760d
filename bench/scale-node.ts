/**
 * The nodes of bench/scale, shared by the parent (stations, in-process) and
 * its worker processes (vehicles): how one node is started from a spec, and
 * the probes every host runs over its nodes (presence arrivals, ledger entry
 * arrivals, DHT lookups, connection counts). Not a test; prints nothing.
 */
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createMeshNode, capabilityCid } from '@fleetmesh/peer'
import { ScriptedVehicleState } from '@fleetmesh/market'
import { PRESENCE_TOPIC } from '@fleetmesh/protocol'
import { deserializeIdentity, loopbackGossip } from '@fleetmesh/test-utils'
import type { MeshNode, NodeRole } from '@fleetmesh/peer'
import type { PeerId } from '@libp2p/interface'
import type { SerializedIdentity } from '@fleetmesh/test-utils'

/** One node to host: role, region, listen address, store directory, and its key and certificate as `serializeIdentity` writes them. */
export interface ScaleNodeSpec extends Pick<SerializedIdentity, 'key' | 'certificate'> {
  role: NodeRole
  region: string
  listen: string
  /** model store directory: every node is a worker */
  storeDir: string
  /** multiaddrs to bootstrap from (stations of its region first) */
  bootstrap: string[]
}

/** What every host of a run shares: the fleet's keys and the market settings. */
export interface ScaleFleet {
  swarmKey: string
  authority: string
  bidWindowMs: number
  /** every node runs with MeshNodeInit.fullStationTables */
  fullStationTables?: boolean
  /** vehicles' gossipsub mesh degree in place of the peer's VEHICLE_GOSSIP_DEGREE (a side-by-side variant); unset: the default */
  vehicleGossip?: { D: number, Dlo: number, Dhi: number, Dout: number }
  /** the authority's credit grants (encoded ledger entries, base64) every node starts with: the stations', which submit the jobs (workers bid only for a requester that can pay) */
  grants: string[]
}

const now = (): number => performance.timeOrigin + performance.now()

/** One arrival of a presence message at a node: when (ms since the epoch), the receiver's role, the deliverer's role, and the path (the publisher itself, a mesh peer's push, or a peer outside the mesh: flood publish or IWANT after an IHAVE) */
export interface PresenceArrival { t: number, role: NodeRole, from: string, fromPublisher: boolean, inMesh: boolean }

/** Starts one bench node: a worker (vehicles parked at SoC 0.9) with a model store, subscribed to the presence topic for the gossip probe. */
export async function startScaleNode (spec: ScaleNodeSpec, fleet: ScaleFleet, probe: ScaleProbe): Promise<MeshNode> {
  const node = await createMeshNode({
    role: spec.role,
    region: spec.region,
    ...deserializeIdentity({ ...spec, swarmKey: fleet.swarmKey, authority: fleet.authority }),
    listen: [spec.listen],
    bootstrap: spec.bootstrap,
    gossip: { ...loopbackGossip(), ...(spec.role === 'vehicle' ? fleet.vehicleGossip : undefined) },
    modelStore: { dir: join(spec.storeDir) },
    market: { bidWindowMs: fleet.bidWindowMs },
    fullStationTables: fleet.fullStationTables,
    inference: { intraOpNumThreads: 1 },
    worker: spec.role === 'vehicle' ? { vehicleState: new ScriptedVehicleState({ drive: 'parked', soc: 0.9, batteryTempC: 20 }) } : true,
    ledger: { grants: fleet.grants.map(g => Uint8Array.from(Buffer.from(g, 'base64'))) }
  })
  probe.add(node)
  return node
}

/**
 * Starts and stops one throwaway node, so that the code every node runs is
 * loaded and compiled before a host takes its RSS baseline: the RSS growth
 * after it is what the nodes themselves hold.
 */
export async function warmUp (spec: ScaleNodeSpec, fleet: ScaleFleet): Promise<void> {
  const node = await startScaleNode(spec, fleet, new ScaleProbe())
  await node.stop()
}

/** Per-host record of what its nodes saw, with sub-ms times (ms since the epoch, comparable across processes). */
export class ScaleProbe {
  readonly nodes: MeshNode[] = []
  /** presence message id -> arrivals at this host's nodes: time, receiver's role, the peer that delivered it and whether it was in the receiver's mesh of the topic */
  private readonly presence = new Map<string, PresenceArrival[]>()
  /**
   * this process's event-loop delay over the gossip probes (the host's own queue: a busy process
   * delivers late); enabled only between two `loopLag()` calls: its 10 ms timer alone took 0.3 % →
   * 0.9 % of a core per process (a bare Node process, load 6), which the idle window counted
   */
  private readonly lag = monitorEventLoopDelay({ resolution: 10 })
  private lagOn = false
  /** ledger entry id -> arrival times at this host's nodes */
  private readonly entries = new Map<string, number[]>()

  /** job id -> what this host's workers did with its offer: offer arrival and bid sent, ms since the epoch */
  private readonly jobTrace = new Map<string, { offers: number[], bids: number[], accepted: number[] }>()

  /** per topic, over this host's stations: gossip copies received, first copies among them (validated and delivered), IHAVE and IWANT message ids received */
  private readonly stationGossip = new Map<string, { copies: number, first: number, ihaveIds: number, iwantIds: number }>()

  /** peer:disconnect events and refusals seen by each node since it started */
  private readonly disconnects = new Map<MeshNode, number>()

  /** when one of this host's nodes last opened a connection (either direction), ms since the epoch; 0: never */
  lastConnectionOpenAt = 0

  add (node: MeshNode): void {
    this.nodes.push(node)
    node.libp2p.addEventListener('peer:disconnect', () => { this.disconnects.set(node, (this.disconnects.get(node) ?? 0) + 1) })
    node.libp2p.addEventListener('connection:open', () => { this.lastConnectionOpenAt = Date.now() })
    if (node.role === 'station') this.countGossip(node)
    node.subscribe(PRESENCE_TOPIC, (msg, source) => {
      const t = now()
      const id = new TextDecoder().decode(msg.data)
      const list = this.presence.get(id) ?? []
      // the class has getMeshPeers; the GossipSub interface does not name it
      const mesh = (node.libp2p.services.pubsub as unknown as { getMeshPeers?: (topic: string) => string[] }).getMeshPeers?.(PRESENCE_TOPIC) ?? []
      const from = source.toString()
      list.push({ t, role: node.role, from: node.libp2p.services.admission.get(source)?.role ?? '?', fromPublisher: msg.from.equals(source), inMesh: mesh.includes(from) })
      this.presence.set(id, list)
    })
    const trace = (jobId: string): { offers: number[], bids: number[], accepted: number[] } => {
      let t = this.jobTrace.get(jobId)
      if (t == null) this.jobTrace.set(jobId, t = { offers: [], bids: [], accepted: [] })
      return t
    }
    node.libp2p.services.market.addEventListener('offer', (evt) => { if (evt.detail.round === 0) trace(evt.detail.jobId).offers.push(now()) })
    node.libp2p.services.market.addEventListener('bid', (evt) => { if (evt.detail.side === 'sent') trace(evt.detail.jobId).bids.push(now()) })
    node.libp2p.services.market.addEventListener('lease', (evt) => { if (evt.detail.side === 'worker' && evt.detail.state === 'active') trace(evt.detail.jobId).accepted.push(now()) })
    node.ledger.addEventListener('entry', (evt) => {
      const list = this.entries.get(evt.detail.id) ?? []
      list.push(now())
      this.entries.set(evt.detail.id, list)
    })
  }

  /**
   * Counts a station's received gossip per topic: every copy of every RPC
   * (gossipsub's `handleReceivedRpc`, wrapped on the instance: the class has
   * no event for a copy it drops as seen), the first copies among them
   * (`gossipsub:message`, dispatched once a first copy is validated), and the
   * message ids of the IHAVEs and IWANTs it is sent.
   */
  private countGossip (node: MeshNode): void {
    type Rpc = { messages?: Array<{ topic?: string }>, control?: { ihave?: Array<{ topicID?: string, messageIDs?: unknown[] }>, iwant?: Array<{ messageIDs?: unknown[] }> } }
    const pubsub = node.libp2p.services.pubsub as unknown as { handleReceivedRpc?: (from: PeerId, rpc: Rpc) => Promise<void> } & EventTarget
    const at = (topic: string): { copies: number, first: number, ihaveIds: number, iwantIds: number } => {
      let c = this.stationGossip.get(topic)
      if (c == null) this.stationGossip.set(topic, c = { copies: 0, first: 0, ihaveIds: 0, iwantIds: 0 })
      return c
    }
    const handle = pubsub.handleReceivedRpc
    if (handle == null) return
    pubsub.handleReceivedRpc = async (from, rpc) => {
      for (const m of rpc.messages ?? []) at(m.topic ?? '?').copies++
      for (const h of rpc.control?.ihave ?? []) at(h.topicID ?? '?').ihaveIds += h.messageIDs?.length ?? 0
      for (const w of rpc.control?.iwant ?? []) at('(iwant)').iwantIds += w.messageIDs?.length ?? 0
      return handle.call(pubsub, from, rpc)
    }
    pubsub.addEventListener('gossipsub:message', (evt) => { at((evt as CustomEvent<{ msg: { topic: string } }>).detail.msg.topic).first++ })
  }

  /** This host's stations' received gossip per topic so far (see `countGossip`): copies, first copies, duplicates (copies less first copies: seen already, or refused), IHAVE and IWANT ids. */
  gossipCounts (): Record<string, { copies: number, first: number, duplicates: number, ihaveIds: number, iwantIds: number }> {
    return Object.fromEntries([...this.stationGossip].map(([t, c]) => [t, { ...c, duplicates: c.copies - c.first }]))
  }

  /**
   * Time to the first provider (other than the seeker) of `region/<region>`,
   * ms; `ok: false` when none came within `timeoutMs`. A failed lookup comes
   * with its trace: the seeker's routing table size and connections, and each
   * DHT query event (`dial`, `error <name>`, `response <providers>/<closer>`)
   * with the ms it came at and the peer's role and region where this host knows
   * it (`?` otherwise).
   */
  async lookup (index: number, region: string, timeoutMs: number): Promise<{ ok: boolean, ms: number, firstDialMs?: number, firstSendMs?: number, firstResponseMs?: number, answeredBy?: string, events?: string[], trace?: Record<string, unknown> }> {
    const node = this.nodes[index] as MeshNode
    const cid = await capabilityCid('region', region)
    const start = now()
    const events: string[] = []
    // a successful lookup's own timeline: the first query dial (the seeker's work before its first RPC) and who answered with the provider (connected before the lookup or not)
    let firstDialMs: number | undefined
    let firstSendMs: number | undefined
    let firstResponseMs: number | undefined
    const connectedBefore = new Set(node.libp2p.getConnections().map(c => c.remotePeer.toString()))
    const who = (id: PeerId): string => {
      const cert = node.libp2p.services.admission.get(id)
      return `${id.toString().slice(-6)}(${cert != null ? `${cert.role}/${cert.region}` : '?'})`
    }
    try {
      for await (const e of node.libp2p.services.dht.findProviders(cid, { signal: AbortSignal.timeout(timeoutMs) })) {
        const at = Math.round(now() - start)
        if (e.name === 'PROVIDER' && e.providers.some(p => !p.id.equals(node.peerId))) {
          const cert = node.libp2p.services.admission.get(e.from)
          events.push(`${at} provider ${who(e.from)}`)
          return { ok: true, ms: now() - start, firstDialMs, firstSendMs, firstResponseMs, answeredBy: `${cert?.role ?? '?'}${connectedBefore.has(e.from.toString()) ? ' connected' : ' dialled'}`, events: events.slice(0, 12) }
        }
        if (e.name === 'DIAL_PEER') {
          firstDialMs ??= now() - start
          events.push(`${at} dial ${who(e.peer)}`)
        } else if (e.name === 'SEND_QUERY') {
          firstSendMs ??= now() - start
          events.push(`${at} send ${who(e.to)}`)
        } else if (e.name === 'QUERY_ERROR') events.push(`${at} error ${who(e.from)} ${String(e.error?.name)}`)
        else if (e.name === 'PEER_RESPONSE') {
          firstResponseMs ??= now() - start
          events.push(`${at} response ${who(e.from)} ${e.providers.length}/${e.closer.length}`)
        }
      }
    } catch (err: any) {
      events.push(`${Math.round(now() - start)} ended ${String(err?.name)}`)
    }
    // the single DHT's routing table (KadDHT's public type leaves it out)
    const routingTable: number | undefined = (node.libp2p.services.dht as { routingTable?: { size: number } }).routingTable?.size
    return {
      ok: false,
      ms: now() - start,
      trace: {
        seeker: `${node.role}/${node.region}`,
        connections: node.libp2p.getConnections().length,
        routingTable,
        events: events.slice(0, 40)
      }
    }
  }

  /**
   * Provider records each DHT server (station) of this host holds for each
   * `region/<r>` key: its own kad-dht provider store (what it would answer a
   * GET_PROVIDERS with), by the station's region and then the key's region.
   * Vehicles run the DHT as clients and answer no query, so they are left out.
   */
  async records (regions: string[]): Promise<Array<{ region: string, providers: Record<string, number> }>> {
    const out: Array<{ region: string, providers: Record<string, number> }> = []
    for (const node of this.nodes.filter(n => n.role === 'station')) {
      // the single DHT's provider store (KadDHT's public type leaves it out)
      const store = (node.libp2p.services.dht as { providers?: { getProviders: (cid: Awaited<ReturnType<typeof capabilityCid>>) => Promise<PeerId[]> } }).providers
      const providers: Record<string, number> = {}
      for (const r of regions) providers[r] = store != null ? (await store.getProviders(await capabilityCid('region', r))).length : -1
      out.push({ region: node.region, providers })
    }
    return out
  }

  async publish (index: number, msgId: string): Promise<number> {
    const t = now()
    await (this.nodes[index] as MeshNode).publish(PRESENCE_TOPIC, new TextEncoder().encode(msgId))
    return t
  }

  /** What this host's workers did with a job's first offer: arrival and bid-sent times, leases accepted (ms since the epoch). */
  jobTimes (jobId: string): { offers: number[], bids: number[], accepted: number[] } {
    return this.jobTrace.get(jobId) ?? { offers: [], bids: [], accepted: [] }
  }

  presenceTimes (msgId: string): number[] {
    return (this.presence.get(msgId) ?? []).map(a => a.t)
  }

  /** Every arrival of a presence message at this host's nodes. */
  presenceArrivals (msgId: string): PresenceArrival[] {
    return this.presence.get(msgId) ?? []
  }

  /** Starts (one call) or ends (the next) a window of this process's event-loop delay: the delay over the window that ended, ms (p99 and max; zeros when one starts). */
  loopLag (): { p99Ms: number, maxMs: number } {
    if (!this.lagOn) {
      this.lag.reset()
      this.lag.enable()
      this.lagOn = true
      return { p99Ms: 0, maxMs: 0 }
    }
    const r = { p99Ms: Math.round(this.lag.percentile(99) / 1e5) / 10, maxMs: Math.round(this.lag.max / 1e5) / 10 }
    this.lag.disable()
    this.lag.reset()
    this.lagOn = false
    return r
  }

  /** For each entry id: how many of this host's nodes hold it, and the latest arrival among them. */
  entryArrivals (ids: string[]): Array<{ id: string, holders: number, lastAt: number | null }> {
    return ids.map(id => {
      const holders = this.nodes.filter(n => n.ledger.has(id)).length
      const times = this.entries.get(id) ?? []
      return { id, holders, lastAt: times.length > 0 ? Math.max(...times) : null }
    })
  }

  /** Connections, admitted peers and gossip topics of each node, by role. */
  shape (): Array<{ role: NodeRole, region: string, connections: number, admitted: number, admittedStations: number, routingTable: number, topics: string[], meshPeers: number, disconnects: number, refusals: string[] }> {
    return this.nodes.map(n => {
      const pubsub = n.libp2p.services.pubsub
      // the class has getMeshPeers; the GossipSub interface does not name it
      const mesh = pubsub as unknown as { getMeshPeers?: (topic: string) => string[] }
      const topics = pubsub.getTopics()
      return {
        role: n.role,
        region: n.region,
        connections: n.libp2p.getConnections().length,
        admitted: n.peers().length,
        admittedStations: n.peers().filter(p => p.role === 'station').length,
        // the single DHT's routing table (KadDHT's public type leaves it out)
        routingTable: (n.libp2p.services.dht as { routingTable?: { size: number } }).routingTable?.size ?? 0,
        topics,
        meshPeers: topics.reduce((a, t) => a + (mesh.getMeshPeers?.(t).length ?? 0), 0),
        disconnects: this.disconnects.get(n) ?? 0,
        refusals: n.refusals().map(r => r.code)
      }
    })
  }

  async stop (): Promise<void> {
    await Promise.allSettled(this.nodes.map(async n => n.stop()))
  }
}

/** Records a V8 CPU profile of this process for `ms` and writes it to `file` (open it in Chrome DevTools). */
export async function cpuProfile (ms: number, file: string): Promise<string> {
  const session = new Session()
  session.connect()
  try {
    await session.post('Profiler.enable')
    await session.post('Profiler.start')
    await new Promise(resolve => setTimeout(resolve, ms))
    const { profile } = await session.post('Profiler.stop')
    await writeFile(file, JSON.stringify(profile))
    return file
  } finally {
    session.disconnect()
  }
}

/** Starts a V8 CPU profile of this process; the function it returns stops it and writes it to `file`. */
export async function startCpuProfile (): Promise<(file: string) => Promise<void>> {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  return async (file) => {
    try {
      const { profile } = await session.post('Profiler.stop')
      await writeFile(file, JSON.stringify(profile))
    } finally {
      session.disconnect()
    }
  }
}

/** Process figures a host reports: RSS and heap bytes, CPU time in µs (user + system). */
export function usage (): { rss: number, heapUsed: number, cpuUs: number, at: number } {
  const cpu = process.cpuUsage()
  const mem = process.memoryUsage()
  return { rss: mem.rss, heapUsed: mem.heapUsed, cpuUs: cpu.user + cpu.system, at: now() }
}
