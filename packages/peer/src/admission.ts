import { ADMISSION_PROTOCOL, AdmissionHello, AdmissionResult, DemandTimer, MAX_ADMISSION_MESSAGE_BYTES, RevocationSet, verifyCertificate } from '@fleetmesh/protocol'
import { serviceCapabilities, TypedEventEmitter } from '@libp2p/interface'
import { PeerMap } from '@libp2p/peer-collections'
import { pbStream } from '@libp2p/utils'
import { ADMISSION_STALL_REARMS, ADMISSION_TIMEOUT_MS, OUTBOUND_ADMISSION_TIMEOUT_MS, ADMISSION_WAIT_MS, ADMITTED_TAG, ADMITTED_TAG_VALUE, IDENTIFY_RETRIES, IDENTIFY_RETRY_MS, MAX_REFUSED_PEERS, NO_PROTOCOL_RETRIES, NO_PROTOCOL_RETRY_MS, MAX_UNADMITTED_CONNECTIONS, REFUSAL_BACKOFF_MS, REFUSAL_SWEEP_INTERVAL_MS, TIMEOUT_REFUSAL_BACKOFF_MS } from './constants.js'
import { AdmissionRefusedError } from './errors.js'
import { ProtocolGate } from './protocol-gate.js'
import type { VerifiedCertificate, VerifiedRevocationList } from '@fleetmesh/protocol'
import type { Admission, AdmissionComponents, AdmissionEvents, AdmissionInit, AdmissionRefusal } from './admission-types.js'
import type { Connection, Logger, PeerId, PublicKey, Startable, Stream } from '@libp2p/interface'

/**
 * The admission service ("walled garden"): on every new connection each side
 * opens a `/fleetmesh/admission/1.0.0` stream and sends its device
 * certificate (the dialling side at once, the accepting side once the
 * dialler's certificate verified); each side verifies the certificate it receives (trusted
 * authority, valid now within the clock skew, not revoked, no longer-lived
 * than the fleet allows, issued to the connection's remote PeerId) and
 * answers with an `AdmissionResult`.
 *
 * Admission comes before anything else: every other protocol's stream
 * handler is gated (`protocol-gate.ts`), and identify runs only after a
 * peer is admitted (the node starts identify with `runOnConnectionOpen:
 * false`), so libp2p tells gossipsub, Kad-DHT, relay and AutoNAT about a
 * peer (their topologies) only once it is a member.
 *
 * A refusal, and its back-off in the connection gater, follows only a
 * certificate that was received and failed verification, a peer that
 * answers that it speaks no admission protocol, or silence past
 * `timeoutMs` on a live connection. An aborted or duplicate connection (its
 * admission stream reads EOF or resets) is never a refusal. Refused peers
 * are forgotten after their back-off. Certificates are re-checked at expiry
 * and whenever a revocation list arrives.
 */

export type { Admission, AdmissionComponents, AdmissionEvents, AdmissionInit, AdmissionRefusal } from './admission-types.js'

const MAX_REFUSALS_KEPT = 100

/** Errors of a stream that ended or was aborted (a duplicate or closing connection): never a refusal. */
const STREAM_ENDED = new Set(['UnexpectedEOFError', 'StreamResetError', 'StreamAbortedError', 'StreamClosedError', 'StreamStateError', 'ConnectionClosedError', 'ConnectionClosingError', 'MuxerClosedError', 'AbortError', 'TimeoutError'])

export class AdmissionService extends TypedEventEmitter<AdmissionEvents> implements Admission, Startable {
  readonly [Symbol.toStringTag] = '@fleetmesh/admission'
  readonly [serviceCapabilities]: string[] = ['@fleetmesh/admission']

