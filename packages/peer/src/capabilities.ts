import { assertRegion, assertRole, commonPrefixLength } from '@fleetmesh/protocol'
import { serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { capabilityCid, capabilityKey, startupCapabilities } from './capability-keys.js'
import { ANNOUNCE_RETRY_MS, LOCAL_PROVIDE_TIMEOUT_MS, MAX_ANNOUNCE_RETRY_MS, PROVIDE_TIMEOUT_MS, RTT_MAX_AGE_MS, DIAL_TIMEOUT_MS, FIND_PEERS_CONCURRENCY, FIND_PEERS_LIMIT, FIND_PEERS_TIMEOUT_MS, REANNOUNCE_INTERVAL_MS, K_BUCKET_SIZE, ROUTING_TABLE_CHECK_MS, ROUTING_TABLE_QUERY_TIMEOUT_MS, NAMED_STATIONS_MAX, TABLE_ROLE_RECHECK_MS } from './constants.js'
import { namedPeers, nextRoutingCheckDelay } from './routing-check.js'
import { InvalidQueryError } from './errors.js'
import type { CapabilityKind } from './capability-keys.js'
import type { CID } from 'multiformats/cid'
import type { RoutingCheckSight } from './routing-check.js'
import type { Admission } from './admission.js'
import type { NodeRole, VerifiedCertificate } from '@fleetmesh/protocol'
import type { ComponentLogger, ContentRouting, Libp2pEvents, Logger, PeerId, Startable, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Capabilities and discovery. A node announces what it is and can do as
 * Kad-DHT provider records under the CID of a capability key: a station
 * `role/station` and `region/<prefix>` for every prefix of its region from
 * 2 characters up, a vehicle `region/<its region>` only
 * (`startupCapabilities`), both `model/<model CID>` for the models they
 * hold. A region's vehicles are found by its full region; a wider prefix,
 * or a role alone, finds its stations. `findPeers` looks the most
 * selective key up in the DHT, dials the providers, keeps those admitted
 * whose certificate matches, and ranks them nearest first: longest shared
 * region prefix with this node, then lowest measured RTT (libp2p ping).
 */

export { capabilityCid, capabilityKey, startupCapabilities } from './capability-keys.js'
export type { CapabilityKind } from './capability-keys.js'

/** A peer found by `findPeers` or listed in the peer table. */
export interface MeshPeer {
  peerId: PeerId
  role: NodeRole
  region: string
  /** vehicle owner from the certificate, '' if none */
  owner: string
  /** last measured round-trip time, ms; undefined if not measured yet */
  rttMs?: number
  /** characters of region prefix shared with this node */
  sharedPrefix: number
  /** known addresses of the peer */
  multiaddrs: Multiaddr[]
  /** certificate expiry, ms since the epoch */
  expiresAt: number
}

/** What `findPeers` looks for; at least one of `role`, `region`, `model`. */
export interface FindPeersQuery {
  role?: NodeRole
  /**
   * geohash prefix the peer's region must start with; a vehicle is found
   * only by its full region (it announces nothing wider), stations by any
   * prefix of 2 characters or more
   */
  region?: string
  /** CID (string or CID) of a model the peer must provide */
  model?: string | CID
  /**
   * most peers returned
   *
   * @default FIND_PEERS_LIMIT (20)
   */
  limit?: number
  /**
   * how long the lookup may take, ms; the peers found so far are returned when it runs out
   *
   * @default FIND_PEERS_TIMEOUT_MS (10000)
   */
  timeoutMs?: number
  signal?: AbortSignal
}

/** The ping service as far as discovery needs it. */
export interface PingLike {
  ping(peer: PeerId | Multiaddr, options?: { signal?: AbortSignal }): Promise<number>
}

export interface CapabilitiesInit {
  role: NodeRole
  region: string
  /** model CIDs to announce at start */
  models?: string[]
  /** dial timeout for providers found in the DHT, ms @default DIAL_TIMEOUT_MS */
  dialTimeoutMs?: number
  /** a station walks towards the stations it knows and provides again as its complete table grows (MeshNodeInit.fullStationTables) @default false */
  fullStationTables?: boolean
}

export interface CapabilitiesComponents {
  peerId: PeerId
  contentRouting: ContentRouting
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  admission: Admission
  ping: PingLike
  /** the Kad-DHT service; its routing table size tells when providing can reach a server */
  dht?: { routingTable?: RoutingTableLike, getMode?: () => 'client' | 'server', getClosestPeers?: (key: Uint8Array, options?: { signal?: AbortSignal }) => AsyncIterable<unknown> }
}

/** Kad-DHT's routing table as far as discovery uses it: its size, a lookup, and kad-dht's own update queue (what it runs when a DHT peer connects). */
export interface RoutingTableLike {
  size: number
  find?: (peer: PeerId) => Promise<unknown>
  queueRoutingTableUpdate?: (peer: PeerId) => void
  remove?: (peer: PeerId) => Promise<void>
  addEventListener?: (type: 'peer:add', listener: (evt: CustomEvent<PeerId>) => void) => void
  removeEventListener?: (type: 'peer:add', listener: (evt: CustomEvent<PeerId>) => void) => void
}

/** The public face of the capabilities service. */
export interface Capabilities {
  /** Announces (provides) a capability key, e.g. `model/<cid>`. Retries until the DHT has peers. */
  announce(kind: CapabilityKind, value: string): Promise<void>
  /** The capability keys this node announces. */
  announced(): string[]
  /** Resolves once the first announce round reached the DHT. */
  ready(): Promise<void>
  /** Finds admitted peers by capability, nearest first. */
  findPeers(query: FindPeersQuery): Promise<MeshPeer[]>
  /** Admitted, connected peers, nearest first. */
  peers(): MeshPeer[]
  /** Measures RTT to a peer with libp2p ping and stores it in the peer table, ms. */
  measureRtt(peerId: PeerId, options?: { signal?: AbortSignal }): Promise<number>
  /** The last RTT measured to a peer (PeerId or its string; on admission, by findPeers or measureRtt), ms, whatever its age; undefined if none was. */
  rttOf(peerId: PeerId | string): number | undefined
}

/** Orders peers nearest first: longest shared region prefix, then lowest RTT, then PeerId (deterministic). */
export function compareNearest (a: MeshPeer, b: MeshPeer): number {
  if (a.sharedPrefix !== b.sharedPrefix) return b.sharedPrefix - a.sharedPrefix
  const ra = a.rttMs ?? Number.POSITIVE_INFINITY
  const rb = b.rttMs ?? Number.POSITIVE_INFINITY
  if (ra !== rb) return ra - rb
  const pa = a.peerId.toString()
  const pb = b.peerId.toString()
  return pa < pb ? -1 : pa > pb ? 1 : 0
}

export class CapabilitiesService implements Capabilities, Startable {
  readonly [Symbol.toStringTag] = '@fleetmesh/capabilities'
  readonly [serviceCapabilities]: string[] = ['@fleetmesh/capabilities']
  readonly [serviceDependencies]: string[] = ['@fleetmesh/admission', '@libp2p/ping', '@libp2p/content-routing']

  private readonly components: CapabilitiesComponents
  private readonly role: NodeRole
  private readonly region: string
  private readonly dialTimeoutMs: number
  private readonly fullStationTables: boolean
  private readonly log: Logger
  private readonly keys = new Map<string, { kind: CapabilityKind, value: string, provided: boolean, localOnly: boolean }>()
  private readonly rtts = new Map<string, { rttMs: number, at: number }>()
  private retryDelay = ANNOUNCE_RETRY_MS
  private readonly firstAnnounce = Promise.withResolvers<void>()
  private retryTimer?: ReturnType<typeof setTimeout>
  private reannounceTimer?: ReturnType<typeof setInterval>
  private announcing?: Promise<void>
  private shutdown = new AbortController()
  private started = false
  private routingCheckTimer?: ReturnType<typeof setTimeout>
  /** ms until the next routing-table check while the table is short: ROUTING_TABLE_CHECK_MS, doubling after each check that saw nothing grow (nextRoutingCheckDelay) */
  private routingCheckDelay = ROUTING_TABLE_CHECK_MS
  /** whether this node ran its own self-query since it started (kad-dht's first one may have found no one) */
  private selfQueried = false
  /** what the last routing-table check saw (the next one's delay depends on whether the table or the stations known grew) */
  private lastRoutingCheck?: RoutingCheckSight
  /** DHT servers the answers to this node's self-queries named (PeerId string → PeerId), at most NAMED_STATIONS_MAX */
  private readonly namedStations = new Map<string, PeerId>()
  /** the stations this node walked the DHT towards since it started (PeerId strings), at most K_BUCKET_SIZE */
  private readonly walked = new Set<string>()
  /** pending re-checks of table entries whose role was unknown when they entered (TABLE_ROLE_RECHECK_MS) */
  private readonly tableRechecks = new Set<ReturnType<typeof setTimeout>>()
  /** routing-table size when this node's last announce round began (with fullStationTables, a station provides again once its complete table holds more) */
  private providedTableSize = 0

  constructor (components: CapabilitiesComponents, init: CapabilitiesInit) {
    this.components = components
    this.role = assertRole(init.role)
    this.region = assertRegion(init.region)
    this.dialTimeoutMs = init.dialTimeoutMs ?? DIAL_TIMEOUT_MS
    this.fullStationTables = init.fullStationTables === true
    this.log = components.logger.forComponent('fleetmesh:capabilities')
    for (const [kind, value] of startupCapabilities(this.role, this.region)) this.addKey(kind, value)
    for (const model of init.models ?? []) this.addKey('model', model)
    this.onAdmitted = this.onAdmitted.bind(this)
    // a caller that never awaits ready() must not see an unhandled rejection
    this.firstAnnounce.promise.catch(() => {})
  }

  isStarted (): boolean {
    return this.started
  }

  start (): void {
    this.shutdown = new AbortController()
    this.started = true
    this.selfQueried = false
    this.routingCheckDelay = ROUTING_TABLE_CHECK_MS
    this.lastRoutingCheck = undefined
    this.namedStations.clear()
    this.walked.clear()
    this.providedTableSize = 0
    this.components.admission.addEventListener('peer:admitted', this.onAdmitted)
    this.components.dht?.routingTable?.addEventListener?.('peer:add', this.onTableAdd)
    this.reannounceTimer = setInterval(() => {
      for (const k of this.keys.values()) k.provided = false
      this.scheduleAnnounce(0)
    }, REANNOUNCE_INTERVAL_MS)
    this.reannounceTimer.unref?.()
    this.scheduleAnnounce(0)
  }

  stop (): void {
    this.started = false
    this.shutdown.abort()
    this.components.admission.removeEventListener('peer:admitted', this.onAdmitted)
    this.components.dht?.routingTable?.removeEventListener?.('peer:add', this.onTableAdd)
    clearTimeout(this.retryTimer)
    clearInterval(this.reannounceTimer)
    clearTimeout(this.routingCheckTimer)
    this.routingCheckTimer = undefined
    for (const t of this.tableRechecks) clearTimeout(t)
    this.tableRechecks.clear()
  }

  announced (): string[] {
    return [...this.keys.keys()]
  }

  async ready (): Promise<void> {
    return this.firstAnnounce.promise
  }

  async announce (kind: CapabilityKind, value: string): Promise<void> {
    this.addKey(kind, value)
    await this.announcePending()
  }

  peers (): MeshPeer[] {
    return this.components.admission.admitted()
      .map(cert => this.toMeshPeer(cert))
      .sort(compareNearest)
  }

  async measureRtt (peerId: PeerId, options: { signal?: AbortSignal } = {}): Promise<number> {
    const signal = options.signal ?? AbortSignal.timeout(this.dialTimeoutMs)
    // one retry: the first ping may land on a duplicate connection that is being closed
    const rtt = await this.components.ping.ping(peerId, { signal })
      .catch(async () => this.components.ping.ping(peerId, { signal }))
    this.rtts.set(peerId.toString(), { rttMs: rtt, at: Date.now() })
    return rtt
  }

  rttOf (peerId: PeerId | string): number | undefined {
    return this.rtts.get(peerId.toString())?.rttMs
  }

  async findPeers (query: FindPeersQuery): Promise<MeshPeer[]> {
    if (query.role == null && query.region == null && query.model == null) {
      throw new InvalidQueryError('findPeers needs at least one of role, region or model')
    }
    if (query.role != null) assertRole(query.role)
    if (query.role === 'vehicle' && query.region == null && query.model == null) {
      throw new InvalidQueryError('vehicles announce only their region: name the region to find vehicles in (findPeers({ role: \'vehicle\', region }))')
    }
    if (query.region != null) assertRegion(query.region)
    const limit = query.limit ?? FIND_PEERS_LIMIT
    if (!Number.isInteger(limit) || limit < 1) throw new InvalidQueryError(`limit ${limit} is not a positive integer`)

    // the most selective key is looked up; the certificate filters the rest
    const [kind, value] = query.model != null
      ? ['model', query.model.toString()] as const
      : query.region != null
        ? ['region', query.region] as const
        : ['role', query.role as string] as const
    const cid = await capabilityCid(kind, value)
    const signals = [AbortSignal.timeout(query.timeoutMs ?? FIND_PEERS_TIMEOUT_MS), this.shutdown.signal]
    if (query.signal != null) signals.push(query.signal)
    const signal = AbortSignal.any(signals)

    const self = this.components.peerId
    const seen = new Set<string>()
    const found: MeshPeer[] = []
    const inFlight = new Set<Promise<void>>()
    // Enough candidates once `limit` matches are in hand for every cell as near as
    // ours; we still wait for the query to finish or the time to run out so a
    // nearer peer found later is not missed.
    const check = async (id: PeerId, multiaddrs: Multiaddr[]): Promise<void> => {
      try {
        const cert = await this.admit(id, multiaddrs, signal)
        if (!matches(cert, query)) return
        const last = this.rtts.get(id.toString())
        if (last == null || Date.now() - last.at > RTT_MAX_AGE_MS) {
          await this.measureRtt(id, { signal: AbortSignal.any([signal, AbortSignal.timeout(this.dialTimeoutMs)]) }).catch((err) => { this.log('ping %p failed - %s', id, err?.message ?? err) })
        }
        found.push(this.toMeshPeer(cert, uniqueAddrs(multiaddrs)))
      } catch (err: any) {
        this.log('provider %p skipped - %s', id, err?.message ?? err)
      }
    }
    try {
      for await (const provider of this.components.contentRouting.findProviders(cid, { signal })) {
        const key = provider.id.toString()
        if (provider.id.equals(self) || seen.has(key)) continue
        seen.add(key)
        const p = check(provider.id, provider.multiaddrs).finally(() => inFlight.delete(p))
        inFlight.add(p)
        if (inFlight.size >= FIND_PEERS_CONCURRENCY) await Promise.race(inFlight)
        if (found.length >= limit && found.every(f => f.sharedPrefix >= commonPrefixLength(value, this.region))) break
      }
    } catch (err: any) {
      if (!signal.aborted) this.log('findProviders for %s ended - %s', capabilityKey(kind, value), err?.message ?? err)
    }
    await Promise.all(inFlight)
    return found.sort(compareNearest).slice(0, limit)
  }

  private async admit (id: PeerId, multiaddrs: Multiaddr[], signal: AbortSignal): Promise<VerifiedCertificate> {
    const known = this.components.admission.get(id)
    if (known != null) return known
    const dialSignal = AbortSignal.any([signal, AbortSignal.timeout(this.dialTimeoutMs)])
    const wait = this.components.admission.waitFor(id, { signal: dialSignal })
    wait.catch(() => {})
    await this.components.connectionManager.openConnection(multiaddrs.length > 0 ? multiaddrs : id, { signal: dialSignal })
      .catch(async err => {
        if (multiaddrs.length === 0) throw err
        // stale addresses in the provider record: let the peer store / peer routing find it
        return this.components.connectionManager.openConnection(id, { signal: dialSignal })
      })
    return wait
  }

  private toMeshPeer (cert: VerifiedCertificate, multiaddrs?: Multiaddr[]): MeshPeer {
    const conns = this.components.connectionManager.getConnections(cert.peerId)
    return {
      peerId: cert.peerId,
      role: cert.role,
      region: cert.region,
      owner: cert.owner,
      rttMs: this.rtts.get(cert.peerId.toString())?.rttMs,
      sharedPrefix: commonPrefixLength(cert.region, this.region),
      multiaddrs: multiaddrs ?? uniqueAddrs(conns.map(c => c.remoteAddr)),
      expiresAt: cert.expiresAt
    }
  }

  private addKey (kind: CapabilityKind, value: string): void {
    const key = capabilityKey(kind, value)
    if (!this.keys.has(key)) this.keys.set(key, { kind, value, provided: false, localOnly: false })
  }

  private onAdmitted (evt: CustomEvent<VerifiedCertificate>): void {
    // DHT servers are stations; once one is admitted, the routing table soon has a peer to provide to
    if (evt.detail.role === 'station') {
      for (const k of this.keys.values()) {
        if (k.localOnly) { k.provided = false; k.localOnly = false }
      }
    }
    if (evt.detail.role === 'station' && [...this.keys.values()].some(k => !k.provided)) {
      this.retryDelay = ANNOUNCE_RETRY_MS
      this.scheduleAnnounce(100)
    }
    void this.measureRtt(evt.detail.peerId).catch(() => {})
    if (evt.detail.role === 'station' && this.role === 'station') this.scheduleRoutingCheck()
  }

  /**
   * A peer entered the Kad-DHT routing table: a peer certified as a vehicle
   * is taken out again, and one not admitted yet is looked at again
   * TABLE_ROLE_RECHECK_MS later. Vehicles run the DHT in client mode and
   * answer no query, but kad-dht 16 queues every provider named in an answer
   * for the table, and its check is a libp2p ping, which vehicles answer: a
   * node that looked up a vehicle-provided key (`region/<r>`) kept those
   * vehicles, answered other seekers with them as closer peers, and their
   * queries dialled vehicles to be refused (UnsupportedProtocolError in
   * bench/scale's lookup traces). The ping comes before the certificate
   * exchange, so a vehicle often enters before its role is known.
   */
  private readonly onTableAdd = (evt: CustomEvent<PeerId>): void => {
    const table = this.components.dht?.routingTable
    if (table?.remove == null) return
    const remove = table.remove.bind(table)
    const role = this.components.admission.get(evt.detail)?.role
    if (role === 'vehicle') {
      void remove(evt.detail).catch(() => {})
    } else if (role == null && this.started) {
      const t = setTimeout(() => {
        this.tableRechecks.delete(t)
        if (this.components.admission.get(evt.detail)?.role === 'vehicle') void remove(evt.detail).catch(() => {})
      }, TABLE_ROLE_RECHECK_MS)
      t.unref?.()
      this.tableRechecks.add(t)
    }
  }

  /** Checks the routing table `routingCheckDelay` ms from now (one check pending at a time). */
  private scheduleRoutingCheck (): void {
    if (!this.started || this.routingCheckTimer != null) return
    this.routingCheckTimer = setTimeout(() => {
      this.routingCheckTimer = undefined
      void this.checkRoutingTable().catch(() => {})
    }, this.routingCheckDelay)
    this.routingCheckTimer.unref?.()
  }

  /**
   * A station's Kad-DHT routing table should hold the stations it knows of
   * (up to K_BUCKET_SIZE): those it admitted and those the DHT named in
   * answers to its self-queries. kad-dht 16 adds a peer once, when libp2p
   * first tells it of the peer or the peer answers a query, and only if a
   * ping of it succeeds then, so under load admitted stations are left out
   * for good; and kad-dht's own first self-query (1 s after start, then
   * every 5 min) may run before the bootstrap station is in the table, so
   * a station that admitted only its bootstrap stations never meets the
   * rest, and a vehicle's lookup through it learns one closer peer
   * (bench/README, scale: every failed lookup at 200 nodes). So the first
   * check always runs a self-query and remembers the servers its answers
   * name; the stations it admitted and those named (unless certified as
   * vehicles) that the table lacks are queued through kad-dht's update
   * queue again (a ping, dialling a named one); further self-queries run
   * while the table holds fewer than these stations, ROUTING_TABLE_CHECK_MS
   * apart while each check sees the table or the stations known grow, at
   * intervals doubling up to MAX_ROUTING_TABLE_CHECK_MS while they do not
   * (nextRoutingCheckDelay), so a refill that failed while the fleet was
   * starting (bench/scale, 200 nodes: five queries 5 s apart, all while 180
   * vehicles were joining) is tried again once it is calm, and a table that
   * starts to fill then fills in a few checks in a row.
   */
  private async checkRoutingTable (): Promise<void> {
    const dht = this.components.dht
    if (dht?.routingTable == null || dht.getClosestPeers == null) return
    const self = this.components.peerId.toString()
    const { admission } = this.components
    // the stations it admitted, and the servers the DHT named that are not certified as vehicles
    const byKey = new Map<string, PeerId>(admission.admitted().filter(c => c.role === 'station').map(c => [c.peerId.toString(), c.peerId]))
    for (const [key, id] of this.namedStations) if (!byKey.has(key) && admission.get(id)?.role !== 'vehicle') byKey.set(key, id)
    byKey.delete(self)
    const stations = [...byKey.values()]
    const known = new Set(byKey.keys())
    if (this.selfQueried && dht.routingTable.size >= Math.min(known.size, K_BUCKET_SIZE)) {
      this.routingCheckDelay = ROUTING_TABLE_CHECK_MS
      // its records went to the stations its table held then: those a lookup's walk ends at may have joined
      // since (a check finds the table complete a few times while a fleet starts, not once a station)
      if (this.fullStationTables && dht.routingTable.size > this.providedTableSize && this.announcing == null) {
        this.log('routing table holds %d stations, %d when its keys were provided: providing them again', dht.routingTable.size, this.providedTableSize)
        for (const k of this.keys.values()) k.provided = false
        this.scheduleAnnounce(0)
      }
      return
    }
    const sight = { tableSize: dht.routingTable.size, known: known.size }
    if (this.selfQueried) this.routingCheckDelay = nextRoutingCheckDelay(this.routingCheckDelay, this.lastRoutingCheck, sight)
    this.lastRoutingCheck = sight
    this.selfQueried = true
    // the stations known but missing from the table go through kad-dht's update queue again (a ping, then the
    // add): a self-query starts from the table, so one whose every new-contact ping failed could not refill itself
    const table = dht.routingTable
    if (table.find != null && table.queueRoutingTableUpdate != null) {
      for (const id of stations.slice(0, K_BUCKET_SIZE)) {
        if (await table.find(id).catch(() => undefined) == null) table.queueRoutingTableUpdate(id)
      }
    }
    this.log('routing table holds %d of %d known stations: self-query', dht.routingTable.size, known.size)
    const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(ROUTING_TABLE_QUERY_TIMEOUT_MS)])
    try {
      for await (const event of dht.getClosestPeers(this.components.peerId.toMultihash().bytes, { signal })) this.rememberNamed(event)
    } catch (err: any) {
      this.log('self-query failed - %s', err?.message ?? err)
    }
    if (this.fullStationTables) await this.walkTowardsStations(stations, signal)
    this.scheduleRoutingCheck()
  }

  /**
   * Walks the DHT (`getClosestPeers`) towards one station this node knows
   * and has not walked towards yet (those named by an earlier walk
   * included), up to K_BUCKET_SIZE walks since it started. A self-query
   * only meets the stations near this node's own id: a station that
   * admitted just its two bootstrap stations learned nothing more from its
   * self-queries, and its table stayed at 2 (bench/scale, 200 nodes); each
   * walk's answers name the stations near another part of the key space,
   * and kad-dht adds those that answer. One walk per routing check: walking
   * to every known station at every check kept the stations at 2.5 % of a
   * core each, idle (a table short of its known stations is checked again
   * and again), and all walks in one check slowed admissions at start-up
   * (bench/README, scale).
   */
  private async walkTowardsStations (stations: PeerId[], signal: AbortSignal): Promise<void> {
    const dht = this.components.dht
    if (dht?.getClosestPeers == null) return
    const self = this.components.peerId.toString()
    const { admission } = this.components
    const target = [...stations, ...this.namedStations.values()]
      .find(id => { const key = id.toString(); return key !== self && !this.walked.has(key) && admission.get(id)?.role !== 'vehicle' })
    if (target == null || this.walked.size >= K_BUCKET_SIZE || signal.aborted) return
    this.walked.add(target.toString())
    try {
      for await (const event of dht.getClosestPeers(target.toMultihash().bytes, { signal })) this.rememberNamed(event)
    } catch (err: any) {
      this.log('walk towards %p failed - %s', target, err?.message ?? err)
    }
  }

  /** Remembers the DHT servers a query event names (namedStations, at most NAMED_STATIONS_MAX): not this node, not a peer admitted as a vehicle. */
  private rememberNamed (event: unknown): void {
    const self = this.components.peerId.toString()
    for (const id of namedPeers(event)) {
      const key = id.toString()
      if (key !== self && !this.namedStations.has(key) && this.namedStations.size < NAMED_STATIONS_MAX && this.components.admission.get(id)?.role !== 'vehicle') this.namedStations.set(key, id)
    }
  }

  private scheduleAnnounce (delay: number): void {
    if (!this.started) return
    clearTimeout(this.retryTimer)
    this.retryTimer = setTimeout(() => { void this.announcePending().catch(() => {}) }, delay)
  }

  /** Provides every key not yet provided; one round at a time. */
  private async announcePending (): Promise<void> {
    if (this.announcing != null) {
      await this.announcing
      if (![...this.keys.values()].some(k => !k.provided)) return
    }
    this.announcing = (async () => {
      // With an empty routing table kad-dht's provide() stores the record
      // locally and then waits for peers until its signal fires (measured);
      // the local record still answers queries that reach this node. A
      // client's keys stay pending and are retried until a server is known.
      const tableSize = this.components.dht?.routingTable?.size ?? 1
      const reachable = tableSize > 0
      // a DHT server alone (the first station of a fleet) is the whole DHT:
      // its local records answer every query; they are pushed to other
      // servers as soon as one is admitted
      const alone = !reachable && this.components.dht?.getMode?.() === 'server'
      const pending = [...this.keys.values()].filter(k => !k.provided)
      const results = await Promise.allSettled(pending.map(async k => {
        const cid = await capabilityCid(k.kind, k.value)
        const timeout = reachable ? PROVIDE_TIMEOUT_MS : LOCAL_PROVIDE_TIMEOUT_MS
        try {
          await this.components.contentRouting.provide(cid, { signal: AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(timeout)]) })
        } catch (err: any) {
          if (!alone) {
            this.log('announcing %s failed, will retry - %s', capabilityKey(k.kind, k.value), err?.message ?? err)
            throw err
          }
        }
        if (!reachable && !alone) {
          this.log('announcing %s deferred: no DHT server in the routing table yet', capabilityKey(k.kind, k.value))
          throw new Error('no DHT server in the routing table yet')
        }
        k.provided = true
        k.localOnly = alone
        this.log('announced %s%s', capabilityKey(k.kind, k.value), alone ? ' (this node is the only DHT server)' : '')
      }))

      if (!this.started) return
      const failed = results.filter(r => r.status === 'rejected').length
      if (failed > 0) {
        this.scheduleAnnounce(this.retryDelay)
        this.retryDelay = Math.min(this.retryDelay * 2, MAX_ANNOUNCE_RETRY_MS)
      } else {
        this.retryDelay = ANNOUNCE_RETRY_MS
        if (pending.length > 0) this.providedTableSize = tableSize
        this.firstAnnounce.resolve()
      }
    })().finally(() => { this.announcing = undefined })
    await this.announcing
  }
}

function matches (cert: VerifiedCertificate, query: FindPeersQuery): boolean {
  if (query.role != null && cert.role !== query.role) return false
  if (query.region != null && !cert.region.startsWith(query.region)) return false
  return true
}

function uniqueAddrs (addrs: Multiaddr[]): Multiaddr[] {
  const seen = new Set<string>()
  return addrs.filter(a => {
    const k = a.toString()
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}
