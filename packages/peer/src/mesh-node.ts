import { createHash } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { assertRegion, assertRole, InvalidConfigError, MAX_GOSSIP_MESSAGE_BYTES, MAX_GOSSIP_RPC_BYTES, verifyCertificate, DHT_PROTOCOL } from '@fleetmesh/protocol'
import { autoNAT } from '@libp2p/autonat'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { gossipsub, TopicValidatorResult } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { TypedEventEmitter } from '@libp2p/interface'
import { kadDHT, passthroughMapper, removePrivateAddressesMapper } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { swarmKeyProtector } from './pnet.js'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { AdmissionService } from './admission.js'
import { CapabilitiesService } from './capabilities.js'
import { RevocationService } from './revocation.js'
import { budgetedMuxer } from './stream-budget.js'
import { halfWindowMuxer } from './yamux-window.js'
import { lookupsYieldUpTo } from './dht-reach.js'
import { withPingResponder } from './ping-responder.js'
import { GOSSIP_BEHAVIOUR_PENALTY_DECAY, GOSSIP_IDONTWANT_MIN_BYTES, GOSSIP_SCORE_DECAY_INTERVAL_MS, LEDGER_DIR, MODELS_DIR, REVOCATION_LIST_FILE, BOOTSTRAP_MIN_PEERS, BOOTSTRAP_RETRY_MS, DIAL_TIMEOUT_MS, INBOUND_CONNECTION_THRESHOLD, INBOUND_STREAM_BUDGET, MAX_BOOTSTRAP_RETRY_MS, MAX_CONNECTIONS_PER_PEER, MAX_INCOMING_PENDING_CONNECTIONS, PEER_STORE_MAX_PEER_AGE_MS, PING_TIMEOUT_MS, RELAY_MAX_RESERVATIONS, VEHICLE_K_BUCKET_SIZE, K_BUCKET_SIZE, STREAM_FLOOD_BACKOFF_MS, YAMUX_INITIAL_STREAM_WINDOW_BYTES, YAMUX_KEEP_ALIVE, YAMUX_MAX_STREAM_WINDOW_BYTES } from './constants.js'
import { loadOrCreateIdentity, openDatastore } from './data-dir.js'
import { ModelsUnavailableError, OwnCertificateError } from './errors.js'
import { ModelTransferService } from './model-transfer.js'
import { roleProfile } from './role-profile.js'
import { inference } from '@fleetmesh/inference'
import { market } from '@fleetmesh/market'
import { ledger as ledgerService } from '@fleetmesh/ledger'
import type { InferenceSession, JobHandle, SessionInit, SubmitInit } from '@fleetmesh/inference'
import type { Ledger } from '@fleetmesh/ledger'
import type { GossipHandler, GossipValidator, MeshNode, MeshNodeEvents, MeshNodeInit, MeshServices } from './mesh-node-types.js'
import { ModelStore } from '@fleetmesh/runtime'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseSwarmKey } from './swarm-key.js'
import { gossipMetricsRegister, TopicKindLabels } from './gossip-metrics.js'
import type { Admission, AdmissionEvents, AdmissionRefusal } from './admission.js'
import type { CapabilityKind, FindPeersQuery, MeshPeer } from './capabilities.js'
import type { FetchModelOptions, ModelTransfer } from './model-transfer.js'
import type { StoredModel } from '@fleetmesh/runtime'
import type { NodeRole, VerifiedCertificate, VerifiedRevocationList } from '@fleetmesh/protocol'
import type { Message } from '@libp2p/gossipsub'
import type { Libp2p, PeerId, PeerInfo } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A Kad-DHT peer info mapper that empties the addresses of excluded peers (kad-dht then leaves them out of its answers). */
function excludingMapper (base: (info: PeerInfo) => PeerInfo, excluded: (id: PeerId) => boolean): (info: PeerInfo) => PeerInfo {
  return (info) => excluded(info.id) ? { id: info.id, multiaddrs: [] } : base(info)
}

/** The peer id a bootstrap address names (its last `/p2p/` part), or undefined (none, or not a multiaddr). */
function bootstrapPeerOf (addr: string): PeerId | undefined {
  try {
    const id = multiaddr(addr).getComponents().findLast(c => c.name === 'p2p')?.value
    return id != null ? peerIdFromString(id) : undefined
  } catch {
    return undefined
  }
}

