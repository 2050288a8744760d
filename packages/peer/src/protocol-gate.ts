import { NotAdmittedError } from './errors.js'
import type { Connection, Libp2pEvents, Logger, PeerId, Stream, StreamHandler, TypedEventTarget } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'

/**
 * Admission before anything else, for every protocol the node serves:
 * each stream handler registered with the registrar (gossipsub, Kad-DHT,
 * identify, ping, relay, AutoNAT, DCUtR and fleetmesh's own) is replaced by
 * a gated one that hands the stream on only once the remote peer is
 * admitted. A stream from a peer that is not admitted yet waits (unread,
 * nothing sent) until the peer is admitted, or is reset when the peer is
 * refused or the wait runs out.
 *
 * Why not stream middleware (`libp2p.use(protocol, middleware)`): in
 * libp2p 3.3, `Connection.onIncomingStream` appends the protocol's handler
 * to the registrar's own middleware array for every inbound stream, so with
 * any middleware registered each further inbound stream runs the handler
 * once more per earlier stream. Until that is fixed upstream the gate
 * re-registers each handler through the registrar's public `getHandler` /
 * `handle(..., { force: true })`, keeping the handler's own options.
 */

/** What the gate needs of the admission service. */
export interface GateAdmission {
  isAdmitted(peerId: PeerId): boolean
  waitFor(peerId: PeerId, options?: { signal?: AbortSignal }): Promise<unknown>
}

export interface ProtocolGateComponents {
  registrar: Registrar
  events: TypedEventTarget<Libp2pEvents>
}

export interface ProtocolGateInit {
  /** protocols served to every peer, admitted or not (the admission protocol itself) */
  open: string[]
  /** longest a stream waits for its peer's admission, ms */
  waitMs: number
  log: Logger
}

/** Gates every stream handler of a libp2p node on admission; see the module comment. */
export class ProtocolGate {
  private readonly gated = new WeakSet<StreamHandler>()
  private readonly components: ProtocolGateComponents
  private readonly admission: GateAdmission
  private readonly init: ProtocolGateInit
  private wrapping?: Promise<void>
  private again = false
  private running = false

  constructor (components: ProtocolGateComponents, admission: GateAdmission, init: ProtocolGateInit) {
    this.components = components
    this.admission = admission
    this.init = init
    this.onSelfUpdate = this.onSelfUpdate.bind(this)
  }

  /** Gates the handlers registered so far and every handler registered later (the registrar updates this node's own peer record then). */
  start (): void {
    this.running = true
    this.components.events.addEventListener('self:peer:update', this.onSelfUpdate)
    this.onSelfUpdate()
  }

  stop (): void {
    this.running = false
    this.components.events.removeEventListener('self:peer:update', this.onSelfUpdate)
  }

  /** Resolves once every handler registered so far is gated. */
  async settled (): Promise<void> {
    while (this.wrapping != null) await this.wrapping
  }

  /** True if the protocol's current handler is gated (or the protocol is open to all). */
  isGated (protocol: string): boolean {
    if (this.init.open.includes(protocol)) return true
    try {
      return this.gated.has(this.components.registrar.getHandler(protocol).handler)
    } catch {
      return false
    }
  }

  private onSelfUpdate (): void {
    if (!this.running) return
    if (this.wrapping != null) {
      this.again = true
      return
    }
    this.wrapping = this.wrapAll()
      .catch(err => { this.init.log.error('gating stream handlers failed - %e', err) })
      .finally(() => {
        this.wrapping = undefined
        if (this.again) {
          this.again = false
          this.onSelfUpdate()
        }
      })
  }

  private async wrapAll (): Promise<void> {
    const { registrar } = this.components
    for (const protocol of registrar.getProtocols()) {
      if (this.init.open.includes(protocol)) continue
      let record
      try {
        record = registrar.getHandler(protocol)
      } catch {
        continue
      }
      if (this.gated.has(record.handler)) continue
      const gate = this.wrap(protocol, record.handler)
      this.gated.add(gate)
      await registrar.handle(protocol, gate, { ...record.options, force: true })
    }
  }

  private wrap (protocol: string, handler: StreamHandler): StreamHandler {
    return (stream: Stream, connection: Connection) => {
      const peer = connection.remotePeer
      if (this.admission.isAdmitted(peer)) return handler(stream, connection)
      return this.admission.waitFor(peer, { signal: AbortSignal.timeout(this.init.waitMs) }).then(
        async () => {
          if (stream.status !== 'open') return
          await handler(stream, connection)
        },
        () => {
          this.init.log('%s stream from %p reset: the peer is not admitted', protocol, peer)
          stream.abort(new NotAdmittedError(`${protocol} is served only to admitted peers; ${peer} is not admitted`))
        }
      )
    }
  }
}