  private readonly components: AdmissionComponents
  private readonly certificate: Uint8Array
  private readonly trusted: PublicKey[]
  private readonly timeoutMs: number
  private readonly backoffMs: number
  private readonly maxValidityMs?: number
  private readonly maxUnadmitted: number
  private readonly log: Logger
  private readonly gate: ProtocolGate
  private readonly revocations = new RevocationSet()
  private readonly certs = new PeerMap<VerifiedCertificate>()
  private readonly pending = new PeerMap<ReturnType<typeof setTimeout>>()
  /** peers whose certificate arrived and is being verified: not silent */
  private readonly verifying = new PeerMap<true>()
  private readonly expiryTimers = new PeerMap<ReturnType<typeof setTimeout>>()
  /** refused PeerId string -> until (ms since the epoch), oldest refusal first */
  private readonly refusedUntil = new Map<string, { peerId: PeerId, until: number }>()
  private readonly recentRefusals: AdmissionRefusal[] = []
  /** connections this node sent its certificate on */
  private readonly sentOn = new WeakSet<Connection>()
  /** the refusal sweep: armed while refusals are held (an idle node without refusals keeps no timer) */
  private readonly sweepTimer = new DemandTimer(REFUSAL_SWEEP_INTERVAL_MS, () => { this.sweepRefusals() }, () => this.refusedUntil.size > 0)
  private started = false

  constructor (components: AdmissionComponents, init: AdmissionInit) {
    super()
    this.components = components
    this.certificate = init.certificate
    this.trusted = init.trustedAuthorities
    this.timeoutMs = init.timeoutMs ?? ADMISSION_TIMEOUT_MS
    this.backoffMs = init.refusalBackoffMs ?? REFUSAL_BACKOFF_MS
    this.maxValidityMs = init.maxCertificateValidityMs
    this.maxUnadmitted = init.maxUnadmittedConnections ?? MAX_UNADMITTED_CONNECTIONS
    this.log = components.logger.forComponent('fleetmesh:admission')
    // a stream waits as long as its peer's admission may rightly take: on a connection this node
    // dialled, the peer answers only once it verified our certificate (OUTBOUND_ADMISSION_TIMEOUT_MS),
    // and it opens its own streams as soon as it admitted us; a silent or refused peer ends the wait at once
    this.gate = new ProtocolGate(components, this, { open: [ADMISSION_PROTOCOL], waitMs: Math.max(this.timeoutMs * 2, OUTBOUND_ADMISSION_TIMEOUT_MS + this.timeoutMs), log: this.log })
    this.onConnectionOpen = this.onConnectionOpen.bind(this)
    this.onPeerDisconnect = this.onPeerDisconnect.bind(this)
    this.handleStream = this.handleStream.bind(this)
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    // before any await: handlers other services register while starting are gated as they appear
    this.gate.start()
    await this.components.registrar.handle(ADMISSION_PROTOCOL, this.handleStream, {
      maxInboundStreams: 4,
      maxOutboundStreams: 4,
      runOnLimitedConnection: true
    })
    this.components.events.addEventListener('connection:open', this.onConnectionOpen)
    this.components.events.addEventListener('peer:disconnect', this.onPeerDisconnect)
    this.sweepTimer.restart()
    this.started = true
  }

  /**
   * Connections opened while the node was starting (bootstrap dials at
   * once) may predate the `connection:open` listener: their certificates
   * were never sent, and the remote would refuse this node on its timeout.
   * Start the exchange on every connection already open.
   */
  async afterStart (): Promise<void> {
    await this.gate.settled()
    // (sending a certificate twice is harmless: the remote admits idempotently)
    for (const connection of this.components.connectionManager.getConnections()) {
      if (connection.status === 'open') this.onConnectionOpen(new CustomEvent('connection:open', { detail: connection }))
    }
  }

  async stop (): Promise<void> {
    this.started = false
    this.gate.stop()
    this.sweepTimer.stop()
    this.components.events.removeEventListener('connection:open', this.onConnectionOpen)
    this.components.events.removeEventListener('peer:disconnect', this.onPeerDisconnect)
    await this.components.registrar.unhandle(ADMISSION_PROTOCOL)
    for (const t of this.pending.values()) clearTimeout(t)
    for (const t of this.expiryTimers.values()) clearTimeout(t)
    this.pending.clear()
    this.verifying.clear()
    this.expiryTimers.clear()
    this.certs.clear()
  }

  /** True if the protocol's stream handler only serves admitted peers (see `protocol-gate.ts`). */
  isGated (protocol: string): boolean {
    return this.gate.isGated(protocol)
  }

  get (peerId: PeerId): VerifiedCertificate | undefined {
    return this.certs.get(peerId)
  }

