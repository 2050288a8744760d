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
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { swarmKeyProtector } from './pnet.js'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { AdmissionService } from './admission.js'
import { CapabilitiesService } from './capabilities.js'
import { RevocationService } from './revocation.js'
import { LEDGER_DIR, MODELS_DIR, REVOCATION_LIST_FILE, BOOTSTRAP_RETRY_MS, DIAL_TIMEOUT_MS, INBOUND_CONNECTION_THRESHOLD, MAX_BOOTSTRAP_RETRY_MS, MAX_CONNECTIONS, MAX_INCOMING_PENDING_CONNECTIONS, RELAY_MAX_RESERVATIONS } from './constants.js'
import { loadOrCreateIdentity, openDatastore } from './data-dir.js'
import { ModelsUnavailableError, OwnCertificateError } from './errors.js'
import { ModelTransferService } from './model-transfer.js'
import { InferenceService } from './inference.js'
import { market } from '@fleetmesh/market'
import { ledger as ledgerService } from '@fleetmesh/ledger'
import type { Ledger, LedgerInit } from '@fleetmesh/ledger'
import type { InferenceInit, JobHandle, SubmitInit } from './inference.js'
import type { Market, MarketInit, WorkerInit, WorkerLease } from '@fleetmesh/market'
import { ModelStore } from '@fleetmesh/runtime'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseSwarmKey } from './swarm-key.js'
import type { Admission, AdmissionEvents, AdmissionRefusal } from './admission.js'
import type { Revocations } from './revocation.js'
import type { Capabilities, CapabilityKind, FindPeersQuery, MeshPeer } from './capabilities.js'
import type { FetchModelOptions, ModelTransfer } from './model-transfer.js'
import type { StoredModel } from '@fleetmesh/runtime'
import type { NodeRole, VerifiedCertificate, VerifiedRevocationList } from '@fleetmesh/protocol'
import type { GossipSub, GossipsubOpts, Message } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, Metrics, PeerId, PeerInfo, PrivateKey, PublicKey } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Datastore } from 'interface-datastore'

/** Init of {@link createMeshNode}. Plain data (survives `structuredClone`) except keys and callbacks. */
export interface MeshNodeInit {
  /** `station` (always on, DHT server, relay) or `vehicle` (DHT client, reachable through relays) */
  role: NodeRole
  /** geohash prefix of the node's area, e.g. `u33d`; must equal the certificate's */
  region: string
  /**
   * This node's device certificate from the fleet authority (bytes from
   * `issueCertificate`); it must be issued to this node's PeerId. Checked
   * at start: a node with an invalid own certificate refuses to start.
   */
  certificate: Uint8Array
  /** public keys of the fleet authorities whose certificates this node accepts */
  trustedAuthorities: PublicKey[]
  /** pnet pre-shared swarm key (PSK v1 file bytes); without it the node joins no private network */
  swarmKey?: Uint8Array | string
  /**
   * Data directory: identity key and LevelDB datastore (peer store, DHT
   * records) persist there, so a restarted node keeps its PeerId.
   * In memory if omitted.
   */
  dataDir?: string
  /** identity key; overrides the one in `dataDir`. A fresh key is generated if neither is given. */
  privateKey?: PrivateKey
  /**
   * multiaddrs to listen on
   *
   * @default station: `/ip4/0.0.0.0/tcp/0`; vehicle: `/ip4/0.0.0.0/tcp/0` and `/p2p-circuit` (a relay reservation on a station)
   */
  listen?: string[]
  /** multiaddrs to announce instead of the listen addresses (public address of a station behind port forwarding) */
  announce?: string[]
  /** bootstrap multiaddrs (with `/p2p/<PeerId>`), usually stations */
  bootstrap?: string[]
  /** discover peers on the LAN with mDNS @default false */
  mdns?: boolean
  /**
   * keep private (RFC 1918, loopback) addresses in DHT records; needed for a
   * LAN fleet or a loopback testnet, off for nodes on the public internet
   *
   * @default true
   */
  allowPrivateAddresses?: boolean
  /** dial timeout, ms @default DIAL_TIMEOUT_MS (5000) */
  dialTimeoutMs?: number
  /** how long a connection may stay open without a verified certificate, ms @default ADMISSION_TIMEOUT_MS (600) */
  admissionTimeoutMs?: number
  /** longest certificate validity the fleet accepts from peers, ms; unbounded when omitted */
  maxCertificateValidityMs?: number
  /**
   * signed revocation lists (from `createRevocationList`) applied at start,
   * besides those stored in the datastore and `<dataDir>/revocation.list`
   */
  revocationLists?: Uint8Array[]
  /** how long a refused peer is denied, ms @default REFUSAL_BACKOFF_MS (60000) */
  refusalBackoffMs?: number
  /** model CIDs to announce as `model/<cid>` at start */
  models?: string[]
  /** connection manager ceiling @default MAX_CONNECTIONS (100) */
  maxConnections?: number
  /** extra gossipsub options (score parameters, mesh degree); fleetmesh's limits and StrictSign always apply */
  gossip?: Partial<GossipsubOpts>
  /**
   * Extra libp2p services composed into the node (libp2p's service shape:
   * `name: (components) => service`), e.g. `{ market: market(init) }`. They
   * receive libp2p's components plus the built-in services by name
   * (`pubsub`, `dht`, `ping`, `admission`, `capabilities`). A `market`
   * entry replaces the built-in market (then `worker` has no effect and
   * `submit()` uses the given market).
   */
  services?: Record<string, (components: any) => unknown>
  /**
   * The model store and the model transfer protocol. On by default when
   * `dataDir` is set (store in `<dataDir>/models`); give `dir` or `store`
   * to enable it without a data directory.
   */
  modelStore?: {
    /** store directory @default `<dataDir>/models` */
    dir?: string
    /** an opened store to use instead */
    store?: ModelStore
    /** store size budget, bytes @default DEFAULT_STORE_BUDGET_BYTES (2 GiB) */
    budgetBytes?: number
    /** largest model fetched or served, bytes @default MAX_MODEL_BYTES (256 MiB) */
    maxModelBytes?: number
  }
  /**
   * Serve jobs: bid on offers in this node's region and run leased shards
   * (needs a model store). `true` for the default worker policy; vehicles
   * pass their `vehicleState` and `availability` here. Omit for a node that
   * only submits jobs.
   */
  worker?: boolean | Omit<WorkerInit, 'onLease'>
  /** market options (bid window, heartbeats, score weights, reputation) */
  market?: Omit<MarketInit, 'certificate' | 'trustedAuthorities' | 'worker'>
  /** inference options (runner processes, threads, input limits, spot-check rate) */
  inference?: InferenceInit
  /**
   * The receipt ledger (always on): its store is `<dataDir>/ledger` (in
   * memory without a data directory). Workers sign a receipt for every
   * lease they serve; `submit()` settles each job (receipts checked,
   * countersigned, gossiped and reconciled) and the market scores bidders
   * with the ledger's reputation unless `market.reputation` is given.
   */
  ledger?: Omit<LedgerInit, 'certificate' | 'trustedAuthorities'>
  /** libp2p metrics implementation, e.g. `prometheusMetrics()` from @libp2p/prometheus-metrics */
  metrics?: (components: any) => Metrics
  /** the datastore to use instead of opening one in `dataDir` */
  datastore?: Datastore
  /** start the node at once @default true */
  start?: boolean
}

