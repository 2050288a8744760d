import { MAX_REVOCATION_LIST_BYTES, REVOCATION_PROTOCOL, REVOCATIONS_TOPIC, verifyRevocationList } from '@fleetmesh/protocol'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { Key } from 'interface-datastore'
import { REVOCATION_PUSH_TIMEOUT_MS } from './constants.js'
import type { Admission } from './admission.js'
import type { VerifiedRevocationList } from '@fleetmesh/protocol'
import type { ComponentLogger, Connection, Logger, PeerId, PublicKey, Startable, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Datastore } from 'interface-datastore'

/**
 * Revocation lists in the mesh. A list signed by a trusted fleet authority
 * is applied by the admission service (revoked peers are refused and
 * disconnected at once), stored in the node's datastore under
 * `/fleetmesh/revocations/<authority>` (so a restarted node keeps it),
 * gossiped on `REVOCATIONS_TOPIC`, and pushed over `REVOCATION_PROTOCOL`
 * to every newly admitted peer, so a node that was away when a list was
 * gossiped learns it from the first member it meets.
 */

export interface RevocationInit {
  /** public keys of the fleet authorities whose lists this node applies */
  trustedAuthorities: PublicKey[]
  /** lists to apply at start (e.g. read from a file), each a signed list from `createRevocationList` */
  lists?: Uint8Array[]
}

/** The gossipsub surface the service uses. */
export interface RevocationPubSub {
  topicValidators: Map<string, (source: PeerId, msg: any) => TopicValidatorResult | Promise<TopicValidatorResult>>
  subscribe(topic: string): void
  unsubscribe(topic: string): void
  publish(topic: string, data: Uint8Array): Promise<unknown>
}

export interface RevocationComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  datastore: Datastore
  logger: ComponentLogger
  admission: Admission
  pubsub: RevocationPubSub
}

/** The public face of the revocation service. */
export interface Revocations {
  /**
   * Applies a signed revocation list here, stores it, gossips it and pushes
   * it to every admitted peer. Revoked peers are dropped by this node at once
   * and by the others as the list reaches them.
   *
   * @throws StaleRevocationListError if a list of the same authority with an equal or higher sequence is held
   * @throws UnknownAuthorityError, InvalidRevocationListError, InvalidSignatureError, MessageTooLargeError on a bad list
   */
  revoke(list: Uint8Array): Promise<VerifiedRevocationList>
  /** the lists held, one per authority */
  lists(): VerifiedRevocationList[]
}

const STORE_PREFIX = '/fleetmesh/revocations'

/** Most lists one push stream carries (one per trusted authority). */
const MAX_PUSHED_LISTS = 16

export class RevocationService implements Revocations, Startable {
  readonly [Symbol.toStringTag] = '@fleetmesh/revocation'
  readonly [serviceCapabilities]: string[] = ['@fleetmesh/revocation']
  readonly [serviceDependencies]: string[] = ['@fleetmesh/admission', '@libp2p/pubsub']

  private readonly components: RevocationComponents
  private readonly init: RevocationInit
  private readonly log: Logger
  private started = false

  constructor (components: RevocationComponents, init: RevocationInit) {
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('fleetmesh:revocation')
    this.onAdmitted = this.onAdmitted.bind(this)
    this.validate = this.validate.bind(this)
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    // stored lists first, then the given ones (a newer given list replaces a stored one)
    for await (const { key, value } of this.components.datastore.query({ prefix: STORE_PREFIX })) {
      await this.accept(value, 'store').catch(err => { this.log.error('stored revocation list %s ignored - %s', key.toString(), err?.message ?? err) })
    }
    for (const bytes of this.init.lists ?? []) {
      await this.accept(bytes, 'init').catch(err => {
        if (err?.code !== 'ERR_STALE_REVOCATION_LIST') throw err
      })
    }
    await this.components.registrar.handle(REVOCATION_PROTOCOL, (stream, connection) => { void this.onStream(stream, connection) }, {
      maxInboundStreams: 2,
      maxOutboundStreams: 2,
      runOnLimitedConnection: true
    })
    this.components.admission.addEventListener('peer:admitted', this.onAdmitted)
    this.started = true
  }

  /** Gossip starts once gossipsub has started. */
  afterStart (): void {
    this.components.pubsub.topicValidators.set(REVOCATIONS_TOPIC, this.validate)
    this.components.pubsub.subscribe(REVOCATIONS_TOPIC)
  }