  isAdmitted (peerId: PeerId): boolean {
    return this.certs.has(peerId)
  }

  isRefused (peerId: PeerId): boolean {
    const key = peerId.toString()
    const entry = this.refusedUntil.get(key)
    if (entry == null) return false
    if (entry.until < Date.now()) {
      this.refusedUntil.delete(key)
      return false
    }
    return true
  }

  isExcluded (peerId: PeerId): boolean {
    if (this.isRefused(peerId)) return true
    const cert = this.certs.get(peerId)
    if (cert != null) return this.revocations.revocationOf(cert) != null
    // not connected, certificate unknown: any PeerId entry excludes it
    return this.revocations.all().some(l => l.entries.some(e => e.peerId?.equals(peerId) === true))
  }

  admitted (): VerifiedCertificate[] {
    return [...this.certs.values()]
  }

  refusals (): AdmissionRefusal[] {
    return [...this.recentRefusals]
  }

  /** Number of refused peers remembered now (bounded by MAX_REFUSED_PEERS). */
  refusedCount (): number {
    return this.refusedUntil.size
  }

  revocationLists (): VerifiedRevocationList[] {
    return this.revocations.all()
  }

  addRevocationList (list: VerifiedRevocationList): PeerId[] {
    this.revocations.add(list)
    const dropped: PeerId[] = []
    for (const cert of [...this.certs.values()]) {
      const r = this.revocations.revocationOf(cert)
      if (r == null) continue
      dropped.push(cert.peerId)
      this.refuse(cert.peerId, 'ERR_CERTIFICATE_REVOKED', `certificate revoked by its authority${r.reason !== '' ? ` (${r.reason})` : ''}`)
    }
    this.log('revocation list %d of %s applied: %d peers dropped', list.sequence, list.authority, dropped.length)
    return dropped
  }

  async waitFor (peerId: PeerId, options: { signal?: AbortSignal } = {}): Promise<VerifiedCertificate> {
    const known = this.certs.get(peerId)
    if (known != null) return known
    const { promise, resolve, reject } = Promise.withResolvers<VerifiedCertificate>()
    const cleanup = (): void => {
      clearTimeout(timer)
      this.removeEventListener('peer:admitted', onAdmitted)
      this.removeEventListener('peer:refused', onRefused)
      this.removeEventListener('admission:rejected-by-peer', onRejected)
      options.signal?.removeEventListener('abort', onAbort)
    }
    const onAdmitted = (evt: CustomEvent<VerifiedCertificate>): void => {
      if (evt.detail.peerId.equals(peerId)) { cleanup(); resolve(evt.detail) }
    }
    const onRefused = (evt: CustomEvent<AdmissionRefusal>): void => {
      if (evt.detail.peerId.equals(peerId)) { cleanup(); reject(refusedError(evt.detail)) }
    }
    // the peer refused this node's certificate: it hangs up, so waiting is pointless
    const onRejected = (evt: CustomEvent<{ peerId: PeerId, code: string }>): void => {
      if (evt.detail.peerId.equals(peerId)) { cleanup(); reject(refusedError({ peerId, code: evt.detail.code, message: 'the peer refused this node\'s certificate', at: Date.now() })) }
    }
    const onAbort = (): void => { cleanup(); reject(refusedError({ peerId, code: 'ERR_ABORTED', message: 'wait for admission was aborted', at: Date.now() })) }
    const timer = setTimeout(() => {
      cleanup()
      reject(refusedError({ peerId, code: 'ERR_ADMISSION_TIMEOUT', message: `not admitted within ${ADMISSION_WAIT_MS} ms`, at: Date.now() }))
    }, ADMISSION_WAIT_MS)
    this.addEventListener('peer:admitted', onAdmitted)
    this.addEventListener('peer:refused', onRefused)
    this.addEventListener('admission:rejected-by-peer', onRejected)
    if (options.signal?.aborted === true) onAbort()
    else options.signal?.addEventListener('abort', onAbort)
    return promise
  }