/**
 * Whether a client-mode (vehicle) node lets kad-dht take a peer named in a
 * DHT answer into its routing table: only a peer this node admitted as a
 * station. Kad-DHT queues every provider and closer peer an answer names
 * for the table and pings each first, so a vehicle that looked up a region
 * dialled (and went through admission with) up to K of that region's
 * vehicles after every lookup, in the background of the next ones. A
 * vehicle's table fills from its own station connections (kad-dht's
 * topology: connected peers that speak the DHT protocol); a query still
 * follows every closer peer its answers name.
 */
function clientTableCandidate (cert: VerifiedCertificate | undefined): boolean {
  return cert?.role === 'station'
}

const DEFAULT_LISTEN: Record<NodeRole, string[]> = {
  station: ['/ip4/0.0.0.0/tcp/0'],
  vehicle: ['/ip4/0.0.0.0/tcp/0', '/p2p-circuit']
}

/**
 * Creates (and by default starts) a fleetmesh node: libp2p 3 with TCP,
 * noise, yamux, pnet, identify, ping, a private Kad-DHT (server mode on
 * stations), gossipsub (StrictSign, decode limits), bootstrap, optional
 * mDNS, circuit relay v2 (server on stations, reservations from vehicles),
 * DCUtR and AutoNAT, plus fleetmesh's admission and capabilities services.
 *
 * @throws OwnCertificateError if `certificate` is not a valid certificate for this node's PeerId, role and region
 * @throws InvalidSwarmKeyError, InvalidRegionError, InvalidRoleError, DataDirError on bad init
 */
