import type { Admission, AdmissionEvents, AdmissionRefusal } from './admission.js'
import type { Capabilities, CapabilityKind, FindPeersQuery, MeshPeer } from './capabilities.js'
import type { FetchModelOptions, ModelTransfer } from './model-transfer.js'
import type { Revocations } from './revocation.js'
import type { StreamBudget } from './stream-budget.js'
import type { Inference, InferenceInit, InferenceSession, JobHandle, SessionInit, SubmitInit } from '@fleetmesh/inference'
import type { Ledger, LedgerInit } from '@fleetmesh/ledger'
import type { Market, MarketInit, WorkerInit } from '@fleetmesh/market'
import type { NodeRole, VerifiedCertificate, VerifiedRevocationList } from '@fleetmesh/protocol'
import type { ModelStore, StoredModel } from '@fleetmesh/runtime'
import type { GossipSub, GossipsubOpts, Message } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, Metrics, PeerId, PrivateKey, PublicKey, TypedEventEmitter } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Datastore } from 'interface-datastore'

/**
 * The public shape of a mesh node: its init, its services and its API.
 * `createMeshNode` (mesh-node.ts) builds one.
 */

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
  /**
   * inbound streams one connection may open before negotiation (per
   * second, burst) and the refused streams after which the connection is
   * cut and its peer refused for STREAM_FLOOD_BACKOFF_MS
   * @default INBOUND_STREAM_BUDGET ({ perSecond: 200, burst: 400, cutAfter: 200 })
   */
  inboundStreamBudget?: StreamBudget
  /** connection manager ceiling @default station: STATION_MAX_CONNECTIONS (100); vehicle: VEHICLE_MAX_CONNECTIONS (32) */
  maxConnections?: number
  /**
   * Full station routing tables (under trial, off by default). A station
   * walks the DHT towards each station it knows, one walk per routing
   * check, up to K_BUCKET_SIZE, and provides its keys again each time its
   * table, complete, holds more; a vehicle's provides and walks reach its
   * VEHICLE_K_BUCKET_SIZE nearest stations of each key while its lookups
   * still yield up to K_BUCKET_SIZE providers. Every node of a fleet
   * should set it alike. bench/scale (`--full-tables`) measured, at 200
   * nodes on a loaded machine, every lookup answered in 6 of 6 runs and
   * stations' tables of 14–19 of 19 (the default: 59–60 of 60, tables of
   * 1–2 at their shortest), and idle CPU and start-up no better, often
   * worse (bench/README, scale). Known gap: a vehicle's lookup walks to
   * its 2 nearest stations of the key, so right after a fleet starts it
   * may miss a station whose own records went only to the few stations
   * its table held then (peer's discovery spec, run with this set: one
   * station of two missing from a `region/u33` lookup).
   *
   * @default false
   */
  fullStationTables?: boolean
  /** extra gossipsub options (score parameters, mesh degree: they replace the role's STATION_/VEHICLE_GOSSIP_DEGREE); fleetmesh's limits and StrictSign always apply */
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
  inference?: Inference
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
   * @throws ModelsUnavailableError, InvalidCidError, ModelFetchError, ModelHashMismatchError, ModelFetchAbortedError (the node stopped mid-fetch)
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
  /**
   * Opens a stateful inference session (a recurrent model, a decoder with
   * its KV cache) on workers leased for its life, one per stage; the state
   * stays on the workers. Delegates to the inference service.
   *
   * @throws ModelsUnavailableError without a model store; the errors of `Inference.openSession`
   */
  openSession(init: SessionInit): Promise<InferenceSession>
}