  async stop (): Promise<void> {
    this.started = false
    this.components.admission.removeEventListener('peer:admitted', this.onAdmitted)
    this.components.pubsub.topicValidators.delete(REVOCATIONS_TOPIC)
    try { this.components.pubsub.unsubscribe(REVOCATIONS_TOPIC) } catch {}
    await this.components.registrar.unhandle(REVOCATION_PROTOCOL).catch(() => {})
  }

  lists (): VerifiedRevocationList[] {
    return this.components.admission.revocationLists()
  }

  async revoke (bytes: Uint8Array): Promise<VerifiedRevocationList> {
    const list = await this.accept(bytes, 'local')
    await this.components.pubsub.publish(REVOCATIONS_TOPIC, bytes).catch(err => { this.log('publishing revocation list failed - %s', err?.message ?? err) })
    await Promise.allSettled(this.components.admission.admitted().map(async c => this.push(c.peerId, [bytes])))
    return list
  }

  /** Verifies a list, applies it (throws if stale) and stores it. */
  private async accept (bytes: Uint8Array, from: string): Promise<VerifiedRevocationList> {
    const list = await verifyRevocationList(bytes, { trustedAuthorities: this.init.trustedAuthorities })
    const dropped = this.components.admission.addRevocationList(list)
    this.log('revocation list %d of %s from %s: %d entries, %d peers dropped', list.sequence, list.authority, from, list.entries.length, dropped.length)
    if (from !== 'store') await this.components.datastore.put(new Key(`${STORE_PREFIX}/${list.authority}`), bytes)
    return list
  }

  /** Gossip validator: the forwarder must be admitted; a new list is applied and forwarded, a stale one dropped without penalty. */
  private async validate (source: PeerId, msg: any): Promise<TopicValidatorResult> {
    const { admission } = this.components
    if (!admission.isAdmitted(source)) return admission.isRefused(source) ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore
    if (msg?.type !== 'signed' || !(msg.data instanceof Uint8Array)) return TopicValidatorResult.Reject
    try {
      await this.accept(msg.data, `gossip via ${source.toString()}`)
      return TopicValidatorResult.Accept
    } catch (err: any) {
      return err?.action === 'ignore' ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject
    }
  }

  private onAdmitted (evt: CustomEvent<{ peerId: PeerId }>): void {
    const lists = this.lists().map(l => l.bytes)
    if (lists.length === 0) return
    void this.push(evt.detail.peerId, lists).catch(err => { this.log('pushing revocation lists to %p failed - %s', evt.detail.peerId, err?.message ?? err) })
  }

  /** Sends lists to one peer: one length-prefixed frame per list. */
  private async push (peer: PeerId, lists: Uint8Array[]): Promise<void> {
    const signal = AbortSignal.timeout(REVOCATION_PUSH_TIMEOUT_MS)
    const stream = await this.components.connectionManager.openStream(peer, REVOCATION_PROTOCOL, { signal, runOnLimitedConnection: true })
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_REVOCATION_LIST_BYTES })
      for (const bytes of lists.slice(0, MAX_PUSHED_LISTS)) await lp.write(bytes, { signal })
      await stream.close({ signal })
    } catch (err: any) {
      stream.abort(err)
      throw err
    }
  }

  private async onStream (stream: Stream, connection: Connection): Promise<void> {
    if (!this.components.admission.isAdmitted(connection.remotePeer)) {
      stream.abort(new Error('not admitted'))
      return
    }
    const signal = AbortSignal.timeout(REVOCATION_PUSH_TIMEOUT_MS)
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_REVOCATION_LIST_BYTES })
      for (let i = 0; i < MAX_PUSHED_LISTS; i++) {
        let frame
        try {
          frame = await lp.read({ signal })
        } catch (err: any) {
          if (err?.name === 'UnexpectedEOFError') break
          throw err
        }
        await this.accept(frame.subarray(), `push from ${connection.remotePeer.toString()}`).catch(err => {
          if (err?.code !== 'ERR_STALE_REVOCATION_LIST') this.log('revocation list pushed by %p refused - %s', connection.remotePeer, err?.message ?? err)
        })
      }
      await stream.close({ signal }).catch(() => {})
    } catch (err: any) {
      this.log('revocation stream from %p failed - %s', connection.remotePeer, err?.message ?? err)
      stream.abort(err)
    }
  }
}