/** libp2p services every mesh node runs. */
export interface MeshServices {
  identify: Identify
  ping: Ping
  dht: KadDHT
  pubsub: GossipSub
  admission: Admission
  revocations: Revocations
  capabilities: Capabilities
  /** present when the node has a model store (see `MeshNodeInit.modelStore`) */
  models?: ModelTransfer
  /** offers, bids, awards and leases */
  market: Market
  /** sharded inference (present with a model store) */
  inference?: InferenceService
  /** signed work receipts, balances, reputation */
  ledger: Ledger
  [name: string]: unknown
}

/** A gossip handler: receives each validated message on a topic. */
export type GossipHandler = (message: Message & { type: 'signed' }, propagationSource: PeerId) => void

/**
 * A gossip validator run after the admission check. Throw or return
 * `'reject'` to drop the message and lower the sender's gossipsub score,
 * `'ignore'` to drop it without penalty, `'accept'` to deliver it.
 */
export type GossipValidator = (message: Message & { type: 'signed' }, propagationSource: PeerId) => 'accept' | 'ignore' | 'reject' | Promise<'accept' | 'ignore' | 'reject'>

export interface MeshNodeEvents extends AdmissionEvents {}

/** A running fleetmesh node. */
export interface MeshNode extends TypedEventEmitter<MeshNodeEvents> {
  readonly peerId: PeerId
  readonly role: NodeRole
  readonly region: string
  /** this node's own verified certificate */
  readonly certificate: VerifiedCertificate
  /** the underlying libp2p node (for protocols built on top) */
  readonly libp2p: Libp2p<MeshServices>
  start(): Promise<void>
  /** Stops the node and closes its datastore. */
  stop(): Promise<void>
  /** addresses other peers can dial, with `/p2p/<PeerId>` */
  getMultiaddrs(): Multiaddr[]
  /** Dials a peer and resolves once it is admitted. @throws AdmissionRefusedError, dial errors */
  connect(peer: PeerId | Multiaddr | string, options?: { signal?: AbortSignal }): Promise<VerifiedCertificate>
  /** Finds admitted peers by role/region/model, nearest first (see `CapabilitiesService`). */
  findPeers(query: FindPeersQuery): Promise<MeshPeer[]>
  /** admitted, connected peers, nearest first: the peer table */
  peers(): MeshPeer[]
  /** Provides a capability in the DHT (e.g. `('model', cid)`). */
  announce(kind: CapabilityKind, value: string): Promise<void>
  /** Resolves once the node's capabilities reached the DHT. */
  announced(): Promise<void>
  /** true if the peer is connected and admitted */
  isAdmitted(peerId: PeerId): boolean
  /** recent refusals (peers disconnected for a bad or missing certificate) */
  refusals(): AdmissionRefusal[]
  /**
   * Applies a signed revocation list (from `createRevocationList`), stores
   * it and spreads it: gossip plus a push to every admitted peer. Revoked
   * peers are disconnected and refused here at once, elsewhere as the list
   * arrives.
   *
   * @throws StaleRevocationListError if a list of its authority with an equal or higher sequence is held
   * @throws UnknownAuthorityError, InvalidRevocationListError, InvalidSignatureError on a bad list
   */
  revoke(list: Uint8Array): Promise<VerifiedRevocationList>
  /** the revocation lists this node holds, one per authority */
  revocationLists(): VerifiedRevocationList[]
  /** Subscribes to a gossip topic; messages from peers that are not admitted never reach `handler`. Returns an unsubscribe function. */
  subscribe(topic: string, handler: GossipHandler, validator?: GossipValidator): () => void
  /** Publishes on a gossip topic. @throws MessageTooLargeError */
  publish(topic: string, data: Uint8Array): Promise<void>
  /** the model store, if the node has one */
  readonly modelStore: ModelStore | undefined
  /** the receipt ledger: receipts, balances, earnings, reputation */
  readonly ledger: Ledger
  /**
   * Validates, stores and announces (`model/<cid>`) a model file.
   *
   * @throws ModelsUnavailableError without a model store; validation errors of @fleetmesh/runtime
   */
  addModel(bytes: Uint8Array): Promise<StoredModel>
  /**
   * Returns a stored model, fetching it by CID from a provider first if needed.
   *
   * @throws ModelsUnavailableError, InvalidCidError, ModelFetchError, ModelHashMismatchError
   */
  fetchModel(cid: string, options?: FetchModelOptions): Promise<StoredModel>
  /**
   * Submits a sharded inference job (data- or pipeline-parallel) to the
   * mesh. Iterate the handle for progress; await `handle.result` for the
   * output tensors in input order.
   *
   * @throws ModelsUnavailableError without a model store (other errors reject `result`)
   */
  submit(init: SubmitInit): JobHandle
}

