import { randomUUID } from 'node:crypto'
import { decodeReceipt, encodeReceipt, inputDigest, isSampled, outputDigest, SAMPLE_RATE, settleJob, tensorsClose } from '@fleetmesh/ledger'
import { decodeTensors, encodeTensors, FleetmeshError, INFER_PROTOCOL, MAX_TENSOR_BYTES, MessageTooLargeError, DTYPE_BYTES, typedArrayFor, elementCount } from '@fleetmesh/protocol'
import { createRuntime, partitionModel, planStages } from '@fleetmesh/runtime'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import { serviceCapabilities, serviceDependencies, TypedEventEmitter } from '@libp2p/interface'
import { pushable } from 'it-pushable'
import * as Digest from 'multiformats/hashes/digest'
import { InferChannel, LocalInferChannel, emptyCounters } from './infer-channel.js'
import { InferenceError, JobInputError } from './errors.js'
import type { FrameSink, FrameSource, InferCounters } from './infer-channel.js'
import type { Admission } from './admission.js'
import type { Capabilities } from './capabilities.js'
import type { ModelTransfer } from './model-transfer.js'
import type { Market, LeaseEvent, WorkerLease, JobResult } from '@fleetmesh/market'
import type { Ledger, RejectedShard, SettleResult } from '@fleetmesh/ledger'
import type { InferMessage, InferOpen, WireTensor } from '@fleetmesh/protocol'
import type { Runtime, Stage, TensorInfo } from '@fleetmesh/runtime'
import type { ComponentLogger, Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Pushable } from 'it-pushable'

/**
 * Sharded inference: the job API (`submit`) and the execution protocol
 * (`/fleetmesh/infer/1.0.0`). The market places shards on workers; this
 * service moves tensors.
 *
 * Data-parallel: the batch is cut into micro-batches (respecting a model's
 * fixed batch size) that each leased worker pulls as it finishes the last
 * (at most `DATA_IN_FLIGHT` outstanding per worker), so the split follows
 * each worker's measured throughput; results are put back in input order.
 * A lost worker's outstanding micro-batches go back to the queue and the
 * market re-awards its lease.
 *
 * Pipeline-parallel: the model is cut into stages (`partitionModel`), the
 * leased workers are mapped to stages with `planStages` (speed from their
 * bids, RTT), and micro-batches flow requester → stage 0 → … → last stage →
 * requester, activations passing worker to worker directly. When a stage
 * worker is lost, the pipeline is rebuilt with its replacement and every
 * micro-batch without a result is sent again.
 */

/** Micro-batches outstanding per data-parallel worker. */
export const DATA_IN_FLIGHT = 2

/**
 * A data-parallel micro-batch outstanding this long is also sent to an idle
 * worker once the queue is empty (backup tasks, as in MapReduce): the first
 * result wins. Bounds a job's tail when a worker stalls without failing, ms.
 */
export const STRAGGLER_MS = 2000

/** Peers of a job's region a requester in another region connects to before offering, so the offer's gossip reaches the region. */
export const REACH_REGION_PEERS = 3

/** How long a requester looks for and connects to peers of another region before offering, ms. */
export const REACH_REGION_TIMEOUT_MS = 5000

/** What a submitted job asks for. */
export interface SubmitInit {
  /** the model: its bytes (stored and announced by this node) or the CID of a model a provider has */
  model: Uint8Array | string
  /** named input tensors; dimension 0 is the batch */
  inputs: WireTensor[]
  /** @default 'data' */
  mode?: 'data' | 'pipeline'
  /** data-parallel: worker leases @default 2 */
  shards?: number
  /** pipeline: stages @default 2 */
  stages?: number
  /** items per micro-batch @default data: ceil(batch / (4 × shards)); pipeline: ceil(batch / (2 × stages)); a fixed model batch size overrides */
  microBatch?: number
  /** most credits per compute unit */
  maxPrice: number
  /** ms since the epoch @default now + 5 min */
  deadline?: number
  /** @default 1 */
  redundancy?: number
  /** region whose workers may bid @default this node's */
  region?: string
  /** bid window, ms @default the market's */
  bidWindowMs?: number
  signal?: AbortSignal
}

/** Progress of a job, in order. */
export type JobProgress =
  | { type: 'offered', jobId: string, at: number }
  | { type: 'bid', jobId: string, bidder: string, pricePerUnit?: number, at: number }
  | { type: 'awarded', jobId: string, worker: string, leaseId: string, shard: number, at: number }
  | { type: 'lease-lost', jobId: string, worker: string, leaseId: string, reason?: string, at: number }
  | { type: 're-awarded', jobId: string, at: number }
  | { type: 'model-transferred', jobId: string, cid: string, at: number }
  | { type: 'shard-started', jobId: string, worker: string, seq: number, items: number, at: number }
  | { type: 'shard-finished', jobId: string, worker: string, seq: number, computeMs: number, at: number }
  | { type: 'verified', jobId: string, seq: number, workers: string[], agreed: boolean, at: number }
  | { type: 'worker-rejected', jobId: string, worker: string, seq: number, reason: string, at: number }
  | { type: 'done', jobId: string, at: number }
  | { type: 'failed', jobId: string, error: string, at: number }

/** A running job. */
export interface JobHandle extends AsyncIterable<JobProgress> {
  jobId: string
  /** output tensors in input order (batch reassembled) */
  result: Promise<WireTensor[]>
  /** the market's record of the job (leases, re-awards), once done */
  market: Promise<JobResult>
  /**
   * The job's settlement in the ledger, once `result` resolved: worker
   * receipts checked and countersigned (durable, then gossiped), the
   * receipts of workers caught by a spot check rejected and the mismatch
   * evidence against them. Rejects if the job failed.
   */
  settlement: Promise<SettleResult>
  cancel(reason?: string): void
}

export interface InferenceInit {
  /** runner processes @default 1 */
  runners?: number
  /** onnxruntime threads per runner @default 1 */
  intraOpNumThreads?: number
  /** largest job input (all tensors) this node accepts as requester or worker, bytes @default MAX_TENSOR_BYTES */
  maxInputBytes?: number
  /** time one micro-batch may run on a runner, ms @default 60000 */
  runTimeoutMs?: number
  /**
   * Share of data-parallel micro-batches the requester also runs on a
   * second worker to compare outputs (a third decides a disagreement; the
   * minority worker's lease receipt is not countersigned and mismatch
   * evidence is gossiped). Which micro-batches is decided by the ledger's
   * secret sampling seed, so a worker cannot tell.
   *
   * @default SAMPLE_RATE of @fleetmesh/ledger (0.05)
   */
  verifyRate?: number
  /**
   * Fault injection for tests and drills: alters a worker's outputs before
   * they are sent. Never set it on a production node.
   */
  tamperOutputs?: (outputs: WireTensor[]) => WireTensor[]
}

