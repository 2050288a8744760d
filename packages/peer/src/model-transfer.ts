import { createHash } from 'node:crypto'
import { MAX_MODEL_BYTES, MODEL_CHUNK_BYTES, MODEL_PROTOCOL, ModelChunk, ModelHeader, ModelRequest } from '@fleetmesh/protocol'
import { cidDigest, ModelHashMismatchError, ModelTooLargeError, parseModelCid } from '@fleetmesh/runtime'
import { serviceCapabilities, serviceDependencies, TypedEventEmitter } from '@libp2p/interface'
import { messageStreamToDuplex } from '@libp2p/utils'
import * as lp from 'it-length-prefixed'
import { pipe } from 'it-pipe'
import { DIAL_TIMEOUT_MS, MODEL_FETCH_TIMEOUT_MS } from './constants.js'
import { ModelFetchError } from './errors.js'
import type { Admission } from './admission.js'
import type { Capabilities } from './capabilities.js'
import type { ModelStore, StoredModel } from '@fleetmesh/runtime'
import type { ComponentLogger, Logger, PeerId, Startable, Stream, Connection } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * Model transfer (`/fleetmesh/model/1.0.0`): a node that lacks a model
 * finds providers of its CID in the DHT (`model/<cid>` provider records),
 * fetches it in chunks over a stream (it-pipe, length-prefixed frames),
 * verifies the sha2-256 hash against the CID before storing it, and then
 * announces itself as a provider. A provider serves only models in its
 * store, up to `maxModelBytes`.
 */

/** Progress of a fetch. */
export interface ModelProgress {
  cid: string
  /** the provider being read */
  peer: PeerId
  /** bytes received so far */
  received: number
  /** model size announced by the provider, bytes */
  total: number
}

export interface ModelTransferEvents {
  /** bytes arrived from a provider */
  'model:progress': CustomEvent<ModelProgress>
  /** a model was fetched, verified and stored */
  'model:fetched': CustomEvent<{ cid: string, peer: PeerId, bytes: number, ms: number }>
  /** a provider served bytes that do not hash to the CID (or broke the protocol) */
  'model:bad-provider': CustomEvent<{ cid: string, peer: PeerId, code: string }>
}

/** Options of {@link ModelTransfer.fetch}. */
export interface FetchModelOptions {
  /** fetch only from this peer (else: providers from the DHT, nearest first) */
  from?: PeerId
  /** called on every chunk */
  onProgress?: (progress: ModelProgress) => void
  /** time for the whole fetch, ms @default MODEL_FETCH_TIMEOUT_MS (120000) */
  timeoutMs?: number
  signal?: AbortSignal
}

export interface ModelTransfer extends TypedEventEmitter<ModelTransferEvents> {
  /** the node's model store */
  readonly store: ModelStore
  /**
   * Returns a stored model, fetching it from a provider first if needed.
   *
   * @throws InvalidCidError on a malformed CID
   * @throws ModelFetchError if no provider delivered it; its `attempts` say why for each
   * @throws ModelHashMismatchError (when `from` is given) if the provider sent other bytes
   */
  fetch(cid: string, options?: FetchModelOptions): Promise<StoredModel>
  /** Validates, stores and announces a model held locally. */
  add(bytes: Uint8Array): Promise<StoredModel>
}

export interface ModelTransferInit {
  store: ModelStore
  /** largest model served or fetched, bytes @default MAX_MODEL_BYTES (256 MiB) */
  maxModelBytes?: number
  /** bytes per chunk frame @default MODEL_CHUNK_BYTES (256 KiB) */
  chunkBytes?: number
  dialTimeoutMs?: number
}

export interface ModelTransferComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
  capabilities: Capabilities
  admission: Admission
}

export class ModelTransferService extends TypedEventEmitter<ModelTransferEvents> implements ModelTransfer, Startable {
  readonly [Symbol.toStringTag] = '@fleetmesh/model-transfer'
  readonly [serviceCapabilities]: string[] = ['@fleetmesh/model-transfer']
  readonly [serviceDependencies]: string[] = ['@fleetmesh/capabilities', '@fleetmesh/admission']
  readonly store: ModelStore
  private readonly components: ModelTransferComponents
  private readonly maxBytes: number
  private readonly chunkBytes: number
  private readonly dialTimeoutMs: number
  private readonly log: Logger
  private readonly inFlight = new Map<string, Promise<StoredModel>>()
  private started = false

