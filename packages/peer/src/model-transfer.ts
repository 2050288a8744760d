import { createHash } from 'node:crypto'
import { open } from 'node:fs/promises'
import { MAX_MODEL_BYTES, MAX_MODEL_HEADER_BYTES, MODEL_PROTOCOL, MODEL_WRITE_BYTES, ModelHeader, ModelRequest } from '@fleetmesh/protocol'
import { cidDigest, ModelHashMismatchError, ModelTooLargeError, parseModelCid } from '@fleetmesh/runtime'
import { serviceCapabilities, serviceDependencies, TypedEventEmitter } from '@libp2p/interface'
import { DIAL_TIMEOUT_MS, MAX_RESTRICTED_MODELS, MODEL_EOF_TIMEOUT_MS, MODEL_FETCH_TIMEOUT_MS, MODEL_REQUEST_TIMEOUT_MS } from './constants.js'
import { ModelFetchAbortedError, ModelFetchError, ModelProtocolError } from './errors.js'
import { decodeWire, filePieces, lengthPrefixed, readPrefixed, sendAll } from './model-wire.js'
import type { Admission } from './admission.js'
import type { Capabilities } from './capabilities.js'
import type { ModelStore, StagedModel, StoredModel } from '@fleetmesh/runtime'
import type { FileHandle } from 'node:fs/promises'
import type { ComponentLogger, Logger, PeerId, Startable, Stream, Connection } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * Model transfer (`/fleetmesh/model/1.1.0`): a node that lacks a model
 * finds providers of its CID in the DHT (`model/<cid>` provider records),
 * sends a length-prefixed request and reads a length-prefixed header
 * followed by the model's raw bytes (the provider reads its file in
 * MODEL_WRITE_BYTES pieces, the next read while the current one is sent,
 * honouring back-pressure; nothing is re-encoded). The fetcher checks the
 * announced size against `maxModelBytes` before it buffers a byte, copies
 * each received buffer once into the model's buffer while hashing it,
 * cuts a provider that sends more than it announced, verifies the sha2-256
 * against the CID before storing, and then announces itself as a provider. A provider serves only
 * models in its store, only to admitted peers, up to `maxModelBytes`.
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
  /** called whenever bytes arrive */
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
   * @throws ModelFetchAbortedError if the node stops during the fetch (stop() waits until it has ended)
   */
  fetch(cid: string, options?: FetchModelOptions): Promise<StoredModel>
  /** Validates, stores and announces a model held locally. */
  add(bytes: Uint8Array): Promise<StoredModel>
  /**
   * Data residency: from now on this node serves `cid` only to peers whose
   * certificate names `jurisdiction` (others get ERR_JURISDICTION). At most
   * MAX_RESTRICTED_MODELS restrictions are kept (the oldest forgotten).
   */
  restrict(cid: string, jurisdiction: string): void
}

export interface ModelTransferInit {
  store: ModelStore
  /** largest model served or fetched, bytes @default MAX_MODEL_BYTES (256 MiB) */
  maxModelBytes?: number
  /** bytes of raw model data per stream write when serving (>= 64 KiB keeps noise frames full) @default MODEL_WRITE_BYTES (1 MiB) */
  writeBytes?: number
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
  private readonly writeBytes: number
  private readonly dialTimeoutMs: number
  private readonly log: Logger
  private readonly inFlight = new Map<string, Promise<StoredModel>>()
  /** model CID -> the jurisdiction a peer must be certified in to fetch it */
  private readonly restricted = new Map<string, string>()
  private started = false
  /** aborted by stop(): cuts every fetch in flight */
  private stopping = new AbortController()
  /** fetches and puts in flight, awaited by stop() so that nothing writes into the store after it */
  private readonly running = new Set<Promise<unknown>>()

  constructor (components: ModelTransferComponents, init: ModelTransferInit) {
    super()
    this.components = components
    this.store = init.store
    this.maxBytes = init.maxModelBytes ?? MAX_MODEL_BYTES
    this.writeBytes = init.writeBytes ?? MODEL_WRITE_BYTES
    this.dialTimeoutMs = init.dialTimeoutMs ?? DIAL_TIMEOUT_MS
    this.log = components.logger.forComponent('fleetmesh:model-transfer')
    this.handle = this.handle.bind(this)
  }

  isStarted (): boolean { return this.started }

  async start (): Promise<void> {
    this.stopping = new AbortController()
    await this.components.registrar.handle(MODEL_PROTOCOL, this.handle, { maxInboundStreams: 16, maxOutboundStreams: 16, runOnLimitedConnection: true })
    this.started = true
    // every stored model is announced (retried by the capabilities service until the DHT has a server)
    for (const m of this.store.list()) void this.components.capabilities.announce('model', m.cid).catch(() => {})
  }