  private onConnectionOpen (evt: CustomEvent<Connection>): void {
    const connection = evt.detail
    const peerId = connection.remotePeer
    if (this.isRefused(peerId)) {
      void connection.close().catch(() => {})
      return
    }
    if (this.certs.has(peerId)) {
      // a further connection of a member: identify it as libp2p would on open
      void this.identify(connection)
    } else {
      // a peer this node dialled answers once it verified our certificate, which a busy station does late
      if (!this.pending.has(peerId)) this.armSilence(peerId, 0, connection.direction === 'outbound' ? Math.max(this.timeoutMs, OUTBOUND_ADMISSION_TIMEOUT_MS) : this.timeoutMs)
      this.makeRoom(connection)
    }
    // the dialling side presents its certificate first; the accepting side
    // answers with its own only once the dialler's verified (admit), so a
    // peer that dials in and stays silent learns nothing, not even who we are
    if (connection.direction === 'outbound' || this.certs.has(peerId)) void this.sendCertificate(connection)
  }

  /** Starts (or restarts) the admission timeout of a peer's connection. */
  private armSilence (peerId: PeerId, stalls: number, ms: number): void {
    const due = Date.now() + ms
    this.pending.set(peerId, setTimeout(() => { this.onSilence(peerId, due, stalls, ms) }, ms))
  }

  /**
   * The admission timeout ran out: a peer still connected that sent no
   * certificate is refused; one that only lost its connection is not. A
   * timer that fires more than half a timeout late means this node's own
   * event loop was stalled: the peer's certificate may sit unread in the
   * socket (timers run before I/O), so the peer gets a fresh timeout, at
   * most ADMISSION_STALL_REARMS times.
   */
  private onSilence (peerId: PeerId, due: number, stalls: number, ms: number): void {
    this.pending.delete(peerId)
    if (this.certs.has(peerId) || this.verifying.has(peerId)) return
    if (Date.now() - due > ms / 2 && stalls < ADMISSION_STALL_REARMS) {
      this.log('admission timer of %p fired %d ms late: this node was stalled, waiting once more', peerId, Date.now() - due)
      this.armSilence(peerId, stalls + 1, ms)
      return
    }
    const live = this.components.connectionManager.getConnections(peerId).some(c => c.status === 'open')
    if (!live) return
    this.refuse(peerId, 'ERR_ADMISSION_TIMEOUT', `no valid certificate within ${ms} ms`)
  }

  /**
   * Keeps at most `maxUnadmitted` connections of peers not yet admitted:
   * beyond that, the oldest of those whose certificate has not arrived is
   * closed (not a refusal: the peer may come back).
   */
  private makeRoom (opened: Connection): void {
    const waiting = this.components.connectionManager.getConnections()
      .filter(c => c.status === 'open' && !this.certs.has(c.remotePeer))
    let excess = waiting.length - this.maxUnadmitted
    if (excess <= 0) return
    const silent = waiting
      .filter(c => !this.verifying.has(c.remotePeer))
      .sort((a, b) => a.timeline.open - b.timeline.open)
    for (const c of silent) {
      if (excess-- <= 0) break
      this.log('connection table: closing the connection of %p, not admitted (%d connections wait for admission)', c.remotePeer, waiting.length)
      c.abort(new Error('too many connections waiting for admission'))
    }
    if (opened.status !== 'open') this.log('closed the new connection of %p at once', opened.remotePeer)
  }

  private onPeerDisconnect (evt: CustomEvent<PeerId>): void {
    const peerId = evt.detail
    const t = this.pending.get(peerId)
    if (t != null) clearTimeout(t)
    this.pending.delete(peerId)
    this.verifying.delete(peerId)
    const e = this.expiryTimers.get(peerId)
    if (e != null) clearTimeout(e)
    this.expiryTimers.delete(peerId)
    this.certs.delete(peerId)
  }