export async function createMeshNode (init: MeshNodeInit): Promise<MeshNode> {
  const role = assertRole(init.role)
  const region = assertRegion(init.region)
  if (!Array.isArray(init.trustedAuthorities) || init.trustedAuthorities.length === 0) {
    throw new InvalidConfigError('trustedAuthorities is empty: give the public key of at least one fleet authority')
  }
  const psk = init.swarmKey != null ? parseSwarmKey(init.swarmKey) : undefined
  const privateKey = init.privateKey ?? (init.dataDir != null ? await loadOrCreateIdentity(init.dataDir) : undefined)
  if (privateKey == null) {
    throw new InvalidConfigError('give privateKey or dataDir: the certificate must be issued to a known PeerId')
  }
  const peerId = peerIdFromPrivateKey(privateKey)
  let certificate: VerifiedCertificate
  try {
    certificate = await verifyCertificate(init.certificate, { trustedAuthorities: init.trustedAuthorities, peerId })
  } catch (err: any) {
    throw new OwnCertificateError(`this node's own certificate is not usable (${err?.code ?? ''} ${err?.message ?? err}); issue one for ${peerId} with \`fleetmesh authority issue\``)
  }
  if (certificate.role !== role || certificate.region !== region) {
    throw new OwnCertificateError(`this node runs as ${role} in ${region} but its certificate says ${certificate.role} in ${certificate.region}`)
  }
  const dialTimeoutMs = init.dialTimeoutMs ?? DIAL_TIMEOUT_MS
  const profile = roleProfile(role)
  const revocationLists = [...(init.revocationLists ?? [])]
  if (init.dataDir != null) {
    const file = await readFile(join(init.dataDir, REVOCATION_LIST_FILE)).catch(() => undefined)
    if (file != null) revocationLists.push(file)
  }
  const ownedStore = init.datastore == null && init.dataDir != null ? await openDatastore(init.dataDir) : undefined
  const datastore = init.datastore ?? ownedStore

  // the gater asks the admission service, which exists only once libp2p is built
  const gate: { admission?: Admission, libp2p?: Libp2p } = {}
  const refused = (id: PeerId): boolean => gate.admission?.isRefused(id) ?? false
  /** a peer that holds MAX_CONNECTIONS_PER_PEER open connections to this node gets no more inbound ones */
  const connectedEnough = (id: PeerId): boolean => (gate.libp2p?.getConnections(id).filter(c => c.status === 'open').length ?? 0) >= MAX_CONNECTIONS_PER_PEER

  const services: Record<string, (components: any) => unknown> = {
    // identify runs only once a peer is admitted (the admission service
    // starts it): libp2p notifies gossipsub's, Kad-DHT's and the relay's
    // topologies of a peer only after its identify, so they never learn of
    // a peer that is not a member
    identify: identify({ runOnLimitedConnection: true, runOnConnectionOpen: false }),
    // findPeers pings several providers while the connection monitor and DHT ping too
    // answered by pingResponder, which clears its timeout when the stream ends (ping-responder.ts)
    ping: withPingResponder(ping({ runOnLimitedConnection: true, maxOutboundStreams: 8, maxInboundStreams: 8, timeout: PING_TIMEOUT_MS }), PING_TIMEOUT_MS),
    dht: kadDHT({
      protocol: DHT_PROTOCOL,
      clientMode: role !== 'station',
      // with fullStationTables, a vehicle's provides reach its own K nearest stations of each key (VEHICLE_K_BUCKET_SIZE)
      ...(role !== 'station' && init.fullStationTables === true ? { kBucketSize: VEHICLE_K_BUCKET_SIZE } : {}),
      // answers never name a refused or revoked peer (kad-dht drops entries left without addresses);
      // a vehicle (client mode) answers nothing, and there the mapper only picks which peers named in
      // an answer kad-dht may ping into its routing table: admitted stations only (see clientTableCandidate)
      peerInfoMapper: excludingMapper((init.allowPrivateAddresses ?? true) ? passthroughMapper : removePrivateAddressesMapper,
        role === 'station'
          ? (id) => gate.admission?.isExcluded(id) ?? false
          : (id) => (gate.admission?.isExcluded(id) ?? false) || !clientTableCandidate(gate.admission?.get(id))),
      // fleets are small and stations few: a quiet routing table refresh is enough
      initialQuerySelfInterval: 1000,
      querySelfInterval: 5 * 60 * 1000
    }),
    // gossipsub's own metrics (validation results by topic kind and reason, mesh, RPCs) through components.metrics
    pubsub: (components: any) => gossipsub({
      ...(components.metrics != null ? { metricsRegister: gossipMetricsRegister(components.metrics), metricsTopicStrToLabel: new TopicKindLabels() } : {}),
      globalSignaturePolicy: 'StrictSign',
      allowPublishToZeroTopicPeers: true,
      emitSelf: false,
      maxInboundDataLength: MAX_GOSSIP_RPC_BYTES,
      decodeRpcLimits: {
        maxSubscriptions: 256,
        maxMessages: 256,
        maxIhaveMessageIDs: 5000,
        maxIwantMessageIDs: 5000,
        maxIdontwantMessageIDs: 5000,
        maxControlMessages: 256,
        maxPeerInfos: 32
      },
      // de-duplicate before verifying signatures: gossipsub otherwise verifies
      // every duplicate (~19 % of CPU in a 25-node profile, DESIGN.md)
      // the role's mesh degree: stations are the hubs vehicles graft to (constants.ts)
      ...profile.gossip,
      // no IDONTWANT for the fleet's own messages: each one is a control RPC to every mesh peer (constants.ts)
      idontwantMinDataSize: GOSSIP_IDONTWANT_MIN_BYTES,
      fastMsgIdFn: (msg) => createHash('sha256').update(msg.from ?? new Uint8Array()).update(msg.seqno ?? new Uint8Array()).update(msg.data ?? new Uint8Array()).digest('base64'),
      ...init.gossip,
      // score upkeep every 5 s instead of every second, with the same decay per second (constants.ts)
      scoreParams: { decayInterval: GOSSIP_SCORE_DECAY_INTERVAL_MS, behaviourPenaltyDecay: GOSSIP_BEHAVIOUR_PENALTY_DECAY, ...init.gossip?.scoreParams }
    })(components),
    admission: (components: any) => new AdmissionService(components, {
      certificate: init.certificate,
      trustedAuthorities: init.trustedAuthorities,
      timeoutMs: init.admissionTimeoutMs,
      refusalBackoffMs: init.refusalBackoffMs,
      maxCertificateValidityMs: init.maxCertificateValidityMs
    }),
    revocations: (components: any) => new RevocationService(components, { trustedAuthorities: init.trustedAuthorities, lists: revocationLists }),
    capabilities: (components: any) => new CapabilitiesService(components, { role, region, models: init.models, dialTimeoutMs, fullStationTables: init.fullStationTables }),
    dcutr: dcutr(),
    autonat: autoNAT()
  }
  if (role === 'station') {
    services.relay = circuitRelayServer({
      reservations: {
        maxReservations: RELAY_MAX_RESERVATIONS,
        // relayed connections inside the walled garden carry whole protocols
        // (admission, DHT, market), so no 2 min / 128 KiB limit
        applyDefaultLimit: false
      }
    })
  }

  const modelsDir = init.modelStore?.dir ?? (init.dataDir != null ? join(init.dataDir, MODELS_DIR) : undefined)
  const store = init.modelStore?.store ?? (modelsDir != null ? await ModelStore.open(modelsDir, { budgetBytes: init.modelStore?.budgetBytes }) : undefined)
  if (store != null) {
    services.models = (components: any) => new ModelTransferService(components, { store, maxModelBytes: init.modelStore?.maxModelBytes, dialTimeoutMs })
  }
  if (init.worker != null && init.worker !== false && store == null) {
    throw new InvalidConfigError('a worker needs a model store: give dataDir or modelStore.dir')
  }
  const workerInit = init.worker === true ? {} : init.worker === false ? undefined : init.worker
  services.ledger = ledgerService({
    ...init.ledger,
    certificate: init.certificate,
    trustedAuthorities: init.trustedAuthorities,
    dir: init.ledger?.dir ?? (init.dataDir != null ? join(init.dataDir, LEDGER_DIR) : undefined)
  }) as any
  services.market = market({
    // bidders are scored with the RTT discovery measured when it admitted them, not pinged again in the bid window
    knownRtt: (id) => (gate.libp2p?.services as Partial<MeshServices> | undefined)?.capabilities?.rttOf(id),
    ...init.market,
    certificate: init.certificate,
    trustedAuthorities: init.trustedAuthorities,
    // the inference service registers itself as the lease handler (handleLeases) when it starts
    worker: workerInit
  }) as any

  // after the market and the ledger: libp2p builds services in order, and inference takes both as components
  if (store != null) services.inference = inference(init.inference)

  for (const [name, factory] of Object.entries(init.services ?? {})) {
    // the market and the ledger may be replaced (a custom worker policy, lease handler or ledger); other built-ins may not
    if (name in services && name !== 'market' && name !== 'ledger') throw new InvalidConfigError(`service name "${name}" is taken by a built-in service; choose another`)
    services[name] = factory
  }

  const peerDiscovery: any[] = []
  if (init.bootstrap != null && init.bootstrap.length > 0) {
    peerDiscovery.push(bootstrap({ list: init.bootstrap, timeout: 0 }))
  }
  if (init.mdns === true) peerDiscovery.push(mdns())

  let libp2p: Libp2p<MeshServices>
  try {
    libp2p = await createLibp2p({
      privateKey,
      datastore,
      // a peer's entry outlives its provider records (see the constant)
      peerStore: { maxPeerAge: PEER_STORE_MAX_PEER_AGE_MS },
      start: false,
      nodeInfo: { name: 'fleetmesh', version: '0.1.0' },
      addresses: {
        listen: init.listen ?? DEFAULT_LISTEN[role],
        announce: init.announce ?? []
      },
      transports: [tcp(), circuitRelayTransport()],
      connectionEncrypters: [noise()],
      // windows sized for a fleet LAN's bandwidth-delay product; every node of the private network shares them
      // each connection's inbound streams are budgeted before negotiation (stream-budget.ts); window updates at half a window (yamux-window.ts)
      streamMuxers: [(components: any) => budgetedMuxer(halfWindowMuxer(yamux({ enableKeepAlive: YAMUX_KEEP_ALIVE, streamOptions: { initialStreamWindowSize: YAMUX_INITIAL_STREAM_WINDOW_BYTES, maxStreamWindowSize: YAMUX_MAX_STREAM_WINDOW_BYTES } })()), {
        ...(init.inboundStreamBudget ?? INBOUND_STREAM_BUDGET),
        log: components.logger.forComponent('fleetmesh:stream-budget'),
        connectionOf: (muxer) => gate.libp2p?.getConnections().find(c => c.streams === muxer.streams),
        onFlood: (connection, refused) => {
          if (connection == null) return
          gate.admission?.penalize(connection.remotePeer, 'ERR_STREAM_FLOOD', `${refused} inbound streams over the budget on one connection`, STREAM_FLOOD_BACKOFF_MS)
        }
      })],
      connectionProtector: psk != null ? swarmKeyProtector(psk) : undefined,
      metrics: init.metrics,
      peerDiscovery,
      connectionMonitor: { pingInterval: profile.connectionMonitorIntervalMs },
      connectionGater: {
        denyDialPeer: refused,
        denyInboundEncryptedConnection: (id) => refused(id) || connectedEnough(id),
        denyOutboundEncryptedConnection: refused
      },
      connectionManager: {
        maxConnections: init.maxConnections ?? profile.maxConnections,
        inboundConnectionThreshold: INBOUND_CONNECTION_THRESHOLD,
        maxIncomingPendingConnections: MAX_INCOMING_PENDING_CONNECTIONS,
        dialTimeout: dialTimeoutMs
      },
      services: services as any
    }) as unknown as Libp2p<MeshServices>
  } catch (err) {
    await ownedStore?.close().catch(() => {})
    throw err
  }
  try {
    // a vehicle's provides and walks reach VEHICLE_K_BUCKET_SIZE stations; its lookups still yield K_BUCKET_SIZE providers
    if (role !== 'station' && init.fullStationTables === true) lookupsYieldUpTo(libp2p.services.dht, K_BUCKET_SIZE)
  } catch (err) {
    await ownedStore?.close().catch(() => {})
    throw err
  }
  gate.admission = libp2p.services.admission
  gate.libp2p = libp2p
  const node = new FleetMeshNode(libp2p, certificate, ownedStore, dialTimeoutMs, init.bootstrap ?? [])
  if (init.start !== false) await node.start()
  return node
}