export interface InferenceComponents {
  peerId: PeerId
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
  market: Market
  models: ModelTransfer
  admission: Admission
  capabilities: Capabilities
  ledger?: Ledger
}

interface WorkerSession {
  lease?: WorkerLease
  open?: InferOpen
  requester?: PeerId
  finished: PromiseWithResolvers<void>
  ready?: Promise<void>
  control?: InferChannel
  next?: FrameSink
  items: number
  computeMs: number
  configured: PromiseWithResolvers<void>
  /** ms since the epoch: when the lease handler started */
  startedAt: number
  /** input and output digests of each micro-batch served, by seq */
  digests: Map<number, { input: Uint8Array, output: Uint8Array }>
}

/** Splits every input along dimension 0 into [start, end) rows. */
function sliceBatch (inputs: WireTensor[], start: number, end: number): WireTensor[] {
  return inputs.map(t => {
    const row = elementCount(t.dims.slice(1))
    const Ctor = typedArrayFor(t.dtype)
    const bytes = DTYPE_BYTES[t.dtype]
    const data = new Ctor(t.data.buffer, t.data.byteOffset + start * row * bytes, (end - start) * row)
    return { name: t.name, dtype: t.dtype, dims: [end - start, ...t.dims.slice(1)], data }
  })
}

/** Concatenates micro-batch outputs (same names, dtypes) along dimension 0. */
function concatBatches (parts: WireTensor[][]): WireTensor[] {
  const first = parts[0] ?? []
  return first.map((t, i) => {
    const all = parts.map(p => p[i] as WireTensor)
    const rows = all.reduce((a, p) => a + (p.dims[0] ?? 0), 0)
    const n = all.reduce((a, p) => a + p.data.length, 0)
    const Ctor = typedArrayFor(t.dtype)
    const data = new Ctor(new ArrayBuffer(n * DTYPE_BYTES[t.dtype]), 0, n)
    let at = 0
    for (const p of all) { (data as any).set(p.data, at); at += p.data.length }
    return { name: t.name, dtype: t.dtype, dims: [rows, ...t.dims.slice(1)], data }
  })
}

/** Checks job inputs against the model's declared inputs. @throws JobInputError */
export function checkInputs (inputs: WireTensor[], declared: TensorInfo[], maxBytes: number): number {
  if (inputs.length === 0) throw new JobInputError('a job needs at least one input tensor')
  let total = 0
  let batch: number | undefined
  for (const t of inputs) {
    const d = declared.find(x => x.name === t.name)
    if (d == null) throw new JobInputError(`input "${t.name}" is not an input of the model (it takes ${declared.map(x => x.name).join(', ')})`)
    if (d.dtype !== t.dtype) throw new JobInputError(`input "${t.name}" is ${t.dtype}, the model wants ${d.dtype}`)
    if (d.shape.length !== t.dims.length) throw new JobInputError(`input "${t.name}" has rank ${t.dims.length} [${t.dims.join(', ')}], the model wants rank ${d.shape.length} [${d.shape.join(', ')}]`)
    d.shape.forEach((s, i) => {
      if (i > 0 && typeof s === 'number' && s !== t.dims[i]) throw new JobInputError(`input "${t.name}" dimension ${i} is ${t.dims[i]}, the model wants ${s}`)
    })
    total += t.data.byteLength
    if (batch != null && t.dims[0] !== batch) throw new JobInputError('all inputs must have the same batch size (dimension 0)')
    batch = t.dims[0]
  }
  for (const d of declared) {
    if (!inputs.some(t => t.name === d.name)) throw new JobInputError(`the model's input "${d.name}" is missing`)
  }
  if (total > maxBytes) throw new MessageTooLargeError('job inputs', total, maxBytes)
  if (batch == null || batch < 1) throw new JobInputError('the batch (dimension 0) is empty')
  return batch
}

export class InferenceService extends TypedEventEmitter<{ progress: CustomEvent<JobProgress> }> implements Startable {
  readonly [Symbol.toStringTag] = '@fleetmesh/inference'
  readonly [serviceCapabilities]: string[] = ['@fleetmesh/inference']
  readonly [serviceDependencies]: string[] = ['@fleetmesh/model-transfer', '@fleetmesh/admission']
  /** bytes this node moved on infer streams */
  readonly counters: InferCounters = emptyCounters()
  private readonly components: InferenceComponents
  private readonly init: InferenceInit
  readonly log: Logger
  private readonly sessions = new Map<string, WorkerSession>()
  private runtime?: Runtime
  private starting?: Promise<Runtime>

  constructor (components: InferenceComponents, init: InferenceInit = {}) {
    super()
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('fleetmesh:inference')
    this.handle = this.handle.bind(this)
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(INFER_PROTOCOL, this.handle, { maxInboundStreams: 64, maxOutboundStreams: 64, runOnLimitedConnection: true })
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(INFER_PROTOCOL)
    for (const s of this.sessions.values()) s.finished.resolve()
    this.sessions.clear()
    await this.runtime?.stop()
    this.runtime = undefined
  }

  /** The runner pool, started on first use. */
  private async getRuntime (): Promise<Runtime> {
    if (this.runtime != null) return this.runtime
    this.starting ??= createRuntime({ store: this.components.models.store, runners: this.init.runners ?? 1, intraOpNumThreads: this.init.intraOpNumThreads ?? 1, timeoutMs: this.init.runTimeoutMs })
    this.runtime = await this.starting
    return this.runtime
  }

  private session (leaseId: string): WorkerSession {
    let s = this.sessions.get(leaseId)
    if (s == null) {
      s = { finished: Promise.withResolvers(), configured: Promise.withResolvers(), items: 0, computeMs: 0, startedAt: Date.now(), digests: new Map() }
      s.finished.promise.catch(() => {})
      s.configured.promise.catch(() => {})
      this.sessions.set(leaseId, s)
    }
    return s
  }

  // ---------------------------------------------------------------- worker