  constructor (components: ModelTransferComponents, init: ModelTransferInit) {
    super()
    this.components = components
    this.store = init.store
    this.maxBytes = init.maxModelBytes ?? MAX_MODEL_BYTES
    this.chunkBytes = init.chunkBytes ?? MODEL_CHUNK_BYTES
    this.dialTimeoutMs = init.dialTimeoutMs ?? DIAL_TIMEOUT_MS
    this.log = components.logger.forComponent('fleetmesh:model-transfer')
    this.handle = this.handle.bind(this)
  }

  isStarted (): boolean { return this.started }

  async start (): Promise<void> {
    await this.components.registrar.handle(MODEL_PROTOCOL, this.handle, { maxInboundStreams: 16, maxOutboundStreams: 16, runOnLimitedConnection: true })
    this.started = true
    // every stored model is announced (retried by the capabilities service until the DHT has a server)
    for (const m of this.store.list()) void this.components.capabilities.announce('model', m.cid).catch(() => {})
  }

  async stop (): Promise<void> {
    this.started = false
    await this.components.registrar.unhandle(MODEL_PROTOCOL)
  }

  async add (bytes: Uint8Array): Promise<StoredModel> {
    const entry = await this.store.put(bytes)
    void this.components.capabilities.announce('model', entry.cid).catch(() => {})
    return entry
  }

  async fetch (cid: string, options: FetchModelOptions = {}): Promise<StoredModel> {
    parseModelCid(cid)
    if (this.store.has(cid)) return this.store.info(cid)
    const pending = this.inFlight.get(cid)
    if (pending != null && options.from == null) return pending
    const p = this.fetchFromProviders(cid, options).finally(() => this.inFlight.delete(cid))
    if (options.from == null) this.inFlight.set(cid, p)
    return p
  }

  private async fetchFromProviders (cid: string, options: FetchModelOptions): Promise<StoredModel> {
    const signal = AbortSignal.any([AbortSignal.timeout(options.timeoutMs ?? MODEL_FETCH_TIMEOUT_MS), ...(options.signal != null ? [options.signal] : [])])
    if (options.from != null) return this.fetchFrom(options.from, cid, options, signal)
    const providers = await this.components.capabilities.findPeers({ model: cid, limit: 8, timeoutMs: Math.min(10_000, options.timeoutMs ?? MODEL_FETCH_TIMEOUT_MS) })
    const attempts: Array<{ peer: string, code: string, message: string }> = []
    for (const provider of providers) {
      try {
        return await this.fetchFrom(provider.peerId, cid, options, signal)
      } catch (err: any) {
        attempts.push({ peer: provider.peerId.toString(), code: err?.code ?? 'ERR_UNKNOWN', message: err?.message ?? String(err) })
        if (signal.aborted) break
      }
    }
    throw new ModelFetchError(`could not fetch model ${cid}: ${providers.length === 0 ? 'no provider found in the DHT' : attempts.map(a => `${a.peer}: ${a.code}`).join('; ')}`, attempts)
  }