class FleetMeshNode extends TypedEventEmitter<MeshNodeEvents> implements MeshNode {
  readonly libp2p: Libp2p<MeshServices>
  readonly certificate: VerifiedCertificate
  private readonly datastore?: { close?: () => Promise<void> }
  private readonly dialTimeoutMs: number
  private readonly handlers = new Map<string, Set<{ handler: GossipHandler, validator?: GossipValidator }>>()
  private readonly forward: Array<[keyof AdmissionEvents, (evt: any) => void]>
  private readonly onGossip: (evt: CustomEvent<{ propagationSource: PeerId, msg: Message }>) => void

  private readonly bootstrapList: string[]
  /** the peer id each bootstrap address names, parsed once (undefined: none) */
  private readonly bootstrapPeers: Array<PeerId | undefined>
  private bootstrapTimer?: ReturnType<typeof setTimeout>
  private bootstrapDelay = BOOTSTRAP_RETRY_MS
  /** a bootstrap check of a node with a peer has found a bootstrap peer missing; the next one (MAX_BOOTSTRAP_RETRY_MS later) re-dials it */
  private bootstrapMissing = false
  /** when the pending bootstrap check runs, ms since the epoch */
  private bootstrapDueAt = 0
  /** a peer left: a check a retry interval from now (sooner than a pending one), so a node that lost its last or a bootstrap peer re-dials */
  private readonly onPeerDisconnect = (): void => {
    if (this.bootstrapTimer == null || this.bootstrapDueAt - Date.now() > BOOTSTRAP_RETRY_MS) this.scheduleBootstrap(BOOTSTRAP_RETRY_MS)
  }