  /**
   * The market's lease handler: holds the lease until the requester sends
   * `finish` (or the lease ends), then returns a receipt it signed for the
   * lease (`Ledger.shardReturn`): input digest = sha2-256 over each served
   * micro-batch's (seq, input digest) in seq order, output digest likewise
   * over the quantised output digests. The output bytes are a JSON summary
   * `{ items, computeMs, microBatches }`.
   */
  async onLease (lease: WorkerLease, signal: AbortSignal): Promise<Uint8Array> {
    const s = this.session(lease.leaseId)
    s.lease = lease
    const onAbort = (): void => { s.finished.reject(new InferenceError(`lease ${lease.leaseId} ended: ${String(signal.reason?.message ?? signal.reason ?? 'aborted')}`)) }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      await s.finished.promise
      const summary = new TextEncoder().encode(JSON.stringify({ items: s.items, computeMs: Math.round(s.computeMs), microBatches: s.digests.size }))
      const ledger = this.components.ledger
      if (ledger == null) return summary
      const seqs = [...s.digests.keys()].sort((a, b) => a - b)
      const seqBytes = (seq: number): Uint8Array => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, seq); return b }
      return await ledger.shardReturn({
        lease,
        inputDigest: inputDigest(...seqs.flatMap(q => [seqBytes(q), (s.digests.get(q) as { input: Uint8Array }).input])),
        outputDigest: inputDigest(...seqs.flatMap(q => [seqBytes(q), (s.digests.get(q) as { output: Uint8Array }).output])),
        output: summary,
        startedAt: s.startedAt,
        computeMs: Math.round(s.computeMs)
      })
    } finally {
      signal.removeEventListener('abort', onAbort)
      s.control?.abort(new Error('lease over'))
      s.next?.abort(new Error('lease over'))
      this.sessions.delete(lease.leaseId)
    }
  }

  /** Waits (bounded) until the market has registered this lease at this worker. */
  private async leaseFor (leaseId: string): Promise<WorkerLease> {
    for (let i = 0; i < 100; i++) {
      const held = this.components.market.heldLeases().find(l => l.leaseId === leaseId)
      if (held != null) return held
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    throw new InferenceError(`no live lease ${leaseId} at this worker`)
  }

  private async handle (stream: Stream, connection: Connection): Promise<void> {
    const remote = connection.remotePeer
    if (!this.components.admission.isAdmitted(remote)) {
      stream.abort(new Error('not admitted'))
      return
    }
    const first = new InferChannel(stream, this.counters, 'input', (this.init.maxInputBytes ?? MAX_TENSOR_BYTES) + 4096)
    let open: InferOpen | undefined
    try {
      open = (await first.next())?.open
      if (open == null) throw new InferenceError('the first frame must be open')
      if (open.kind === 'feed') {
        await this.serveFeed(open, first, remote)
      } else {
        await this.serveControl(open, first, remote)
      }
    } catch (err: any) {
      this.log('infer stream from %p failed - %s', remote, err?.message ?? err)
      try {
        first.send({ error: { code: err?.code ?? 'ERR_INFERENCE', message: String(err?.message ?? err) } })
        await first.close()
      } catch {
        first.abort(err)
      }
    }
  }

  /** A requester's control stream: configure the session, then serve data (stage 0 / data-parallel). */
  private async serveControl (open: InferOpen, channel: InferChannel, remote: PeerId): Promise<void> {
    this.log('open %s for lease %s from %p', open.kind, open.leaseId, remote)
    const lease = await this.leaseFor(open.leaseId)
    if (lease.requester !== remote.toString()) throw new InferenceError(`lease ${open.leaseId} belongs to another requester`)
    if (open.kind === 'data' && open.modelCid !== lease.modelCid) throw new InferenceError(`lease ${open.leaseId} is for model ${lease.modelCid}, not ${open.modelCid}`)
    const s = this.session(open.leaseId)
    s.lease = lease
    s.open = open
    s.requester = remote
    s.control?.abort(new Error('replaced by a new session'))
    s.next?.abort(new Error('replaced by a new session'))
    s.next = undefined
    s.control = channel
    s.ready = this.prepareModel(open.modelCid, remote)
    s.ready.catch(() => {})
    s.configured.resolve()
    await s.ready
    this.log('lease %s ready (model %s)', open.leaseId, open.modelCid)
    if (open.kind === 'stage' && open.stage < open.stageCount - 1) {
      s.next = await this.openNext(open)
    }
    // stage 0 and data-parallel workers read data here; later stages only control frames
    await this.serveFrames(s, channel, open.kind === 'data' ? 'data' : 'stage')
  }

  /** A previous stage's feed stream. */
  private async serveFeed (open: InferOpen, channel: FrameSource, remote: PeerId): Promise<void> {
    const s = this.session(open.leaseId)
    // wait for the requester's control stream of this lease to configure the stage this feed is for: after a
    // pipeline rebuild the session may still hold the previous generation's stage (another model)
    const fedBy = (): boolean => {
      const source = s.open?.source
      return s.open?.kind === 'stage' && s.open.stage === open.stage && source != null && source.byteLength > 0 && peerIdFromMultihash(Digest.decode(source)).equals(remote)
    }
    const deadline = Date.now() + 10_000
    while (!fedBy()) {
      if (Date.now() > deadline) throw new InferenceError(`${remote} is not the stage that feeds lease ${open.leaseId} (stage ${open.stage})`)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    await s.ready
    await this.serveFrames(s, new InferChannelView(channel, this.counters), 'stage')
  }

  private async openNext (open: InferOpen): Promise<FrameSink> {
    const next = peerIdFromMultihash(Digest.decode(open.next))
    if (next.equals(this.components.peerId)) {
      // this worker also holds the next stage: feed it in process
      const local = new LocalInferChannel()
      const feed: InferOpen = { ...open, leaseId: open.nextLeaseId, kind: 'feed', stage: open.stage + 1, next: new Uint8Array(), nextAddrs: [], nextLeaseId: '', source: new Uint8Array() }
      void this.serveFeed(feed, local, this.components.peerId).catch((err: any) => {
        this.log('local feed of lease %s failed - %s', open.nextLeaseId, err?.message ?? err)
      })
      return local
    }
    const stream = await this.components.connectionManager.openStream(next, INFER_PROTOCOL, { signal: AbortSignal.timeout(10_000), runOnLimitedConnection: true })
    const channel = new InferChannel(stream, this.counters, 'activation')
    channel.send({ open: { ...open, leaseId: open.nextLeaseId, kind: 'feed', stage: open.stage + 1, next: new Uint8Array(), nextAddrs: [], nextLeaseId: '', source: new Uint8Array() } })
    return channel
  }

  /** Makes sure the model is stored (fetched by CID from the requester, else any provider) and loaded in a runner. */
  private async prepareModel (cid: string, requester: PeerId): Promise<void> {
    const models = this.components.models
    if (!models.store.has(cid)) {
      try {
        await models.fetch(cid, { from: requester })
      } catch {
        await models.fetch(cid)
      }
    }
    await (await this.getRuntime()).load(cid)
  }

  /** Reads data frames, runs them, sends results (or forwards activations). */
  private async serveFrames (s: WorkerSession, channel: { next: () => Promise<InferMessage | undefined> }, kind: 'data' | 'stage'): Promise<void> {
    const open = s.open as InferOpen
    const runtime = await this.getRuntime()
    while (true) {
      const m = await channel.next()
      if (m == null) return
      if (m.finish != null) { s.finished.resolve(); return }
      if (m.end != null) {
        if (s.next != null) { s.next.send({ end: {} }) } else if (kind === 'stage') { s.control?.send({ end: {} }) }
        if (kind === 'data') return
        continue
      }
      if (m.data == null) continue
      this.log.trace('lease %s frame %d', open.leaseId, m.data.seq)
      const inputs = decodeTensors(m.data.tensors, this.init.maxInputBytes ?? MAX_TENSOR_BYTES)
      const startedAt = Date.now()
      const ran = await runtime.run(open.modelCid, inputs)
      const outputs = this.init.tamperOutputs?.(ran.outputs) ?? ran.outputs
      const { computeMs } = ran
      const items = inputs[0]?.dims[0] ?? 0
      s.items += items
      s.computeMs += computeMs
      const digests = { input: inputDigest(m.data.tensors), output: outputDigest(outputs) }
      s.digests.set(m.data.seq, digests)
      const bytes = encodeTensors(outputs)
      if (s.next != null) {
        s.next.send({ data: { seq: m.data.seq, tensors: bytes, more: false } })
      } else {
        const receipt = await this.frameReceipt(s, m.data.seq, digests, items, computeMs, startedAt)
        s.control?.send({ result: { seq: m.data.seq, tensors: bytes, computeMs, more: false, receipt } })
      }
    }
  }

  /**
   * A receipt for one micro-batch (job `<jobId>/mb/<seq>`, price 0: it
   * moves no credits). The requester keeps it as evidence should a spot
   * check find this output in the minority.
   */
  private async frameReceipt (s: WorkerSession, seq: number, digests: { input: Uint8Array, output: Uint8Array }, items: number, computeMs: number, startedAt: number): Promise<Uint8Array<ArrayBuffer>> {
    const ledger = this.components.ledger
    const lease = s.lease
    if (ledger == null || lease == null || s.requester == null) return new Uint8Array(0)
    const receipt = await ledger.signReceipt({
      jobId: `${lease.jobId}/mb/${seq}`,
      shardIndex: seq,
      replica: 0,
      requester: s.requester,
      modelCid: lease.modelCid,
      inputDigest: digests.input,
      outputDigest: digests.output,
      computeMs: Math.round(computeMs),
      units: items,
      pricePerUnit: 0,
      startedAt,
      finishedAt: Date.now(),
      leaseId: lease.leaseId
    })
    return new Uint8Array(encodeReceipt(receipt))
  }

  // ------------------------------------------------------------- requester

  /**
   * Submits a sharded inference job.
   *
   * @throws (through `result`) JobInputError for inputs that do not fit the model, MessageTooLargeError, ModelFetchError/InvalidCidError for an unknown model, the market's JobFailedError/JobCancelledError
   */
  submit (init: SubmitInit): JobHandle {
    const jobId = randomUUID()
    const events = pushable<JobProgress>({ objectMode: true })
    const emit = (p: JobProgress): void => { events.push(p); this.safeDispatchEvent('progress', { detail: p }) }
    const abort = new AbortController()
    const signal = init.signal != null ? AbortSignal.any([init.signal, abort.signal]) : abort.signal
    const marketResult = Promise.withResolvers<JobResult>()
    marketResult.promise.catch(() => {})
    const verification: Verification = { caught: new Map(), mismatches: [] }
    const result = this.runJob(jobId, init, emit, signal, marketResult, verification).then(
      (r) => { emit({ type: 'done', jobId, at: Date.now() }); events.end(); return r },
      (err) => { emit({ type: 'failed', jobId, error: `${err?.name ?? 'Error'}: ${err?.message ?? err}`, at: Date.now() }); events.end(); throw err }
    )
    result.catch(() => {})
    const settlement = result.then(async () => this.settle(await marketResult.promise, verification))
    settlement.catch((err) => { this.log('settling job %s failed - %s', jobId, err?.message ?? err) })
    return {
      jobId,
      result,
      market: marketResult.promise,
      settlement,
      cancel: (reason) => { abort.abort(new Error(reason ?? 'cancelled')) },
      [Symbol.asyncIterator]: () => events[Symbol.asyncIterator]()
    }
  }

  /**
   * Settles a finished job in the ledger: the receipts of workers caught by
   * a spot check are rejected, the others checked and countersigned
   * (`settleJob` with no further sampling: spot checks ran during the job),
   * and mismatch evidence is reported.
   */
  private async settle (job: JobResult, v: Verification): Promise<SettleResult> {
    const ledger = this.components.ledger
    if (ledger == null) throw new InferenceError('this node runs no ledger, so it cannot settle jobs')
    const res = await settleJob(ledger, { jobId: job.jobId, shards: job.shards.filter(s => !v.caught.has(s.worker)) }, { sampleRate: 0 })
    for (const s of job.shards) {
      const caught = v.caught.get(s.worker)
      if (caught != null) res.rejected.push({ shardIndex: s.shardIndex, replica: s.replica, worker: s.worker, reason: caught.reason } satisfies RejectedShard)
    }
    for (const m of v.mismatches) {
      try {
        res.evidence.push(await ledger.reportMismatch(decodeReceipt(m.accused), [decodeReceipt(m.witnesses[0]), decodeReceipt(m.witnesses[1])]))
      } catch (err: any) {
        // e.g. the witnesses' quantised digests straddle a rounding step: the rejection stands, the evidence would not verify
        this.log('mismatch evidence for job %s not reported - %s', job.jobId, err?.message ?? err)
      }
    }
    return res
  }

  private async runJob (jobId: string, init: SubmitInit, emit: (p: JobProgress) => void, signal: AbortSignal, marketResult: PromiseWithResolvers<JobResult>, verification: Verification): Promise<WireTensor[]> {
    const models = this.components.models
    const maxBytes = this.init.maxInputBytes ?? MAX_TENSOR_BYTES
    const entry = typeof init.model === 'string' ? await models.fetch(init.model) : await models.add(init.model)
    const batch = checkInputs(init.inputs, entry.info.inputs, maxBytes)
    const mode = init.mode ?? 'data'
    const fixed = entry.info.inputs[0]?.shape[0]
    const parts = mode === 'data' ? (init.shards ?? 2) : (init.stages ?? 2)
    let micro = typeof fixed === 'number' ? fixed : (init.microBatch ?? Math.max(1, Math.ceil(batch / (parts * (mode === 'data' ? 4 : 2)))))
    if (typeof fixed === 'number' && batch % fixed !== 0) throw new JobInputError(`the model takes batches of exactly ${fixed}; ${batch} items do not divide into them`)
    micro = Math.min(micro, batch)
    const batches: Array<[number, number]> = []
    for (let at = 0; at < batch; at += micro) batches.push([at, Math.min(batch, at + micro)])

    let stages: Stage[] | undefined
    if (mode === 'pipeline') {
      const bytes = await models.store.get(entry.cid)
      const partition = await partitionModel(bytes, { stages: parts, sampleInputs: sliceBatch(init.inputs, 0, (batches[0] as [number, number])[1]) })
      stages = partition.stages
      for (const st of stages) await models.add(st.bytes)
    }

    if (init.region != null) await this.reachRegion(init.region, signal)
    const market = this.components.market
    const leases = new Map<string, { worker: PeerId, leaseId: string, shard: number }>()
    const onLease = (evt: CustomEvent<LeaseEvent>): void => {
      const e = evt.detail
      if (e.jobId !== jobId || e.side !== 'requester') return
      if (e.state === 'active') {
        const worker = this.components.admission.admitted().find(c => c.peerId.toString() === e.worker)?.peerId
        if (worker == null) return
        leases.set(e.leaseId, { worker, leaseId: e.leaseId, shard: e.shardIndex })
        emit({ type: 'awarded', jobId, worker: e.worker, leaseId: e.leaseId, shard: e.shardIndex, at: e.at })
        dispatcher.onActive(e.leaseId)
      } else if (['lost', 'declined', 'released', 'cancelled'].includes(e.state)) {
        if (leases.delete(e.leaseId)) emit({ type: 'lease-lost', jobId, worker: e.worker, leaseId: e.leaseId, reason: e.reason, at: e.at })
        dispatcher.onLost(e.leaseId)
      }
    }
    const onBid = (evt: CustomEvent<any>): void => {
      const b = evt.detail
      if (b.jobId === jobId && b.side === 'received') {
        bidSpeed.set(b.bidder, b.msPerUnit)
        emit({ type: 'bid', jobId, bidder: b.bidder, pricePerUnit: b.pricePerUnit, at: b.at })
      }
    }
    const onJob = (evt: CustomEvent<any>): void => {
      const j = evt.detail
      if (j.jobId !== jobId) return
      if (j.state === 'bidding' && j.round === 0) emit({ type: 'offered', jobId, at: j.at })
      if (j.state === 'awarding' && j.round > 0) emit({ type: 're-awarded', jobId, at: j.at })
    }
    const bidSpeed = new Map<string, number>()
    const results = new Map<number, WireTensor[]>()
    const allDone = Promise.withResolvers<void>()
    const dispatcher = mode === 'data'
      ? new DataDispatcher(this, jobId, entry.cid, leases, batches, init.inputs, results, allDone, emit, this.verifySampling(), verification)
      : new PipelineDispatcher(this, jobId, stages as Stage[], leases, batches, init.inputs, results, allDone, emit, bidSpeed)
    market.addEventListener('lease', onLease)
    market.addEventListener('bid', onBid)
    market.addEventListener('job', onJob)
    try {
      const submitted = market.submit({
        jobId,
        modelCid: entry.cid,
        mode,
        shardUnits: mode === 'data'
          ? Array.from({ length: parts }, () => Math.ceil(batch / parts))
          // a stage's compute units: its GFLOP over the whole batch (flops are measured on one micro-batch)
          : (stages as Stage[]).map(st => Math.max(1, Math.round(st.flops / 1e9 * batch / micro))),
        maxPricePerUnit: init.maxPrice,
        deadline: init.deadline,
        redundancy: init.redundancy,
        region: init.region,
        bidWindowMs: init.bidWindowMs,
        spread: true
      }, { signal })
      submitted.then(marketResult.resolve, marketResult.reject)
      // a market failure (deadline, cancel) ends the job even if tensors are still moving
      await Promise.race([allDone.promise, submitted.then(() => allDone.promise)])
      dispatcher.finish()
      await submitted
      return concatBatches(batches.map((_, i) => results.get(i) as WireTensor[]))
    } finally {
      dispatcher.close()
      market.removeEventListener('lease', onLease)
      market.removeEventListener('bid', onBid)
      market.removeEventListener('job', onJob)
    }
  }

  /**
   * Gossip travels only through peers subscribed to a topic, so a job
   * offered in another region reaches its workers only if this node is
   * connected to some of them: find a few by DHT (`region/<prefix>`
   * provider records), connect, and wait for their admission (bounded by
   * REACH_REGION_TIMEOUT_MS; the offer goes out either way).
   */
  private async reachRegion (region: string, signal: AbortSignal): Promise<void> {
    const admission = this.components.admission
    const inRegion = (): number => admission.admitted().filter(c => c.region.startsWith(region)).length
    if (inRegion() >= REACH_REGION_PEERS) return
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(REACH_REGION_TIMEOUT_MS)])
    try {
      const found = await this.components.capabilities.findPeers({ region, limit: REACH_REGION_PEERS, signal: deadline })
      await Promise.allSettled(found.map(async p => admission.waitFor(p.peerId, { signal: deadline })))
      // subscriptions are exchanged as soon as the streams open; one gossipsub heartbeat grafts the topic mesh
      if (found.length > 0) await new Promise(resolve => setTimeout(resolve, 1000))
    } catch (err: any) {
      this.log('reaching region %s failed - %s', region, err?.message ?? err)
    }
  }

  /** Spot-check sampling of this requester (rate and the ledger's secret seed), or undefined when off. */
  private verifySampling (): { rate: number, seed: string } | undefined {
    const rate = this.init.verifyRate ?? SAMPLE_RATE
    const ledger = this.components.ledger
    if (ledger == null || !(rate > 0)) return undefined
    return { rate: Math.min(1, rate), seed: ledger.sampleSeed }
  }

  /** True if a connection to the peer is open. */
  isConnected (peer: PeerId): boolean {
    return this.components.connectionManager.getConnections(peer).some(c => c.status === 'open')
  }

  /** Opens a control stream to a leased worker. */
  async openControl (worker: PeerId, open: InferOpen): Promise<InferChannel> {
    const stream = await this.components.connectionManager.openStream(worker, INFER_PROTOCOL, { signal: AbortSignal.timeout(10_000), runOnLimitedConnection: true })
    const channel = new InferChannel(stream, this.counters, 'input')
    channel.send({ open })
    return channel
  }

  encodeBatch (inputs: WireTensor[], [start, end]: [number, number]): Uint8Array<ArrayBuffer> {
    return encodeTensors(sliceBatch(inputs, start, end), this.init.maxInputBytes ?? MAX_TENSOR_BYTES)
  }
}