  /** Stops serving, cuts the fetches in flight and waits until they and any put have left the store (no staged file is written after it). */
  async stop (): Promise<void> {
    this.started = false
    this.stopping.abort(new ModelFetchAbortedError('the node is stopping'))
    await this.components.registrar.unhandle(MODEL_PROTOCOL)
    await Promise.allSettled([...this.running])
  }

  /** Runs `work`, tracked until it settles: stop() waits for it. */
  private track<T> (work: Promise<T>): Promise<T> {
    this.running.add(work)
    void work.catch(() => {}).finally(() => this.running.delete(work))
    return work
  }

  async add (bytes: Uint8Array): Promise<StoredModel> {
    const entry = await this.track(this.store.put(bytes))
    void this.components.capabilities.announce('model', entry.cid).catch(() => {})
    return entry
  }

  async fetch (cid: string, options: FetchModelOptions = {}): Promise<StoredModel> {
    parseModelCid(cid)
    if (this.store.has(cid)) return this.store.info(cid)
    const pending = this.inFlight.get(cid)
    if (pending != null && options.from == null) return pending
    const p = this.track(this.fetchFromProviders(cid, options)).finally(() => this.inFlight.delete(cid))
    if (options.from == null) this.inFlight.set(cid, p)
    return p
  }

  private async fetchFromProviders (cid: string, options: FetchModelOptions): Promise<StoredModel> {
    const stopping = this.stopping.signal
    if (stopping.aborted) throw new ModelFetchAbortedError(`cannot fetch model ${cid}: the node is stopped`)
    const signal = AbortSignal.any([AbortSignal.timeout(options.timeoutMs ?? MODEL_FETCH_TIMEOUT_MS), stopping, ...(options.signal != null ? [options.signal] : [])])
    try {
      return await this.fetchFromAny(cid, options, signal)
    } catch (err) {
      if (stopping.aborted) throw new ModelFetchAbortedError(`the fetch of model ${cid} was cut: the node is stopping`)
      throw err
    }
  }