  constructor (libp2p: Libp2p<MeshServices>, certificate: VerifiedCertificate, datastore: { close: () => Promise<void> } | undefined, dialTimeoutMs: number, bootstrapList: string[]) {
    super()
    this.bootstrapList = bootstrapList
    this.bootstrapPeers = bootstrapList.map(bootstrapPeerOf)
    this.libp2p = libp2p
    this.certificate = certificate
    this.datastore = datastore
    this.dialTimeoutMs = dialTimeoutMs
    this.forward = (['peer:admitted', 'peer:refused', 'admission:rejected-by-peer'] as const).map(type => [type, (evt: CustomEvent) => { this.safeDispatchEvent(type, { detail: evt.detail }) }])
    this.onGossip = (evt) => {
      const { propagationSource, msg } = evt.detail
      if (msg.type !== 'signed') return
      for (const h of this.handlers.get(msg.topic) ?? []) {
        try { h.handler(msg, propagationSource) } catch {}
      }
    }
  }

  get peerId (): PeerId { return this.libp2p.peerId }
  get role (): NodeRole { return this.certificate.role }
  get region (): string { return this.certificate.region }

  async start (): Promise<void> {
    for (const [type, fn] of this.forward) this.libp2p.services.admission.addEventListener(type, fn)
    ;(this.libp2p.services.pubsub as any).addEventListener('gossipsub:message', this.onGossip)
    await this.libp2p.start()
    this.libp2p.addEventListener('peer:disconnect', this.onPeerDisconnect)
    this.scheduleBootstrap()
  }