/** Reads a feed stream's frames as activations. */
class InferChannelView {
  constructor (private readonly channel: FrameSource, private readonly counters: InferCounters) {}
  async next (): Promise<InferMessage | undefined> {
    const before = this.counters.inputBytesReceived
    const m = await this.channel.next()
    // the shared channel counted this frame as input: it is an activation
    const delta = this.counters.inputBytesReceived - before
    this.counters.inputBytesReceived -= delta
    this.counters.activationBytesReceived += delta
    return m
  }
}

interface Dispatcher {
  onActive(leaseId: string): void
  onLost(leaseId: string): void
  finish(): void
  close(): void
}

/** What the spot checks of one job found (filled by the DataDispatcher, read at settlement). */
interface Verification {
  /** workers caught in the minority, with why */
  caught: Map<string, { seq: number, reason: string }>
  /** encoded per-micro-batch receipts: the accused's and two agreeing witnesses' */
  mismatches: Array<{ accused: Uint8Array, witnesses: [Uint8Array, Uint8Array] }>
}

/** A spot check of one micro-batch: outputs by worker until two agree (or a third decides). */
interface SpotCheck {
  outputs: Map<string, WireTensor[]>
  /** workers running it now */
  running: Set<string>
  /** outputs wanted: 2, or 3 after a disagreement */
  want: number
  resolved: boolean
}