  /** Opens an admission stream on `connection` and sends our certificate. */
  private async sendCertificate (connection: Connection, attempt = 0): Promise<void> {
    this.sentOn.add(connection)
    let stream: Stream | undefined
    try {
      stream = await connection.newStream(ADMISSION_PROTOCOL, {
        signal: AbortSignal.timeout(this.timeoutMs),
        runOnLimitedConnection: true
      })
      const pb = pbStream(stream, { maxDataLength: MAX_ADMISSION_MESSAGE_BYTES })
      await pb.write({ certificate: this.certificate as Uint8Array<ArrayBuffer> }, AdmissionHello, { signal: AbortSignal.timeout(this.timeoutMs) })
      // the verdict of a peer this node dialled may come late: it verifies first (OUTBOUND_ADMISSION_TIMEOUT_MS)
      const result = await pb.read(AdmissionResult, { signal: AbortSignal.timeout(connection.direction === 'outbound' ? Math.max(this.timeoutMs, OUTBOUND_ADMISSION_TIMEOUT_MS) : this.timeoutMs) })
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
      } else if ((err?.name === 'TimeoutError' || err?.name === 'AbortError') && attempt < ADMISSION_STALL_REARMS && !this.isRefused(connection.remotePeer)) {
        // this node's own timeout, most likely fired late by a stalled event loop: send again
        this.log('sending certificate to %p timed out, sending again - %e', connection.remotePeer, err)
        void this.sendCertificate(connection, attempt + 1)
      } else {
        this.log('sending certificate to %p failed - %e', connection.remotePeer, err)
      }
    }
  }

  /** Receives a peer's certificate, verifies it and answers. */
  private async handleStream (stream: Stream, connection: Connection): Promise<void> {
    const peerId = connection.remotePeer
    const pb = pbStream(stream, { maxDataLength: MAX_ADMISSION_MESSAGE_BYTES })
    let hello: AdmissionHello
    try {
      hello = await pb.read(AdmissionHello, { signal: AbortSignal.timeout(this.timeoutMs) })
    } catch (err: any) {
      stream.abort(err)
      if (STREAM_ENDED.has(err?.name)) {
        // EOF, reset or timeout: no certificate was received. A duplicate
        // dial that libp2p aborted ends here; silence on a live connection
        // is refused by the admission timer, not by this stream.
        this.log('admission stream of %p ended without a certificate - %s', peerId, err?.name)
        return
      }
      await this.refuseAfterAnswer(undefined, peerId, err?.name === 'InvalidDataLengthError' ? 'ERR_MESSAGE_TOO_LARGE' : 'ERR_INVALID_CERTIFICATE', `admission message does not decode: ${err?.message ?? err}`)
      return
    }
    this.verifying.set(peerId, true)
    let code = ''
    let message = ''
    let cert: VerifiedCertificate | undefined
    try {
      cert = await verifyCertificate(hello.certificate, { trustedAuthorities: this.trusted, peerId, maxValidityMs: this.maxValidityMs })
      this.revocations.assertNotRevoked(cert)
    } catch (err: any) {
      cert = undefined
      code = typeof err?.code === 'string' && err.code.startsWith('ERR_') ? err.code : 'ERR_INVALID_CERTIFICATE'
      message = err?.message ?? String(err)
    } finally {
      this.verifying.delete(peerId)
    }
    if (cert != null) {
      // admit before answering: the remote sends gated streams as soon as it reads the answer
      this.admit(cert, connection)
      await this.answer(pb, stream, true, '')
    } else {
      await this.refuseAfterAnswer(pb, peerId, code, message, stream)
    }
  }

  private async refuseAfterAnswer (pb: ReturnType<typeof pbStream> | undefined, peerId: PeerId, code: string, message: string, stream?: Stream): Promise<void> {
    if (pb != null && stream != null) await this.answer(pb, stream, false, code)
    this.refuse(peerId, code, message)
  }

  private async answer (pb: ReturnType<typeof pbStream>, stream: Stream, accepted: boolean, code: string): Promise<void> {
    try {
      await pb.write({ accepted, code }, AdmissionResult, { signal: AbortSignal.timeout(this.timeoutMs) })
      await stream.close({ signal: AbortSignal.timeout(this.timeoutMs) })
    } catch (err: any) {
      stream.abort(err)
    }
  }

  private admit (cert: VerifiedCertificate, connection: Connection): void {
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
      void this.components.peerStore.merge(peerId, { tags: { [ADMITTED_TAG]: { value: ADMITTED_TAG_VALUE } } }).catch(() => {})
      this.safeDispatch('peer:admitted', cert)
      // identify (and with it the topologies of gossipsub, Kad-DHT, relay) only now
      for (const c of this.components.connectionManager.getConnections(peerId)) {
        if (c.status !== 'open') continue
        if (!this.sentOn.has(c)) void this.sendCertificate(c)
        void this.identify(c)
      }
      if (connection.status !== 'open') this.log('%p admitted on a connection that closed meanwhile', peerId)
    }
  }

  /**
   * Identifies an admitted peer on `connection`. libp2p tells gossipsub's,
   * Kad-DHT's and the relay's topologies of a peer only on its identify, so
   * one that fails (a stream lost or timed out under load) is run again,
   * IDENTIFY_RETRIES times at most, while the connection and the admission last.
   */
  private async identify (connection: Connection, attempt = 0): Promise<void> {
    try {
      await this.components.identify?.identify(connection, { signal: AbortSignal.timeout(ADMISSION_WAIT_MS) })
    } catch (err: any) {
      this.log('identify of %p failed (attempt %d) - %s', connection.remotePeer, attempt + 1, err?.message ?? err)
      if (attempt >= IDENTIFY_RETRIES) return
      const again = setTimeout(() => {
        if (this.started && connection.status === 'open' && this.certs.has(connection.remotePeer)) void this.identify(connection, attempt + 1)
      }, IDENTIFY_RETRY_MS)
      again.unref?.()
    }
  }

  penalize (peerId: PeerId, code: string, message: string, backoffMs: number): void {
    this.refuse(peerId, code, message, backoffMs)
  }

  private refuse (peerId: PeerId, code: string, message: string, backoffMs?: number): void {
    const t = this.pending.get(peerId)
    if (t != null) clearTimeout(t)
    this.pending.delete(peerId)
    this.certs.delete(peerId)
    if (!this.started) return
    const key = peerId.toString()
    this.refusedUntil.delete(key)
    this.refusedUntil.set(key, { peerId, until: Date.now() + (backoffMs ?? (code === 'ERR_ADMISSION_TIMEOUT' ? Math.min(this.backoffMs, TIMEOUT_REFUSAL_BACKOFF_MS) : this.backoffMs)) })
    this.sweepTimer.arm()
    // bounded: the oldest refusal is forgotten first (Map keeps insertion order)
    while (this.refusedUntil.size > MAX_REFUSED_PEERS) {
      const oldest = this.refusedUntil.keys().next().value as string
      this.refusedUntil.delete(oldest)
    }
    const refusal: AdmissionRefusal = { peerId, code, message, at: Date.now() }
    this.recentRefusals.push(refusal)
    if (this.recentRefusals.length > MAX_REFUSALS_KEPT) this.recentRefusals.shift()
    this.log.error('refused %p: %s %s', peerId, code, message)
    void this.components.connectionManager.closeConnections(peerId).catch(() => {})
    this.safeDispatch('peer:refused', refusal)
  }

  /**
   * Forgets refusals past their back-off, and what the peer store learnt of
   * a refused peer that is gone and was never admitted (an outsider). A peer
   * admitted once keeps its entry: it may have provided DHT records here,
   * and Kad-DHT answers no GET_PROVIDERS of a key at all while one of the
   * key's providers is missing from the peer store (the answer leaves a
   * refused or revoked provider out by the DHT's peer info mapper instead).
   */
  private sweepRefusals (): void {
    const now = Date.now()
    for (const [key, { peerId, until }] of this.refusedUntil) {
      if (until >= now) continue
      this.refusedUntil.delete(key)
      if (this.components.connectionManager.getConnections(peerId).length > 0) continue
      void this.forgetOutsider(peerId)
    }
  }

  /** Deletes the peer store entry of a peer that was never admitted. */
  private async forgetOutsider (peerId: PeerId): Promise<void> {
    try {
      const peer = await this.components.peerStore.get(peerId)
      if (peer.tags.has(ADMITTED_TAG)) return
      await this.components.peerStore.delete(peerId)
    } catch {}
  }

  private safeDispatch (type: keyof AdmissionEvents, detail: any): void {
    try {
      this.safeDispatchEvent(type, { detail })
    } catch (err) {
      this.log.error('an admission event listener threw - %e', err)
    }
  }
}

function refusedError (r: AdmissionRefusal): AdmissionRefusedError {
  return new AdmissionRefusedError(`peer ${r.peerId} was not admitted: ${r.code} ${r.message}`, r.code)
}