  /** One fetch from one peer: request, header, chunks, hash check, store, announce. */
  private async fetchFrom (peer: PeerId, cid: string, options: FetchModelOptions, signal: AbortSignal): Promise<StoredModel> {
    const start = Date.now()
    // only admitted fleet members are asked for models
    const admitted = this.components.admission.waitFor(peer, { signal })
    admitted.catch(() => {})
    await this.components.connectionManager.openConnection(peer, { signal: AbortSignal.any([signal, AbortSignal.timeout(this.dialTimeoutMs)]) })
    await admitted
    const stream = await this.components.connectionManager.openStream(peer, MODEL_PROTOCOL, { signal: AbortSignal.any([signal, AbortSignal.timeout(this.dialTimeoutMs)]), runOnLimitedConnection: true })
    const onAbort = (): void => { stream.abort(new Error('model fetch aborted')) }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      const duplex = messageStreamToDuplex(stream)
      void pipe([ModelRequest.encode({ cid })], (source) => lp.encode(source), duplex.sink).catch(() => {})
      const frames = lp.decode(duplex.source, { maxDataLength: this.chunkBytes + 64 })[Symbol.asyncIterator]()
      const first = await frames.next()
      if (first.done === true) throw new ModelFetchError(`${peer} closed the stream without answering`, [])
      const header = ModelHeader.decode(first.value)
      if (header.status !== '') throw new ModelFetchError(`${peer} does not serve ${cid}: ${header.status}`, [{ peer: peer.toString(), code: header.status, message: '' }])
      const total = Number(header.size)
      if (total > this.maxBytes) throw new ModelTooLargeError(`${peer} offers ${cid} with ${total} bytes, over this node's limit of ${this.maxBytes}`)
      const hash = createHash('sha256')
      const buf = new Uint8Array(total)
      let received = 0
      while (received < total) {
        const next = await frames.next()
        if (next.done === true) break
        const chunk = ModelChunk.decode(next.value as Uint8ArrayList).data
        if (received + chunk.byteLength > total) throw new ModelHashMismatchError(`${peer} sent more than the ${total} bytes it announced for ${cid}`)
        buf.set(chunk, received)
        hash.update(chunk)
        received += chunk.byteLength
        const progress = { cid, peer, received, total }
        options.onProgress?.(progress)
        this.safeDispatchEvent('model:progress', { detail: progress })
      }
      if (received !== total) throw new ModelFetchError(`${peer} closed the stream after ${received} of ${total} bytes of ${cid}`, [])
      if (!Buffer.from(cidDigest(cid)).equals(hash.digest())) {
        this.safeDispatchEvent('model:bad-provider', { detail: { cid, peer, code: 'ERR_MODEL_HASH_MISMATCH' } })
        throw new ModelHashMismatchError(`bytes from ${peer} do not hash to ${cid}: a chunk was corrupted or the provider sent another model; nothing was stored`)
      }
      await stream.close().catch(() => {})
      const entry = await this.store.put(buf, cid)
      this.log('fetched %s (%d bytes) from %p in %d ms', cid, total, peer, Date.now() - start)
      this.safeDispatchEvent('model:fetched', { detail: { cid, peer, bytes: total, ms: Date.now() - start } })
      void this.components.capabilities.announce('model', cid).catch(() => {})
      return entry
    } catch (err: any) {
      stream.abort(err)
      throw err
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  /** Serves a model from the store: header, then chunks. */
  private async handle (stream: Stream, connection: Connection): Promise<void> {
    const duplex = messageStreamToDuplex(stream)
    try {
      const frames = lp.decode(duplex.source, { maxDataLength: 1024 })[Symbol.asyncIterator]()
      const first = await frames.next()
      if (first.done === true) { await stream.close(); return }
      const { cid } = ModelRequest.decode(first.value)
      let status = ''
      let bytes: Uint8Array | undefined
      try {
        parseModelCid(cid)
        if (!this.components.admission.isAdmitted(connection.remotePeer)) status = 'ERR_NOT_ADMITTED'
        else if (!this.store.has(cid)) status = 'ERR_MODEL_NOT_FOUND'
        else {
          bytes = await this.store.get(cid)
          if (bytes.byteLength > this.maxBytes) { status = 'ERR_MODEL_TOO_LARGE'; bytes = undefined }
        }
      } catch (err: any) {
        status = err?.code ?? 'ERR_INVALID_CID'
      }
      const chunkBytes = this.chunkBytes
      this.log('serving %s to %p: %s', cid, connection.remotePeer, status === '' ? `${bytes?.byteLength} bytes` : status)
      await pipe(
        (function * () {
          yield ModelHeader.encode({ status, size: BigInt(bytes?.byteLength ?? 0) })
          if (bytes == null) return
          for (let at = 0; at < bytes.byteLength; at += chunkBytes) {
            yield ModelChunk.encode({ data: bytes.subarray(at, at + chunkBytes) as Uint8Array<ArrayBuffer> })
          }
        })(),
        (source) => lp.encode(source),
        duplex.sink
      )
    } catch (err: any) {
      this.log('serving a model to %p failed - %s', connection.remotePeer, err?.message ?? err)
      stream.abort(err)
    }
  }
}
