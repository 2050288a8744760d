import type { VerifiedCertificate, VerifiedRevocationList } from '@fleetmesh/protocol'
import type { ComponentLogger, Connection, Libp2pEvents, PeerId, PeerStore, PublicKey, TypedEventTarget, TypedEventEmitter } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

/** The admission service's init, components, events and public interface (the service is in admission.ts). */

export interface AdmissionInit {
  /** this node's certificate (a signed envelope from `issueCertificate`) */
  certificate: Uint8Array
  /** public keys of the fleet authorities this node trusts */
  trustedAuthorities: PublicKey[]
  /**
   * how long a connection may stay open without a verified certificate, ms
   *
   * @default ADMISSION_TIMEOUT_MS (600)
   */
  timeoutMs?: number
  /**
   * how long a refused peer is denied by the connection gater, ms
   *
   * @default REFUSAL_BACKOFF_MS (60000)
   */
  refusalBackoffMs?: number
  /** longest certificate validity this fleet accepts, ms; unbounded when omitted (see `verifyCertificate`) */
  maxCertificateValidityMs?: number
  /**
   * most connections of peers not yet admitted kept at once
   *
   * @default MAX_UNADMITTED_CONNECTIONS (32)
   */
  maxUnadmittedConnections?: number
}

export interface AdmissionComponents {
  peerId: PeerId
  registrar: Registrar
  connectionManager: ConnectionManager
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  /** libp2p identify, started with `runOnConnectionOpen: false`: admission runs it once a peer is admitted */
  identify?: { identify(connection: Connection, options?: { signal?: AbortSignal }): Promise<unknown> }
}

/** Why a peer was refused. */
export interface AdmissionRefusal {
  peerId: PeerId
  /** stable error code, e.g. `ERR_CERTIFICATE_EXPIRED`, `ERR_ADMISSION_TIMEOUT`, `ERR_CERTIFICATE_REVOKED` */
  code: string
  message: string
  /** ms since the epoch */
  at: number
}

export interface AdmissionEvents {
  /** a peer presented a valid certificate */
  'peer:admitted': CustomEvent<VerifiedCertificate>
  /** a peer was refused and disconnected */
  'peer:refused': CustomEvent<AdmissionRefusal>
  /** a remote peer refused this node's certificate */
  'admission:rejected-by-peer': CustomEvent<{ peerId: PeerId, code: string }>
}

/** The public face of the admission service. */
export interface Admission extends TypedEventEmitter<AdmissionEvents> {
  /** the certificate of an admitted, connected peer */
  get(peerId: PeerId): VerifiedCertificate | undefined
  /** true if the peer is connected and admitted */
  isAdmitted(peerId: PeerId): boolean
  /** true if the peer was refused within the back-off window */
  isRefused(peerId: PeerId): boolean
  /** true if the peer must not be named to others (refused, or revoked by a held revocation list) */
  isExcluded(peerId: PeerId): boolean
  /** certificates of all admitted, connected peers */
  admitted(): VerifiedCertificate[]
  /**
   * Resolves with the peer's certificate once it is admitted.
   *
   * @throws AdmissionRefusedError if it is refused, it refuses this node, the signal aborts, or it is not admitted within ADMISSION_WAIT_MS
   */
  waitFor(peerId: PeerId, options?: { signal?: AbortSignal }): Promise<VerifiedCertificate>
  /** the latest refusals, newest last (at most 100) */
  refusals(): AdmissionRefusal[]
  /**
   * Applies a verified revocation list: it replaces the held list of its
   * authority, and every admitted peer it revokes is refused and
   * disconnected at once.
   *
   * @returns the peers dropped
   * @throws StaleRevocationListError if a list of the same authority with an equal or higher sequence is held
   */
  addRevocationList(list: VerifiedRevocationList): PeerId[]
  /** the revocation lists held, one per authority */
  revocationLists(): VerifiedRevocationList[]
  /**
   * Refuses an admitted peer for what it did (e.g. `ERR_STREAM_FLOOD`), not
   * for its certificate: it is disconnected and kept out for `backoffMs`,
   * then admitted again like any member.
   *
   * @param code - stable error code of the refusal
   * @param backoffMs - how long the peer is kept out, ms
   */
  penalize(peerId: PeerId, code: string, message: string, backoffMs: number): void
}