/**
 * Data-parallel: workers pull micro-batches; lost ones go back to the queue.
 * A sample of micro-batches (`verifyRate`, secret seed) is also run on a
 * second worker and the outputs compared (`tensorsClose`); a disagreement
 * goes to a third worker and the minority worker is caught: its results are
 * thrown away and re-run elsewhere, it gets no more work in this job, and
 * its lease receipt is rejected at settlement.
 */
class DataDispatcher implements Dispatcher {
  private readonly queue: number[]
  private finished = false
  private readonly sentAt = new Map<number, number>()
  private readonly backedUp = new Set<number>()
  private readonly timer: ReturnType<typeof setInterval>
  private readonly channels = new Map<string, { channel: InferChannel, inFlight: Set<number>, worker: PeerId }>()
  /** which worker's output is in `results`, by seq */
  private readonly resultFrom = new Map<number, string>()
  /** per-micro-batch receipts, by seq, then worker */
  private readonly frameReceipts = new Map<number, Map<string, Uint8Array>>()
  private readonly checks = new Map<number, SpotCheck>()

  constructor (
    private readonly svc: InferenceService,
    private readonly jobId: string,
    private readonly modelCid: string,
    private readonly leases: Map<string, { worker: PeerId, leaseId: string }>,
    private readonly batches: Array<[number, number]>,
    private readonly inputs: WireTensor[],
    private readonly results: Map<number, WireTensor[]>,
    private readonly done: PromiseWithResolvers<void>,
    private readonly emit: (p: JobProgress) => void,
    private readonly verify: { rate: number, seed: string } | undefined,
    private readonly verification: Verification
  ) {
    this.queue = batches.map((_, i) => i)
    this.timer = setInterval(() => { this.pumpAll() }, STRAGGLER_MS / 4)
  }