  /**
   * @libp2p/bootstrap dials its list once; a dial that fails (a station
   * still starting, a reset under load) is not retried. While this node has
   * fewer of its bootstrap peers admitted than BOOTSTRAP_MIN_PEERS (or the
   * list's length, if shorter), the ones not admitted are re-dialled: with
   * exponential back-off while it has no peer at all; once it has one,
   * MAX_BOOTSTRAP_RETRY_MS after the first check that finds one missing, and
   * as far apart after (a node with a peer is in no hurry: the vehicles of
   * a fleet that is starting add no dials while their stations are
   * busiest). An address without a `/p2p/` peer id counts as admitted once
   * any peer is. With enough admitted the timer stops (an idle node keeps
   * no polling timer); a peer's disconnect checks again a retry interval
   * later.
   */
  private scheduleBootstrap (delayMs = this.bootstrapDelay): void {
    if (this.bootstrapList.length === 0) return
    clearTimeout(this.bootstrapTimer)
    this.bootstrapDueAt = Date.now() + delayMs
    this.bootstrapTimer = setTimeout(() => {
      this.bootstrapTimer = undefined
      if (this.libp2p.status !== 'started') return
      const admission = this.libp2p.services.admission
      const any = admission.admitted().length > 0
      const missing = this.bootstrapList.filter((_, i) => {
        const id = this.bootstrapPeers[i]
        return id == null ? !any : !admission.isAdmitted(id)
      })
      const enough = this.bootstrapList.length - missing.length >= Math.min(BOOTSTRAP_MIN_PEERS, this.bootstrapList.length)
      if (any) {
        this.bootstrapDelay = BOOTSTRAP_RETRY_MS
        if (enough) {
          this.bootstrapMissing = false
          return
        }
        if (this.bootstrapMissing) this.dialBootstrap(missing)
        this.bootstrapMissing = true
        this.scheduleBootstrap(MAX_BOOTSTRAP_RETRY_MS)
        return
      }
      this.bootstrapDelay = Math.min(this.bootstrapDelay * 2, MAX_BOOTSTRAP_RETRY_MS)
      this.dialBootstrap(missing)
      this.scheduleBootstrap()
    }, delayMs)
    this.bootstrapTimer.unref?.()
  }

