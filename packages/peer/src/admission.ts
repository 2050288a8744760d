import { ADMISSION_PROTOCOL, AdmissionHello, AdmissionResult, MAX_ADMISSION_MESSAGE_BYTES, verifyCertificate } from '@fleetmesh/protocol'
import { serviceCapabilities, TypedEventEmitter } from '@libp2p/interface'
import { PeerMap } from '@libp2p/peer-collections'
import { pbStream } from '@libp2p/utils'
import { ADMISSION_TIMEOUT_MS, REFUSAL_BACKOFF_MS, TIMEOUT_REFUSAL_BACKOFF_MS } from './constants.js'
import { AdmissionRefusedError } from './errors.js'
import type { VerifiedCertificate } from '@fleetmesh/protocol'
import type { ComponentLogger, Connection, Libp2pEvents, Logger, PeerId, PublicKey, Startable, Stream, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

/**
 * The admission service ("walled garden"): on every new connection each side
 * opens a `/fleetmesh/admission/1.0.0` stream and sends its device
 * certificate; each side verifies the certificate it receives (trusted
 * authority, not expired, issued to the connection's remote PeerId) and
 * answers with an `AdmissionResult`. A peer that sends a bad certificate, or
 * none within `timeoutMs`, is hung up on and kept out by the connection gater
 * for `refusalBackoffMs`. Certificates are re-checked at expiry.
 */

export interface AdmissionInit {
  /** this node's certificate (a signed envelope from `issueCertificate`) */
  certificate: Uint8Array
  /** public keys of the fleet authorities this node trusts */
  trustedAuthorities: PublicKey[]
  /**
   * how long a connection may stay open without a verified certificate, ms
   *
   * @default ADMISSION_TIMEOUT_MS (3000)
   */
  timeoutMs?: number
  /**
   * how long a refused peer is denied by the connection gater, ms
   *
   * @default REFUSAL_BACKOFF_MS (60000)
   */
  refusalBackoffMs?: number
}

export interface AdmissionComponents {
  peerId: PeerId
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

/** Why a peer was refused. */
export interface AdmissionRefusal {
  peerId: PeerId
  /** stable error code, e.g. `ERR_CERTIFICATE_EXPIRED`, `ERR_ADMISSION_TIMEOUT` */
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
  /** certificates of all admitted, connected peers */
  admitted(): VerifiedCertificate[]
  /**
   * Resolves with the peer's certificate once it is admitted.
   *
   * @throws AdmissionRefusedError if it is refused, or not admitted before `timeoutMs`
   */
  waitFor(peerId: PeerId, options?: { signal?: AbortSignal }): Promise<VerifiedCertificate>
  /** the latest refusals, newest last (at most 100) */
  refusals(): AdmissionRefusal[]
}

const MAX_REFUSALS_KEPT = 100

export class AdmissionService extends TypedEventEmitter<AdmissionEvents> implements Admission, Startable {
  readonly [Symbol.toStringTag] = '@fleetmesh/admission'
  readonly [serviceCapabilities]: string[] = ['@fleetmesh/admission']

  private readonly components: AdmissionComponents
  private readonly certificate: Uint8Array
  private readonly trusted: PublicKey[]
  private readonly timeoutMs: number
  private readonly backoffMs: number
  private readonly log: Logger
  private readonly certs = new PeerMap<VerifiedCertificate>()
  private readonly pending = new PeerMap<ReturnType<typeof setTimeout>>()
  private readonly expiryTimers = new PeerMap<ReturnType<typeof setTimeout>>()
  private readonly refusedUntil = new PeerMap<number>()
  private readonly recentRefusals: AdmissionRefusal[] = []
  private started = false

  constructor (components: AdmissionComponents, init: AdmissionInit) {
    super()
    this.components = components
    this.certificate = init.certificate
    this.trusted = init.trustedAuthorities
    this.timeoutMs = init.timeoutMs ?? ADMISSION_TIMEOUT_MS
    this.backoffMs = init.refusalBackoffMs ?? REFUSAL_BACKOFF_MS
    this.log = components.logger.forComponent('fleetmesh:admission')
    this.onConnectionOpen = this.onConnectionOpen.bind(this)
    this.onPeerDisconnect = this.onPeerDisconnect.bind(this)
    this.handleStream = this.handleStream.bind(this)
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(ADMISSION_PROTOCOL, this.handleStream, {
      maxInboundStreams: 4,
      maxOutboundStreams: 4,
      runOnLimitedConnection: true
    })
    this.components.events.addEventListener('connection:open', this.onConnectionOpen)
    this.components.events.addEventListener('peer:disconnect', this.onPeerDisconnect)
    this.started = true
  }

  /**
   * Connections opened while the node was starting (bootstrap dials at
   * once) may predate the `connection:open` listener: their certificates
   * were never sent, and the remote would refuse this node on its timeout.
   * Start the exchange on every connection already open.
   */
  afterStart (): void {
    // (sending a certificate twice is harmless: the remote admits idempotently)
    for (const connection of this.components.connectionManager.getConnections()) {
      if (connection.status === 'open') this.onConnectionOpen(new CustomEvent('connection:open', { detail: connection }))
    }
  }

  async stop (): Promise<void> {
    this.started = false
    this.components.events.removeEventListener('connection:open', this.onConnectionOpen)
    this.components.events.removeEventListener('peer:disconnect', this.onPeerDisconnect)
    await this.components.registrar.unhandle(ADMISSION_PROTOCOL)
    for (const t of this.pending.values()) clearTimeout(t)
    for (const t of this.expiryTimers.values()) clearTimeout(t)
    this.pending.clear()
    this.expiryTimers.clear()
    this.certs.clear()
  }

  get (peerId: PeerId): VerifiedCertificate | undefined {
    return this.certs.get(peerId)
  }

  isAdmitted (peerId: PeerId): boolean {
    return this.certs.has(peerId)
  }

  isRefused (peerId: PeerId): boolean {
    const until = this.refusedUntil.get(peerId)
    if (until == null) return false
    if (until < Date.now()) {
      this.refusedUntil.delete(peerId)
      return false
    }
    return true
  }

  admitted (): VerifiedCertificate[] {
    return [...this.certs.values()]
  }

  refusals (): AdmissionRefusal[] {
    return [...this.recentRefusals]
  }

  async waitFor (peerId: PeerId, options: { signal?: AbortSignal } = {}): Promise<VerifiedCertificate> {
    const known = this.certs.get(peerId)
    if (known != null) return known
    const { promise, resolve, reject } = Promise.withResolvers<VerifiedCertificate>()
    const cleanup = (): void => {
      clearTimeout(timer)
      this.removeEventListener('peer:admitted', onAdmitted)
      this.removeEventListener('peer:refused', onRefused)
      options.signal?.removeEventListener('abort', onAbort)
    }
    const onAdmitted = (evt: CustomEvent<VerifiedCertificate>): void => {
      if (evt.detail.peerId.equals(peerId)) { cleanup(); resolve(evt.detail) }
    }
    const onRefused = (evt: CustomEvent<AdmissionRefusal>): void => {
      if (evt.detail.peerId.equals(peerId)) { cleanup(); reject(refusedError(evt.detail)) }
    }
    const onAbort = (): void => { cleanup(); reject(refusedError({ peerId, code: 'ERR_ABORTED', message: 'wait for admission was aborted', at: Date.now() })) }
    const timer = setTimeout(() => {
      cleanup()
      reject(refusedError({ peerId, code: 'ERR_ADMISSION_TIMEOUT', message: `no valid certificate from ${peerId} within ${this.timeoutMs} ms`, at: Date.now() }))
    }, this.timeoutMs)
    this.addEventListener('peer:admitted', onAdmitted)
    this.addEventListener('peer:refused', onRefused)
    options.signal?.addEventListener('abort', onAbort)
    return promise
  }

  private onConnectionOpen (evt: CustomEvent<Connection>): void {
    const connection = evt.detail
    const peerId = connection.remotePeer
    if (this.isRefused(peerId)) {
      void connection.close().catch(() => {})
      return
    }
    if (!this.certs.has(peerId) && !this.pending.has(peerId)) {
      this.pending.set(peerId, setTimeout(() => {
        this.refuse(peerId, 'ERR_ADMISSION_TIMEOUT', `no valid certificate within ${this.timeoutMs} ms`)
      }, this.timeoutMs))
    }
    void this.sendCertificate(connection)
  }

  private onPeerDisconnect (evt: CustomEvent<PeerId>): void {
    const peerId = evt.detail
    const t = this.pending.get(peerId)
    if (t != null) clearTimeout(t)
    this.pending.delete(peerId)
    const e = this.expiryTimers.get(peerId)
    if (e != null) clearTimeout(e)
    this.expiryTimers.delete(peerId)
    this.certs.delete(peerId)
  }

  /** Opens an admission stream on `connection` and sends our certificate. */
  private async sendCertificate (connection: Connection, attempt = 0): Promise<void> {
    let stream: Stream | undefined
    try {
      stream = await connection.newStream(ADMISSION_PROTOCOL, {
        signal: AbortSignal.timeout(this.timeoutMs),
        runOnLimitedConnection: true
      })
      const pb = pbStream(stream, { maxDataLength: MAX_ADMISSION_MESSAGE_BYTES })
      await pb.write({ certificate: this.certificate as Uint8Array<ArrayBuffer> }, AdmissionHello, { signal: AbortSignal.timeout(this.timeoutMs) })
      const result = await pb.read(AdmissionResult, { signal: AbortSignal.timeout(this.timeoutMs) })
      await stream.close().catch(() => {})
      if (!result.accepted) {
        this.log.error('%p refused our certificate: %s', connection.remotePeer, result.code)
        this.safeDispatch('admission:rejected-by-peer', { peerId: connection.remotePeer, code: result.code })
      }
    } catch (err: any) {
      stream?.abort(err)
      if (connection.status !== 'open' || !this.started) return
      // a peer that does not speak the admission protocol cannot be admitted
      if (err?.name === 'UnsupportedProtocolError' || err?.name === 'ProtocolError') {
        if (attempt < NO_PROTOCOL_RETRIES) {
          // a fleetmesh node dialled while it starts registers the protocol a moment later
          setTimeout(() => { void this.sendCertificate(connection, attempt + 1) }, NO_PROTOCOL_RETRY_MS)
          return
        }
        this.refuse(connection.remotePeer, 'ERR_NO_ADMISSION_PROTOCOL', `peer does not speak ${ADMISSION_PROTOCOL}`)
      } else {
        this.log('sending certificate to %p failed - %e', connection.remotePeer, err)
      }
    }
  }

  /** Receives a peer's certificate, verifies it and answers. */
  private async handleStream (stream: Stream, connection: Connection): Promise<void> {
    const peerId = connection.remotePeer
    const pb = pbStream(stream, { maxDataLength: MAX_ADMISSION_MESSAGE_BYTES })
    let code = ''
    let message = ''
    let cert: VerifiedCertificate | undefined
    try {
      const hello = await pb.read(AdmissionHello, { signal: AbortSignal.timeout(this.timeoutMs) })
      cert = await verifyCertificate(hello.certificate, { trustedAuthorities: this.trusted, peerId })
    } catch (err: any) {
      code = typeof err?.code === 'string' && err.code.startsWith('ERR_') ? err.code : 'ERR_INVALID_CERTIFICATE'
      message = err?.message ?? String(err)
    }
    try {
      await pb.write({ accepted: cert != null, code }, AdmissionResult, { signal: AbortSignal.timeout(this.timeoutMs) })
      await stream.close({ signal: AbortSignal.timeout(this.timeoutMs) })
    } catch (err: any) {
      stream.abort(err)
    }
    if (cert == null) {
      this.refuse(peerId, code, message)
    } else {
      this.admit(cert)
    }
  }

  private admit (cert: VerifiedCertificate): void {
    const peerId = cert.peerId
    const t = this.pending.get(peerId)
    if (t != null) clearTimeout(t)
    this.pending.delete(peerId)
    const wasAdmitted = this.certs.has(peerId)
    this.certs.set(peerId, cert)
    const old = this.expiryTimers.get(peerId)
    if (old != null) clearTimeout(old)
    // setTimeout holds at most 2^31-1 ms (~24.8 days); later expiries are re-checked on the next connection
    const delay = cert.expiresAt - Date.now()
    if (delay < 2 ** 31 - 1) {
      const timer = setTimeout(() => { this.refuse(peerId, 'ERR_CERTIFICATE_EXPIRED', 'certificate expired while connected') }, Math.max(0, delay))
      timer.unref?.()
      this.expiryTimers.set(peerId, timer)
    }
    if (!wasAdmitted) {
      this.log('admitted %p as %s in %s', peerId, cert.role, cert.region)
      this.safeDispatch('peer:admitted', cert)
    }
  }

  private refuse (peerId: PeerId, code: string, message: string): void {
    const t = this.pending.get(peerId)
    if (t != null) clearTimeout(t)
    this.pending.delete(peerId)
    this.certs.delete(peerId)
    if (!this.started) return
    this.refusedUntil.set(peerId, Date.now() + (code === 'ERR_ADMISSION_TIMEOUT' ? Math.min(this.backoffMs, TIMEOUT_REFUSAL_BACKOFF_MS) : this.backoffMs))
    const refusal: AdmissionRefusal = { peerId, code, message, at: Date.now() }
    this.recentRefusals.push(refusal)
    if (this.recentRefusals.length > MAX_REFUSALS_KEPT) this.recentRefusals.shift()
    this.log.error('refused %p: %s %s', peerId, code, message)
    void this.components.connectionManager.closeConnections(peerId).catch(() => {})
    this.safeDispatch('peer:refused', refusal)
  }

  private safeDispatch (type: keyof AdmissionEvents, detail: any): void {
    try {
      this.safeDispatchEvent(type, { detail })
    } catch (err) {
      this.log.error('an admission event listener threw - %e', err)
    }
  }
}

/** Retries of a certificate send refused as an unsupported protocol before the peer is refused. */
const NO_PROTOCOL_RETRIES = 2

/** Delay between those retries, ms: a starting node registers its protocols within a few hundred ms (measured in the local testnet). */
const NO_PROTOCOL_RETRY_MS = 300

function refusedError (r: AdmissionRefusal): AdmissionRefusedError {
  return new AdmissionRefusedError(`peer ${r.peerId} was not admitted: ${r.code} ${r.message}`, r.code)
}