  onActive (leaseId: string): void {
    const lease = this.leases.get(leaseId)
    if (lease == null || this.channels.has(leaseId)) return
    void this.run(leaseId, lease.worker).catch((err) => {
      if (!this.finished) this.svc.log('data channel to %p for lease %s ended - %s', lease.worker, leaseId, err?.message ?? err)
      this.drop(leaseId)
    })
  }

  onLost (leaseId: string): void {
    const c = this.channels.get(leaseId)
    c?.channel.abort(new Error('lease lost'))
    this.drop(leaseId)
  }

  private drop (leaseId: string): void {
    const c = this.channels.get(leaseId)
    if (c == null) return
    this.channels.delete(leaseId)
    if (this.finished) return
    for (const seq of c.inFlight) if (!this.results.has(seq)) this.queue.unshift(seq)
    for (const check of this.checks.values()) check.running.delete(c.worker.toString())
    this.pumpAll()
    this.maybeDone()
  }

  private async run (leaseId: string, worker: PeerId): Promise<void> {
    const channel = await this.svc.openControl(worker, { jobId: this.jobId, leaseId, modelCid: this.modelCid, kind: 'data', stage: 0, stageCount: 1, source: new Uint8Array(), next: new Uint8Array(), nextAddrs: [], nextLeaseId: '' })
    if (this.finished) {
      // a lease re-awarded after every micro-batch was done: nothing left, end it
      channel.send({ finish: {} })
      await channel.close()
      return
    }
    const state = { channel, inFlight: new Set<number>(), worker }
    const w = worker.toString()
    this.channels.set(leaseId, state)
    this.pump(state)
    while (true) {
      const m = await channel.next()
      if (m == null) {
        if (this.finished) return
        throw new InferenceError(`worker ${worker} closed the stream`)
      }
      if (m.error != null) throw new InferenceError(`worker ${worker}: ${m.error.code} ${m.error.message}`)
      if (m.result == null) continue
      const seq = m.result.seq
      state.inFlight.delete(seq)
      if (this.verification.caught.has(w)) continue
      if (m.result.receipt.byteLength > 0) {
        let byWorker = this.frameReceipts.get(seq)
        if (byWorker == null) { byWorker = new Map(); this.frameReceipts.set(seq, byWorker) }
        byWorker.set(w, m.result.receipt)
      }
      const check = this.checks.get(seq)
      if (!this.results.has(seq)) {
        const tensors = decodeTensors(m.result.tensors)
        this.results.set(seq, tensors)
        this.resultFrom.set(seq, w)
        this.emit({ type: 'shard-finished', jobId: this.jobId, worker: w, seq, computeMs: m.result.computeMs, at: Date.now() })
        if (check != null) {
          check.running.delete(w)
          check.outputs.set(w, tensors)
          this.judge(seq, check)
        } else if (this.verify != null && isSampled(this.jobId, seq, this.verify.rate, this.verify.seed)) {
          this.checks.set(seq, { outputs: new Map([[w, tensors]]), running: new Set(), want: 2, resolved: false })
        }
      } else if (check?.running.has(w) === true) {
        check.running.delete(w)
        check.outputs.set(w, decodeTensors(m.result.tensors))
        this.judge(seq, check)
      }
      this.maybeDone()
      this.pumpAll()
    }
  }