  private dialBootstrap (addrs: string[]): void {
    for (const addr of addrs) {
      void this.libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(this.dialTimeoutMs) }).catch(() => {})
    }
  }

  async stop (): Promise<void> {
    this.libp2p.removeEventListener('peer:disconnect', this.onPeerDisconnect)
    clearTimeout(this.bootstrapTimer)
    for (const [type, fn] of this.forward) this.libp2p.services.admission.removeEventListener(type, fn)
    ;(this.libp2p.services.pubsub as any).removeEventListener('gossipsub:message', this.onGossip)
    await this.libp2p.stop()
    // last-use times of models still waiting for their timer reach disk now: nothing writes into the data directory after stop()
    await this.modelStore?.flush()
    await this.datastore?.close?.()?.catch(() => {})
  }

  getMultiaddrs (): Multiaddr[] {
    return this.libp2p.getMultiaddrs()
  }

  async connect (peer: PeerId | Multiaddr | string, options: { signal?: AbortSignal } = {}): Promise<VerifiedCertificate> {
    const target = typeof peer === 'string' ? multiaddr(peer) : peer
    const signal = AbortSignal.any([AbortSignal.timeout(this.dialTimeoutMs), ...(options.signal != null ? [options.signal] : [])])
    const connection = await this.libp2p.dial(target, { signal })
    return this.libp2p.services.admission.waitFor(connection.remotePeer, { signal: options.signal })
  }

  async findPeers (query: FindPeersQuery): Promise<MeshPeer[]> {
    return this.libp2p.services.capabilities.findPeers(query)
  }

  peers (): MeshPeer[] {
    return this.libp2p.services.capabilities.peers()
  }

  async announce (kind: CapabilityKind, value: string): Promise<void> {
    await this.libp2p.services.capabilities.announce(kind, value)
  }

  async announced (): Promise<void> {
    await this.libp2p.services.capabilities.ready()
  }

  isAdmitted (peerId: PeerId): boolean {
    return this.libp2p.services.admission.isAdmitted(peerId)
  }

  refusals (): AdmissionRefusal[] {
    return this.libp2p.services.admission.refusals()
  }

  async revoke (list: Uint8Array): Promise<VerifiedRevocationList> {
    return this.libp2p.services.revocations.revoke(list)
  }

  revocationLists (): VerifiedRevocationList[] {
    return this.libp2p.services.revocations.lists()
  }

  subscribe (topic: string, handler: GossipHandler, validator?: GossipValidator): () => void {
    const pubsub = this.libp2p.services.pubsub
    let set = this.handlers.get(topic)
    if (set == null) {
      set = new Set()
      this.handlers.set(topic, set)
      pubsub.topicValidators.set(topic, async (source, msg) => this.validate(topic, source, msg))
      pubsub.subscribe(topic)
    }
    const entry = { handler, validator }
    set.add(entry)
    return () => {
      set.delete(entry)
      if (set.size === 0) {
        this.handlers.delete(topic)
        pubsub.topicValidators.delete(topic)
        pubsub.unsubscribe(topic)
      }
    }
  }

  get modelStore (): ModelStore | undefined {
    return this.libp2p.services.models?.store
  }

  get ledger (): Ledger {
    return this.libp2p.services.ledger
  }

  async addModel (bytes: Uint8Array): Promise<StoredModel> {
    return this.models().add(bytes)
  }

  async fetchModel (cid: string, options?: FetchModelOptions): Promise<StoredModel> {
    return this.models().fetch(cid, options)
  }

  submit (init: SubmitInit): JobHandle {
    const inference = this.libp2p.services.inference
    if (inference == null) throw new ModelsUnavailableError('this node has no model store, so it cannot submit jobs: start it with a dataDir or with modelStore.dir')
    return inference.submit(init)
  }

  async openSession (init: SessionInit): Promise<InferenceSession> {
    const inference = this.libp2p.services.inference
    if (inference == null) throw new ModelsUnavailableError('this node has no model store, so it cannot open sessions: start it with a dataDir or with modelStore.dir')
    return inference.openSession(init)
  }

  private models (): ModelTransfer {
    const m = this.libp2p.services.models
    if (m == null) throw new ModelsUnavailableError('this node has no model store: start it with a dataDir or with modelStore.dir')
    return m
  }

  async publish (topic: string, data: Uint8Array): Promise<void> {
    if (data.byteLength > MAX_GOSSIP_MESSAGE_BYTES) {
      const { MessageTooLargeError } = await import('@fleetmesh/protocol')
      throw new MessageTooLargeError('gossip message', data.byteLength, MAX_GOSSIP_MESSAGE_BYTES)
    }
    await this.libp2p.services.pubsub.publish(topic, data)
  }

  /** Admission first (a peer not admitted never gets a message through), then size, then the subscribers' validators. */
  private async validate (topic: string, source: PeerId, msg: Message): Promise<TopicValidatorResult> {
    const admission = this.libp2p.services.admission
    if (!admission.isAdmitted(source)) {
      return admission.isRefused(source) ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore
    }
    if (msg.type !== 'signed') return TopicValidatorResult.Reject
    if (msg.data.byteLength > MAX_GOSSIP_MESSAGE_BYTES) return TopicValidatorResult.Reject
    for (const h of this.handlers.get(topic) ?? []) {
      if (h.validator == null) continue
      let verdict: 'accept' | 'ignore' | 'reject'
      try {
        verdict = await h.validator(msg, source)
      } catch {
        verdict = 'reject'
      }
      if (verdict === 'reject') return TopicValidatorResult.Reject
      if (verdict === 'ignore') return TopicValidatorResult.Ignore
    }
    return TopicValidatorResult.Accept
  }
}