  private async fetchFromAny (cid: string, options: FetchModelOptions, signal: AbortSignal): Promise<StoredModel> {
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

  /** One fetch from one peer: request, header, raw bytes hashed as they arrive, hash check, store, announce. */
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
    let staged: StagedModel | undefined
    try {
      stream.send(lengthPrefixed(ModelRequest.encode({ cid })))
      void stream.close().catch(() => {})
      const source = stream[Symbol.asyncIterator]()
      const head = await readPrefixed(source, MAX_MODEL_HEADER_BYTES)
      if (head == null) throw new ModelFetchError(`${peer} closed the stream without answering`, [])
      const header = decodeWire(() => ModelHeader.decode(head.message), `${peer}'s model header`)
      if (header.status !== '') throw new ModelFetchError(`${peer} does not serve ${cid}: ${header.status}`, [{ peer: peer.toString(), code: header.status, message: '' }])
      const total = Number(header.size)
      // the limit is checked before any model byte is buffered
      if (total > this.maxBytes) throw new ModelTooLargeError(`${peer} offers ${cid} with ${total} bytes, over this node's limit of ${this.maxBytes}`)
      const hash = createHash('sha256')
      const buf = new Uint8Array(total)
      // the file is written as the bytes arrive, in MODEL_WRITE_BYTES runs: after the last byte only validation and a rename are left
      staged = this.store.stage(cid, total)
      let written = 0
      let received = 0
      /** copies one received buffer (or list) into the model, hashing it; returns the bytes received so far */
      const take = (chunk: Uint8Array | Uint8ArrayList): number => {
        if (received + chunk.byteLength > total) throw new ModelProtocolError(`${peer} sent more than the ${total} bytes its header announced for ${cid}: cut`)
        for (const part of chunk instanceof Uint8Array ? [chunk] : chunk) {
          buf.set(part, received)
          hash.update(part)
          received += part.byteLength
        }
        if (received - written >= MODEL_WRITE_BYTES || received === total) {
          staged?.write(buf.subarray(written, received))
          written = received
        }
        const progress = { cid, peer, received, total }
        options.onProgress?.(progress)
        this.safeDispatchEvent('model:progress', { detail: progress })
        return received
      }
      if (head.rest.byteLength > 0) received = take(head.rest)
      while (received < total) {
        const next = await source.next()
        if (next.done === true) break
        received = take(next.value)
      }
      if (received !== total) throw new ModelFetchError(`${peer} closed the stream after ${received} of ${total} bytes of ${cid}`, [])
      await this.endOfModel(source, peer, total, cid)
      if (!Buffer.from(cidDigest(cid)).equals(hash.digest())) {
        this.safeDispatchEvent('model:bad-provider', { detail: { cid, peer, code: 'ERR_MODEL_HASH_MISMATCH' } })
        throw new ModelHashMismatchError(`bytes from ${peer} do not hash to ${cid}: a chunk was corrupted or the provider sent another model; nothing was stored`)
      }
      // hashed piece by piece above: the store need not hash 64 MB again
      const entry = await staged.commit(buf, { hashed: true })
      staged = undefined
      this.log('fetched %s (%d bytes) from %p in %d ms', cid, total, peer, Date.now() - start)
      this.safeDispatchEvent('model:fetched', { detail: { cid, peer, bytes: total, ms: Date.now() - start } })
      void this.components.capabilities.announce('model', cid).catch(() => {})
      return entry
    } catch (err: any) {
      stream.abort(err)
      await staged?.abort()
      if (err?.code === 'ERR_MODEL_PROTOCOL') this.safeDispatchEvent('model:bad-provider', { detail: { cid, peer, code: err.code } })
      throw err
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  /**
   * After the announced bytes: the provider closes its side. A byte more is
   * a protocol breach (ModelProtocolError, the stream is cut by the caller);
   * a provider that stays open past MODEL_EOF_TIMEOUT_MS is closed on, the
   * model kept.
   */
  private async endOfModel (source: AsyncIterator<Uint8Array | Uint8ArrayList>, peer: PeerId, total: number, cid: string): Promise<void> {
    const next = source.next()
    next.catch(() => {})
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<'late'>(resolve => { timer = setTimeout(() => { resolve('late') }, MODEL_EOF_TIMEOUT_MS) })
    try {
      const end = await Promise.race([next, late])
      if (end === 'late') {
        this.log('%p did not close its side after %s; closing on it', peer, cid)
        void source.return?.()
      } else if (end.done !== true) {
        throw new ModelProtocolError(`${peer} sent more than the ${total} bytes its header announced for ${cid}: cut`)
      }
    } finally {
      clearTimeout(timer)
    }
  }

  /** Serves a model from the store: a length-prefixed header, then the file's raw bytes, read piece by piece while the previous piece is sent. */
  restrict (cid: string, jurisdiction: string): void {
    this.restricted.delete(cid)
    this.restricted.set(cid, jurisdiction)
    while (this.restricted.size > MAX_RESTRICTED_MODELS) this.restricted.delete(this.restricted.keys().next().value as string)
  }

  private async handle (stream: Stream, connection: Connection): Promise<void> {
    try {
      const source = stream[Symbol.asyncIterator]()
      // a stream that stays silent is not held: the request must come within MODEL_REQUEST_TIMEOUT_MS
      let timer: ReturnType<typeof setTimeout> | undefined
      const late = new Promise<never>((resolve, reject) => {
        timer = setTimeout(() => { reject(new ModelProtocolError(`no model request within ${MODEL_REQUEST_TIMEOUT_MS} ms`)) }, MODEL_REQUEST_TIMEOUT_MS)
      })
      const request = await Promise.race([readPrefixed(source, MAX_MODEL_HEADER_BYTES), late]).finally(() => { clearTimeout(timer) })
      if (request == null) { await stream.close(); return }
      // nothing more is read: whatever else the fetcher sends is dropped, not buffered
      void source.return?.()
      await stream.closeRead()
      const { cid } = decodeWire(() => ModelRequest.decode(request.message), `the model request of ${connection.remotePeer}`)
      let status = ''
      let file: FileHandle | undefined
      let size = 0
      try {
        parseModelCid(cid)
        if (!this.components.admission.isAdmitted(connection.remotePeer)) status = 'ERR_NOT_ADMITTED'
        else if (this.restricted.has(cid) && this.components.admission.get(connection.remotePeer)?.jurisdiction !== this.restricted.get(cid)) status = 'ERR_JURISDICTION'
        else if (!this.store.has(cid)) status = 'ERR_MODEL_NOT_FOUND'
        else {
          // an open file stays readable even if the store evicts the model meanwhile
          file = await open(this.store.path(cid), 'r')
          size = (await file.stat()).size
          if (size > this.maxBytes) status = 'ERR_MODEL_TOO_LARGE'
        }
      } catch (err: any) {
        status = err?.code === 'ENOENT' ? 'ERR_MODEL_NOT_FOUND' : err?.code ?? 'ERR_INVALID_CID'
      }
      try {
        this.log('serving %s to %p: %s', cid, connection.remotePeer, status === '' ? `${size} bytes` : status)
        const header = lengthPrefixed(ModelHeader.encode({ status, size: BigInt(status === '' ? size : 0) }))
        await sendAll(stream, header, status === '' && file != null ? filePieces(file, size, this.writeBytes) : [])
        await stream.close()
      } finally {
        await file?.close()
      }
    } catch (err: any) {
      this.log('serving a model to %p failed - %s', connection.remotePeer, err?.message ?? err)
      stream.abort(err)
    }
  }
}