  /** Compares a spot check's outputs once it has what it wants. */
  private judge (seq: number, check: SpotCheck): void {
    if (check.resolved || check.outputs.size < check.want) return
    const entries = [...check.outputs]
    const close = (a: [string, WireTensor[]], b: [string, WireTensor[]]): boolean => tensorsClose(a[1], b[1])
    if (entries.length === 2) {
      const agreed = close(entries[0] as [string, WireTensor[]], entries[1] as [string, WireTensor[]])
      this.emit({ type: 'verified', jobId: this.jobId, seq, workers: entries.map(e => e[0]), agreed, at: Date.now() })
      if (agreed) check.resolved = true
      else check.want = 3
      return
    }
    check.resolved = true
    const [x, y, z] = entries as Array<[string, WireTensor[]]> as [[string, WireTensor[]], [string, WireTensor[]], [string, WireTensor[]]]
    let loser: [string, WireTensor[]] | undefined
    let witnesses: [[string, WireTensor[]], [string, WireTensor[]]] | undefined
    if (close(y, z) && !close(x, y)) { loser = x; witnesses = [y, z] } else if (close(x, z) && !close(x, y)) { loser = y; witnesses = [x, z] } else if (close(x, y) && !close(x, z)) { loser = z; witnesses = [x, y] }
    this.emit({ type: 'verified', jobId: this.jobId, seq, workers: entries.map(e => e[0]), agreed: loser == null, at: Date.now() })
    if (loser == null || witnesses == null) {
      this.svc.log('spot check of %s micro-batch %d: three workers, no majority', this.jobId, seq)
      return
    }
    this.results.set(seq, witnesses[0][1])
    this.resultFrom.set(seq, witnesses[0][0])
    const receipts = this.frameReceipts.get(seq)
    const accused = receipts?.get(loser[0])
    const w1 = receipts?.get(witnesses[0][0])
    const w2 = receipts?.get(witnesses[1][0])
    // one piece of evidence per caught worker is enough
    if (accused != null && w1 != null && w2 != null && !this.verification.caught.has(loser[0])) this.verification.mismatches.push({ accused, witnesses: [w1, w2] })
    this.catchWorker(loser[0], seq, `output of micro-batch ${seq} disagrees with two other workers`)
  }

  /** A worker in the minority: its results are re-run elsewhere and it gets no more work in this job. */
  private catchWorker (worker: string, seq: number, reason: string): void {
    if (this.verification.caught.has(worker)) return
    this.verification.caught.set(worker, { seq, reason })
    this.emit({ type: 'worker-rejected', jobId: this.jobId, worker, seq, reason, at: Date.now() })
    for (const [s, from] of [...this.resultFrom]) {
      if (from !== worker) continue
      this.results.delete(s)
      this.resultFrom.delete(s)
      const check = this.checks.get(s)
      if (check != null && !check.resolved) {
        check.outputs.delete(worker)
        check.want = 2
      }
      this.queue.push(s)
    }
    for (const check of this.checks.values()) check.running.delete(worker)
    for (const c of this.channels.values()) {
      if (c.worker.toString() !== worker) continue
      for (const s of c.inFlight) if (!this.results.has(s)) this.queue.push(s)
    }
  }

  /** Resolves `done` once every micro-batch has a result and no spot check still waits on a worker that could serve it. */
  private maybeDone (): void {
    if (this.finished || this.results.size < this.batches.length) return
    // workers with a live lease, whether or not their stream is open yet (a late one can still decide a check)
    const available = [...this.leases.values()].map(l => l.worker.toString()).filter(w => !this.verification.caught.has(w))
    for (const check of this.checks.values()) {
      if (check.resolved) continue
      if (check.running.size > 0) return
      if (available.some(w => !check.outputs.has(w))) return
    }
    this.done.resolve()
  }

  private pumpAll (): void {
    for (const c of this.channels.values()) this.pump(c)
  }

  /** The oldest micro-batch outstanding elsewhere past STRAGGLER_MS, not yet backed up. */
  private straggler (state: { inFlight: Set<number> }): number | undefined {
    let best: number | undefined
    const now = Date.now()
    for (const c of this.channels.values()) {
      for (const seq of c.inFlight) {
        if (state.inFlight.has(seq) || this.results.has(seq) || this.backedUp.has(seq)) continue
        const at = this.sentAt.get(seq) ?? now
        if (now - at < STRAGGLER_MS) continue
        if (best == null || at < (this.sentAt.get(best) ?? now)) best = seq
      }
    }
    return best
  }

  /** A spot check this worker can run: not yet run by it, still short of outputs. */
  private spotCheckFor (worker: string, state: { inFlight: Set<number> }): number | undefined {
    for (const [seq, check] of this.checks) {
      if (check.resolved || state.inFlight.has(seq) || check.outputs.has(worker) || check.running.has(worker)) continue
      if (check.outputs.size + check.running.size >= check.want) continue
      check.running.add(worker)
      return seq
    }
    return undefined
  }

  private pump (state: { channel: InferChannel, inFlight: Set<number>, worker: PeerId }): void {
    const w = state.worker.toString()
    if (this.finished || this.verification.caught.has(w)) return
    while (state.inFlight.size < DATA_IN_FLIGHT) {
      let seq = this.queue.shift()
      while (seq != null && this.results.has(seq)) seq = this.queue.shift()
      seq ??= this.spotCheckFor(w, state)
      if (seq == null) {
        seq = this.straggler(state)
        if (seq == null) return
        this.backedUp.add(seq)
      }
      this.sentAt.set(seq, Date.now())
      state.inFlight.add(seq)
      const range = this.batches[seq] as [number, number]
      this.emit({ type: 'shard-started', jobId: this.jobId, worker: w, seq, items: range[1] - range[0], at: Date.now() })
      state.channel.send({ data: { seq, tensors: this.svc.encodeBatch(this.inputs, range), more: false } })
    }
  }

  finish (): void {
    this.finished = true
    clearInterval(this.timer)
    for (const c of this.channels.values()) {
      c.channel.send({ finish: {} })
      void c.channel.close()
    }
  }