/** A Kad-DHT peer info mapper that empties the addresses of excluded peers (kad-dht then leaves them out of its answers). */
function excludingMapper (base: (info: PeerInfo) => PeerInfo, excluded: (id: PeerId) => boolean): (info: PeerInfo) => PeerInfo {
  return (info) => excluded(info.id) ? { id: info.id, multiaddrs: [] } : base(info)
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
  const revocationLists = [...(init.revocationLists ?? [])]
  if (init.dataDir != null) {
    const file = await readFile(join(init.dataDir, REVOCATION_LIST_FILE)).catch(() => undefined)
    if (file != null) revocationLists.push(file)
  }
  const ownedStore = init.datastore == null && init.dataDir != null ? await openDatastore(init.dataDir) : undefined
  const datastore = init.datastore ?? ownedStore

  // the gater asks the admission service, which exists only once libp2p is built
  const gate: { admission?: Admission, inference?: InferenceService, ledger?: Ledger } = {}
  const refused = (id: PeerId): boolean => gate.admission?.isRefused(id) ?? false

  const services: Record<string, (components: any) => unknown> = {
    // identify runs only once a peer is admitted (the admission service
    // starts it): libp2p notifies gossipsub's, Kad-DHT's and the relay's
    // topologies of a peer only after its identify, so they never learn of
    // a peer that is not a member
    identify: identify({ runOnLimitedConnection: true, runOnConnectionOpen: false }),
    // findPeers pings several providers while the connection monitor and DHT ping too
    ping: ping({ runOnLimitedConnection: true, maxOutboundStreams: 8, maxInboundStreams: 8 }),
    dht: kadDHT({
      protocol: DHT_PROTOCOL,
      clientMode: role !== 'station',
      // answers never name a refused or revoked peer (kad-dht drops entries left without addresses)
      peerInfoMapper: excludingMapper((init.allowPrivateAddresses ?? true) ? passthroughMapper : removePrivateAddressesMapper, (id) => gate.admission?.isExcluded(id) ?? false),
      // fleets are small and stations few: a quiet routing table refresh is enough
      initialQuerySelfInterval: 1000,
      querySelfInterval: 5 * 60 * 1000
    }),
    pubsub: gossipsub({
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
      fastMsgIdFn: (msg) => createHash('sha256').update(msg.from ?? new Uint8Array()).update(msg.seqno ?? new Uint8Array()).update(msg.data ?? new Uint8Array()).digest('base64'),
      ...init.gossip
    }),
    admission: (components: any) => new AdmissionService(components, {
      certificate: init.certificate,
      trustedAuthorities: init.trustedAuthorities,
      timeoutMs: init.admissionTimeoutMs,
      refusalBackoffMs: init.refusalBackoffMs,
      maxCertificateValidityMs: init.maxCertificateValidityMs
    }),
    revocations: (components: any) => new RevocationService(components, { trustedAuthorities: init.trustedAuthorities, lists: revocationLists }),
    capabilities: (components: any) => new CapabilitiesService(components, { role, region, models: init.models, dialTimeoutMs }),
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
    services.inference = (components: any) => new InferenceService(components, init.inference)
  }
  if (init.worker != null && init.worker !== false && store == null) {
    throw new InvalidConfigError('a worker needs a model store: give dataDir or modelStore.dir')
  }
  const workerInit = init.worker === true ? {} : init.worker === false ? undefined : init.worker
  const onLease = async (lease: WorkerLease, signal: AbortSignal): Promise<Uint8Array> => {
    const inference = gate.inference
    if (inference == null) throw new InvalidConfigError('this node runs no inference service')
    return inference.onLease(lease, signal)
  }
  services.ledger = ledgerService({
    ...init.ledger,
    certificate: init.certificate,
    trustedAuthorities: init.trustedAuthorities,
    dir: init.ledger?.dir ?? (init.dataDir != null ? join(init.dataDir, LEDGER_DIR) : undefined)
  }) as any
  services.market = market({
    // bidders are scored with the reputation the receipt set proves (evidence lowers it)
    reputation: (peer: string) => gate.ledger?.reputation(peer) ?? 1,
    ...init.market,
    certificate: init.certificate,
    trustedAuthorities: init.trustedAuthorities,
    worker: workerInit != null ? { ...workerInit, onLease } : undefined
  }) as any

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
      start: false,
      nodeInfo: { name: 'fleetmesh', version: '0.1.0' },
      addresses: {
        listen: init.listen ?? DEFAULT_LISTEN[role],
        announce: init.announce ?? []
      },
      transports: [tcp(), circuitRelayTransport()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionProtector: psk != null ? swarmKeyProtector(psk) : undefined,
      metrics: init.metrics,
      peerDiscovery,
      connectionGater: {
        denyDialPeer: refused,
        denyInboundEncryptedConnection: refused,
        denyOutboundEncryptedConnection: refused
      },
      connectionManager: {
        maxConnections: init.maxConnections ?? MAX_CONNECTIONS,
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
  gate.admission = libp2p.services.admission
  gate.inference = libp2p.services.inference
  gate.ledger = libp2p.services.ledger
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
  private bootstrapTimer?: ReturnType<typeof setTimeout>
  private bootstrapDelay = BOOTSTRAP_RETRY_MS

  constructor (libp2p: Libp2p<MeshServices>, certificate: VerifiedCertificate, datastore: { close: () => Promise<void> } | undefined, dialTimeoutMs: number, bootstrapList: string[]) {
    super()
    this.bootstrapList = bootstrapList
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
    this.scheduleBootstrap()
  }

  /**
   * @libp2p/bootstrap dials its list once; a dial that fails (a station
   * still starting, a reset under load) is not retried. While this node has
   * no admitted peer, the list is re-dialled with exponential back-off.
   */
  private scheduleBootstrap (): void {
    if (this.bootstrapList.length === 0) return
    clearTimeout(this.bootstrapTimer)
    this.bootstrapTimer = setTimeout(() => {
      if (this.libp2p.status !== 'started') return
      if (this.libp2p.services.admission.admitted().length > 0) {
        this.bootstrapDelay = BOOTSTRAP_RETRY_MS
      } else {
        this.bootstrapDelay = Math.min(this.bootstrapDelay * 2, MAX_BOOTSTRAP_RETRY_MS)
        for (const addr of this.bootstrapList) {
          void this.libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(this.dialTimeoutMs) }).catch(() => {})
        }
      }
      this.scheduleBootstrap()
    }, this.bootstrapDelay)
    this.bootstrapTimer.unref?.()
  }

  async stop (): Promise<void> {
    clearTimeout(this.bootstrapTimer)
    for (const [type, fn] of this.forward) this.libp2p.services.admission.removeEventListener(type, fn)
    ;(this.libp2p.services.pubsub as any).removeEventListener('gossipsub:message', this.onGossip)
    await this.libp2p.stop()
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