  close (): void {
    this.finished = true
    clearInterval(this.timer)
    for (const c of this.channels.values()) c.channel.abort(new Error('job over'))
    this.channels.clear()
  }
}

/** Pipeline: one worker per stage; rebuilt with replacements when a stage worker is lost. */
class PipelineDispatcher implements Dispatcher {
  private channels: InferChannel[] = []
  private finished = false
  private readonly finishedLeases = new Set<string>()
  private building = false
  private generation = 0
  private usedLeases = new Set<string>()

  constructor (
    private readonly svc: InferenceService,
    private readonly jobId: string,
    private readonly stages: Stage[],
    private readonly leases: Map<string, { worker: PeerId, leaseId: string, shard: number }>,
    private readonly batches: Array<[number, number]>,
    private readonly inputs: WireTensor[],
    private readonly results: Map<number, WireTensor[]>,
    private readonly done: PromiseWithResolvers<void>,
    private readonly emit: (p: JobProgress) => void,
    private readonly bidSpeed: Map<string, number>
  ) {}

  onActive (leaseId?: string): void {
    if (this.finished) {
      // every micro-batch is done: end any lease that became active since
      if (leaseId != null) void this.finishLease(leaseId)
      return
    }
    if (this.leases.size >= this.stages.length && !this.building && this.channels.length === 0) void this.build()
  }

  private async finishLease (leaseId: string): Promise<void> {
    const lease = this.leases.get(leaseId)
    if (lease == null || this.finishedLeases.has(leaseId)) return
    this.finishedLeases.add(leaseId)
    try {
      const c = await this.svc.openControl(lease.worker, { jobId: this.jobId, leaseId, modelCid: (this.stages[0] as Stage).cid, kind: 'stage', stage: 0, stageCount: 1, source: new Uint8Array(), next: new Uint8Array(), nextAddrs: [], nextLeaseId: '' })
      c.send({ finish: {} })
      await c.close()
    } catch {}
  }

  onLost (): void {
    if (this.finished) return
    this.teardown()
    this.onActive()
  }

  private teardown (): void {
    this.generation++
    for (const c of this.channels) c.abort(new Error('pipeline rebuilt'))
    this.channels = []
  }

  /** Maps stages to the leased workers (planStages) and opens the chain. */
  private async build (): Promise<void> {
    this.building = true
    const gen = ++this.generation
    try {
      // leases of workers still connected (a dead worker's lease lingers until the market notices)
      const leased = [...this.leases.values()].filter(l => this.svc.isConnected(l.worker)).slice(0, this.stages.length)
      if (leased.length < this.stages.length) throw new InferenceError('waiting for replacement leases')
      const plan = planStages(this.stages, leased.map(l => ({
        id: l.leaseId,
        memoryBytes: Number.MAX_SAFE_INTEGER,
        // a bid's msPerUnit is per compute unit (MFLOP-scaled here): lower is faster
        flopsPerSecond: 1e9 / Math.max(0.001, this.bidSpeed.get(l.worker.toString()) ?? 10)
      })))
      const byStage = plan.placements.map(p => this.leases.get(p.peer) as { worker: PeerId, leaseId: string })
      this.usedLeases = new Set(byStage.map(l => l.leaseId))
      const K = this.stages.length
      const channels: InferChannel[] = []
      // open the last stage first, so each stage's successor is configured when it opens its feed
      for (let k = K - 1; k >= 0; k--) {
        const me = byStage[k] as { worker: PeerId, leaseId: string }
        const next = byStage[k + 1]
        const prev = byStage[k - 1]
        channels[k] = await this.svc.openControl(me.worker, {
          jobId: this.jobId,
          leaseId: me.leaseId,
          modelCid: (this.stages[k] as Stage).cid,
          kind: 'stage',
          stage: k,
          stageCount: K,
          source: prev != null ? prev.worker.toMultihash().bytes : new Uint8Array(),
          next: next != null ? next.worker.toMultihash().bytes : new Uint8Array(),
          nextAddrs: [],
          nextLeaseId: next?.leaseId ?? ''
        })
      }
      if (gen !== this.generation) { for (const c of channels) c.abort(new Error('superseded')); return }
      this.channels = channels
      void this.readResults(channels[K - 1] as InferChannel, gen, byStage[K - 1]?.worker.toString() ?? '')
      for (const [k, c] of channels.entries()) if (k < K - 1) void this.watch(c, gen)
      // send every micro-batch without a result; stages work on different micro-batches at once
      const first = channels[0] as InferChannel
      for (const [seq, range] of this.batches.entries()) {
        if (this.results.has(seq)) continue
        this.emit({ type: 'shard-started', jobId: this.jobId, worker: byStage[0]?.worker.toString() ?? '', seq, items: range[1] - range[0], at: Date.now() })
        first.send({ data: { seq, tensors: this.svc.encodeBatch(this.inputs, range), more: false } })
      }
      first.send({ end: {} })
    } catch {
      if (gen === this.generation) this.teardown()
      setTimeout(() => { this.onActive() }, 500)
    } finally {
      this.building = false
    }
  }

  private async watch (channel: InferChannel, gen: number): Promise<void> {
    try {
      while (true) {
        const m = await channel.next()
        if (m == null || m.error != null) break
      }
    } catch {}
    if (gen === this.generation && this.results.size < this.batches.length) this.onLost()
  }

  private async readResults (channel: InferChannel, gen: number, worker: string): Promise<void> {
    try {
      while (true) {
        const m = await channel.next()
        if (m == null || m.error != null) break
        if (m.end != null) break
        if (m.result == null) continue
        if (!this.results.has(m.result.seq)) {
          this.results.set(m.result.seq, decodeTensors(m.result.tensors))
          this.emit({ type: 'shard-finished', jobId: this.jobId, worker, seq: m.result.seq, computeMs: m.result.computeMs, at: Date.now() })
        }
        if (this.results.size === this.batches.length) { this.done.resolve(); return }
      }
    } catch {}
    if (gen === this.generation && this.results.size < this.batches.length) this.onLost()
  }

  finish (): void {
    this.finished = true
    for (const c of this.channels) {
      c.send({ finish: {} })
      void c.close()
    }
    for (const l of this.leases.values()) {
      if (!this.usedLeases.has(l.leaseId)) void this.finishLease(l.leaseId)
    }
  }

  close (): void {
    for (const c of this.channels) c.abort(new Error('job over'))
    this.channels = []
  }
}

export { FleetmeshError }
export type { Pushable }
