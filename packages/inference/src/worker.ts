import { encodeReceipt, inputDigest, microBatchJobId, microBatchPricePerItem, outputDigest } from '@fleetmesh/ledger'
import { decodeTensors, encodeTensorHeader, MessageTooLargeError } from '@fleetmesh/protocol'
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import { takeToken } from '@fleetmesh/market'
import * as Digest from 'multiformats/hashes/digest'
import { ERROR_STREAM_LINGER_MS, FEED_WAIT_MS, FIRST_FRAME_TIMEOUT_MS, HAND_BACK_FLUSH_MS, LEASE_WAIT_MS, MALFORMED_INFER_BACKOFF_MS, MAX_PENDING_JOIN } from './constants.js'
import { InferenceError, SessionError } from './errors.js'
import { InferChannel, InferChannelView } from './infer-channel.js'
import { openNextStage } from './next-stage.js'
import { pick, StageJoin } from './pipeline-plan.js'
import { SessionWorker } from './session-worker.js'
import type { FrameSink, FrameSource, InferCounters } from './infer-channel.js'
import type { InferenceAdmission, InferenceModels } from './index.js'
import type { InferenceMetrics } from './metrics.js'
import type { Ledger } from '@fleetmesh/ledger'
import type { WorkerLease } from '@fleetmesh/market'
import type { InferMessage, InferOpen, WireTensor } from '@fleetmesh/protocol'
import type { Runtime } from '@fleetmesh/runtime'
import type { Connection, Logger, PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

/**
 * The worker side of the infer protocol: one session per lease the market
 * handed to this node, configured by the requester's control stream
 * (replaced when the requester rebuilds a pipeline), fed micro-batches by
 * the requester (data-parallel, stage 0, and the graph inputs of later
 * stages) and by the previous stage (activations). Every error, whichever
 * stream caused it, is reported on the control stream, so the requester
 * learns it at once.
 */

/** What the worker needs from the service that holds it. */
export interface WorkerContext {
  peerId: PeerId
  log: Logger
  counters: InferCounters
  connectionManager: ConnectionManager
  admission: InferenceAdmission
  models: InferenceModels
  ledger?: Ledger
  /** the runner pool, started on first use */
  runtime: () => Promise<Runtime>
  /** largest micro-batch input accepted, bytes */
  maxInputBytes: number
  /** malformed infer streams one connection may open before its peer is refused (InferenceInit.malformedStreamBudget) */
  malformedStreamBudget: { perSecond: number, burst: number }
  /** fault injection for tests and drills (never set in production) */
  tamperOutputs?: (outputs: WireTensor[], open: InferOpen) => WireTensor[]
  /** the service's metrics, if any */
  metrics?: InferenceMetrics
  /** fault injection: wait before opening the next stage's stream, ms */
  delayNextStage?: (stage: number) => number
  /** bounds of stateful sessions (session-worker.ts) */
  sessionBounds: { maxSessions: number, maxStateBytes: number, idleTimeoutMs: number }
  /** fault injection: wait after each micro-batch's run, before its outputs go out, ms */
  delayMicroBatch?: (open: InferOpen) => number
}

/** One configuration of a lease's session by a requester's control stream. */
interface SessionConfig {
  open: InferOpen
  control: InferChannel
  /** broadcast inputs the model reads with every micro-batch */
  constants: WireTensor[]
  /** model stored and loaded, next-stage stream open */
  ready: Promise<void>
  next?: FrameSink
  /** joins the previous stage's activations with the requester's batched inputs, by seq */
  join: StageJoin<WireTensor[]>
  /** runs one after another, in the order their parts completed */
  chain: Promise<void>
  /** the digest, receipt and send of the micro-batch that ran last (overlaps the next run) */
  posting: Promise<void>
  /** graph inputs this stage takes from the requester per micro-batch */
  requesterInputs: boolean
  /** the last output frame handed to the channel */
  lastSend: Promise<void>
  /** earlier stages' compute times of micro-batches waiting to run here, by seq (from the previous stage's frames) */
  upstreamMs: Map<number, number[]>
  ended: boolean
}

interface WorkerSession {
  lease: WorkerLease
  finished: PromiseWithResolvers<void>
  config?: SessionConfig
  /** called when a new configuration is in place */
  waiters: Set<() => void>
  items: number
  computeMs: number
  /** ms since the epoch: when the lease handler started */
  startedAt: number
  /** input and output digests of each micro-batch served, by seq */
  digests: Map<number, { input: Uint8Array, output: Uint8Array }>
  /** a stateful session's lease (session-worker.ts): the lease handler's return */
  result?: () => Promise<Uint8Array>
  /** a stateful session's lease: called when the lease ends, with why when it ended without `finish` (released, drained, cancelled, freed); the handler settles once it resolved (at most HAND_BACK_FLUSH_MS) */
  onEnd?: (why?: string) => Promise<void>
}

/** sha2-256 over a micro-batch's tensor header and bytes: the input digest of its receipt. */
export function digestTensors (tensors: WireTensor[]): Uint8Array {
  const { header, payload } = encodeTensorHeader(tensors, Number.MAX_SAFE_INTEGER)
  return inputDigest(header, ...payload)
}

/** Waits for `p`, at most `ms` milliseconds; its failure is ignored. */
async function withTimeout (p: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([p.catch(() => {}), new Promise(resolve => { timer = setTimeout(resolve, ms) })])
  clearTimeout(timer)
}

/** An error as an InferError frame field set. */
function errorFrame (err: any, seq?: number, stage?: number): InferMessage {
  return { error: { name: String(err?.name ?? 'Error'), code: String(err?.code ?? 'ERR_INFERENCE'), message: String(err?.message ?? err), seq, stage } }
}

export class InferenceWorker {
  private readonly sessions = new Map<string, WorkerSession>()
  private readonly leaseWaiters = new Map<string, Set<() => void>>()
  /** each connection's budget of malformed infer streams (WorkerContext.malformedStreamBudget) */
  private readonly malformed = new WeakMap<Connection, { tokens: number, at: number }>()
  /** the stateful sessions this worker serves */
  readonly stateful: SessionWorker

  constructor (private readonly ctx: WorkerContext) {
    this.handle = this.handle.bind(this)
    this.onLease = this.onLease.bind(this)
    this.stateful = new SessionWorker({ ...ctx, ...ctx.sessionBounds, leaseFor: async (leaseId) => this.sessionFor(leaseId) })
  }

  /** leases with a live session */
  get size (): number { return this.sessions.size }

  stop (): void {
    this.stateful.stop()
    for (const s of this.sessions.values()) s.finished.resolve()
    this.sessions.clear()
  }

  /**
   * The market's lease handler: holds the lease until the requester sends
   * `finish` (or the lease ends), then returns a receipt it signed for the
   * lease (`Ledger.shardReturn`): input digest = sha2-256 over each served
   * micro-batch's (seq, input digest) in seq order, output digest likewise
   * over the quantised output digests. The output bytes are a JSON summary
   * `{ items, computeMs, microBatches }`.
   */
  async onLease (lease: WorkerLease, signal: AbortSignal): Promise<Uint8Array> {
    const s: WorkerSession = { lease, finished: Promise.withResolvers(), waiters: new Set(), items: 0, computeMs: 0, startedAt: Date.now(), digests: new Map() }
    s.finished.promise.catch(() => {})
    this.sessions.set(lease.leaseId, s)
    for (const wake of this.leaseWaiters.get(lease.leaseId) ?? []) wake()
    const onAbort = (): void => { s.finished.reject(new SessionError(`lease ${lease.leaseId} ended: ${String(signal.reason?.message ?? signal.reason ?? 'aborted')}`)) }
    if (signal.aborted) onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    let why: string | undefined = 'the lease ended before it finished'
    try {
      await s.finished.promise.catch((err: any) => { why = String(err?.message ?? err); throw err })
      why = undefined
      if (s.result != null) return await s.result()
      const summary = new TextEncoder().encode(JSON.stringify({ items: s.items, computeMs: Math.round(s.computeMs), microBatches: s.digests.size }))
      const ledger = this.ctx.ledger
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
      // a session stage that ends early sends its receipt first: the market's Release waits for this handler
      const ended = s.onEnd?.(why)
      if (ended != null) await withTimeout(ended, HAND_BACK_FLUSH_MS)
      this.endConfig(s, 'lease over')
      this.sessions.delete(lease.leaseId)
    }
  }

  /** The session of a lease the market handed to this worker, waiting (bounded) while the Accept and the stream race. */
  private async sessionFor (leaseId: string): Promise<WorkerSession> {
    const found = this.sessions.get(leaseId)
    if (found != null) return found
    return new Promise((resolve, reject) => {
      let waiters = this.leaseWaiters.get(leaseId)
      if (waiters == null) { waiters = new Set(); this.leaseWaiters.set(leaseId, waiters) }
      const done = (): void => {
        clearTimeout(timer)
        waiters.delete(done)
        if (waiters.size === 0) this.leaseWaiters.delete(leaseId)
        const s = this.sessions.get(leaseId)
        if (s != null) resolve(s)
        else reject(new SessionError(`no live lease ${leaseId} at this worker`))
      }
      const timer = setTimeout(done, LEASE_WAIT_MS)
      waiters.add(done)
    })
  }

  /** The `/fleetmesh/infer` stream handler. */
  async handle (stream: Stream, connection: Connection): Promise<void> {
    const remote = connection.remotePeer
    if (!this.ctx.admission.isAdmitted(remote)) {
      stream.abort(new Error('not admitted'))
      return
    }
    const first = new InferChannel(stream, this.ctx.counters, 'input', this.ctx.maxInputBytes + 4096)
    let open: InferOpen | undefined
    try {
      const timeout = AbortSignal.timeout(FIRST_FRAME_TIMEOUT_MS)
      open = (await Promise.race([first.next({ mustOpen: true }), new Promise<never>((resolve, reject) => timeout.addEventListener('abort', () => { reject(new InferenceError(`no open frame within ${FIRST_FRAME_TIMEOUT_MS} ms`)) }))]))?.open
      if (open == null) throw new InferenceError('the first frame must be open')
      if (open.kind === 'session' || open.kind === 'session-feed') {
        await this.stateful.serve(open, first, remote)
      } else if (open.kind === 'feed') {
        await this.serveFeed(open, first, remote)
      } else {
        await this.serveControl(open, first, remote)
      }
    } catch (err: any) {
      this.ctx.log('infer stream from %p failed - %s', remote, err?.message ?? err)
      if (first.malformed && this.chargeMalformed(connection, err)) {
        stream.abort(err)
        return
      }
      // nothing more is read from this stream: what the remote sent ahead is dropped now, and the stream ends soon whatever the remote does
      stream.closeRead().catch(() => {})
      const linger = setTimeout(() => { if (stream.status !== 'closed') stream.abort(new InferenceError(`the infer stream was answered with an error and not closed within ${ERROR_STREAM_LINGER_MS} ms`)) }, ERROR_STREAM_LINGER_MS)
      try {
        first.send(errorFrame(err, undefined, open?.stage))
        await first.close()
      } catch {
        first.abort(err)
      }
      if (stream.status === 'closed' || stream.status === 'reset' || stream.status === 'aborted') clearTimeout(linger)
    }
  }

  /**
   * Counts a malformed infer stream against its connection's budget
   * (`malformedStreamBudget`); past it the peer is refused for
   * MALFORMED_INFER_BACKOFF_MS. Returns true when it was.
   */
  private chargeMalformed (connection: Connection, err: any): boolean {
    const budget = this.ctx.malformedStreamBudget
    let bucket = this.malformed.get(connection)
    if (bucket == null) this.malformed.set(connection, bucket = { tokens: budget.burst, at: Date.now() })
    if (takeToken(bucket, budget, Date.now())) return false
    const penalize = this.ctx.admission.penalize
    if (penalize == null) return false
    this.ctx.log('%p opened more malformed infer streams than its budget (burst %d), refusing it - %s', connection.remotePeer, budget.burst, err?.message ?? err)
    penalize.call(this.ctx.admission, connection.remotePeer, 'ERR_INFER_MALFORMED', `malformed infer streams over the budget of ${budget.burst} (${String(err?.message ?? err)})`, MALFORMED_INFER_BACKOFF_MS)
    return true
  }

  /** A requester's control stream: configure the session, report ready or the error, then serve its frames. */
  private async serveControl (open: InferOpen, channel: InferChannel, remote: PeerId): Promise<void> {
    this.ctx.log('open %s for lease %s from %p', open.kind, open.leaseId, remote)
    const s = await this.sessionFor(open.leaseId)
    const lease = s.lease
    if (lease.requester !== remote.toString()) throw new InferenceError(`lease ${open.leaseId} belongs to another requester`)
    if (open.kind === 'data' && open.modelCid !== lease.modelCid) throw new InferenceError(`lease ${open.leaseId} is for model ${lease.modelCid}, not ${open.modelCid}`)
    this.endConfig(s, 'replaced by a new session')
    const constants = open.constants.byteLength > 0 ? decodeTensors(open.constants, this.ctx.maxInputBytes) : []
    // a later stage with no source is a spot check of that stage: the requester sends all of its inputs
    const later = open.kind === 'stage' && open.stage > 0 && open.source.byteLength > 0
    // a later stage joins the previous stage's activations with the batched graph inputs the requester sends, if any
    const sources = later ? (open.fromRequester.length > 0 ? ['previous', 'requester'] : ['previous']) : ['requester']
    const config: SessionConfig = {
      open,
      control: channel,
      constants,
      ready: Promise.resolve(),
      join: new StageJoin(sources, MAX_PENDING_JOIN),
      chain: Promise.resolve(),
      posting: Promise.resolve(),
      requesterInputs: sources.includes('requester'),
      lastSend: Promise.resolve(),
      upstreamMs: new Map(),
      ended: false
    }
    config.ready = this.prepare(config, remote)
    config.ready.catch(() => {})
    s.config = config
    for (const wake of s.waiters) wake()
    try {
      await config.ready
    } catch (err: any) {
      channel.send(errorFrame(err, undefined, open.stage))
      throw err
    }
    this.ctx.log('lease %s ready (model %s)', open.leaseId, open.modelCid)
    channel.send({ ready: {} })
    await this.serveFrames(s, config, channel, 'requester')
  }

  /** Model stored and loaded in a runner; for a middle stage, the next stage's stream open. */
  private async prepare (config: SessionConfig, requester: PeerId): Promise<void> {
    const open = config.open
    const models = this.ctx.models
    if (!models.store.has(open.modelCid)) {
      try {
        await models.fetch(open.modelCid, { from: requester })
      } catch (err: any) {
        // a model refused by validation or over the budget stays refused: another provider would send the same bytes
        if (err?.name === 'ModelTooLargeError' || err?.code === 'ERR_INVALID_MODEL' || err?.code === 'ERR_EXTERNAL_DATA' || err?.code === 'ERR_FORBIDDEN_OPERATOR') throw err
        await models.fetch(open.modelCid)
      }
    }
    const runtime = await this.ctx.runtime()
    await runtime.load(open.modelCid)
    if (open.kind === 'stage' && open.stage < open.stageCount - 1) {
      const delay = this.ctx.delayNextStage?.(open.stage) ?? 0
      if (delay > 0) await new Promise(resolve => setTimeout(resolve, delay))
      try {
        config.next = await this.openNext(open)
      } catch (err: any) {
        // the next stage's worker cannot be reached from here: another placement may do
        throw new SessionError(`stage ${open.stage} cannot open its stream to stage ${open.stage + 1}: ${err?.name ?? 'Error'}: ${err?.message ?? err}`)
      }
    }
  }

  /** A previous stage's feed stream: waits (bounded, no polling) for the requester to configure that stage. */
  private async serveFeed (open: InferOpen, channel: FrameSource, remote: PeerId): Promise<void> {
    const s = await this.sessionFor(open.leaseId)
    const fedBy = (c?: SessionConfig): boolean => {
      const source = c?.open.source
      return c?.open.kind === 'stage' && c.open.stage === open.stage && source != null && source.byteLength > 0 && peerIdFromMultihash(Digest.decode(source)).equals(remote)
    }
    if (!fedBy(s.config)) {
      await new Promise<void>((resolve, reject) => {
        const wake = (): void => { if (fedBy(s.config)) { clearTimeout(timer); s.waiters.delete(wake); resolve() } }
        const timer = setTimeout(() => { s.waiters.delete(wake); reject(new SessionError(`${remote} is not the stage that feeds lease ${open.leaseId} (stage ${open.stage})`)) }, FEED_WAIT_MS)
        s.waiters.add(wake)
      })
    }
    const config = s.config as SessionConfig
    await config.ready
    try {
      await this.serveFrames(s, config, new InferChannelView(channel, this.ctx.counters), 'previous')
    } catch (err: any) {
      // the feed broke (the previous stage's worker went away, or sent garbage): the requester hears it on the control stream
      if (s.config === config && !config.ended) config.control.send(errorFrame(new SessionError(`feed from stage ${open.stage - 1} (${remote.toString()}) failed: ${err?.message ?? err}`), undefined, open.stage))
      throw err
    }
  }

  private async openNext (open: InferOpen): Promise<FrameSink> {
    const feed: InferOpen = { ...open, leaseId: open.nextLeaseId, kind: 'feed', stage: open.stage + 1, next: new Uint8Array(), nextAddrs: [], nextLeaseId: '', source: new Uint8Array(), constants: new Uint8Array(), fromRequester: [] }
    return await openNextStage(this.ctx, open, feed, async (f, channel, remote) => { await this.serveFeed(f, channel, remote) })
  }

  /** Reads one stream's frames; each completed micro-batch runs on the session's chain. */
  private async serveFrames (s: WorkerSession, config: SessionConfig, channel: FrameSource, source: 'requester' | 'previous'): Promise<void> {
    while (true) {
      const m = await channel.next()
      if (m == null || config.ended) return
      if (m.finish != null) {
        // the last micro-batch's receipt and send are done before the lease ends
        await config.posting
        s.finished.resolve()
        return
      }
      if (m.data == null) continue
      const data = m.data
      if (source === 'requester' && !config.requesterInputs) throw new InferenceError(`stage ${config.open.stage} takes no micro-batches from the requester`)
      if (source === 'previous' && data.stageComputeMs.length > 0 && data.stageComputeMs.length <= config.open.stage && config.upstreamMs.size < MAX_PENDING_JOIN) config.upstreamMs.set(data.seq, data.stageComputeMs)
      this.ctx.log.trace('stage %d micro-batch %d: frame in from %s', config.open.stage, data.seq, source)
      const parts = config.join.add(data.seq, source, m.payload ?? [])
      if (parts == null) continue
      const inputs = [...(parts.get('previous') ?? []), ...(parts.get('requester') ?? [])]
      // micro-batch i runs while i − 1 is digested, signed and sent (the runner is another process, so the two
      // use two cores); i + 1 waits for both: one run and one send in flight, never more
      const previousPost = config.posting
      const ran = config.chain.then(async () => await this.runOne(s, config, data.seq, data.items, inputs))
      const done = Promise.all([ran, previousPost])
      config.posting = done.then(async ([post]) => { await post?.() }).catch(() => {})
      config.chain = done.then(() => {}, () => {})
      // the stream that completed a micro-batch waits for its run: back-pressure on the sender
      await ran.catch(() => {})
    }
  }

  /**
   * Runs one micro-batch; returns the step that digests, signs and sends its
   * outputs on (next stage) or back (result). Either reports a failure on
   * the control stream (then there is no step).
   */
  private async runOne (s: WorkerSession, config: SessionConfig, seq: number, items: number, inputs: WireTensor[]): Promise<(() => Promise<void>) | undefined> {
    if (config.ended) return
    const open = config.open
    const fail = (err: any): void => {
      this.ctx.log('lease %s micro-batch %d failed - %s', open.leaseId, seq, err?.message ?? err)
      if (!config.ended) config.control.send(errorFrame(err, seq, open.stage))
    }
    try {
      const runtime = await this.ctx.runtime()
      const names = this.ctx.models.store.info(open.modelCid).info.inputs.map(i => i.name)
      const feed = pick([...inputs, ...config.constants], names, `stage ${open.stage} micro-batch ${seq}`)
      const startedAt = Date.now()
      this.ctx.log.trace('stage %d micro-batch %d: run', open.stage, seq)
      const ran = await runtime.run(open.modelCid, feed)
      this.ctx.log.trace('stage %d micro-batch %d: ran, onnxruntime %d ms', open.stage, seq, ran.computeMs)
      const outputs = this.ctx.tamperOutputs?.(ran.outputs, open) ?? ran.outputs
      const bytes = outputs.reduce((a, t) => a + t.data.byteLength, 0)
      if (bytes > this.ctx.maxInputBytes && config.next != null) throw new MessageTooLargeError('stage output', bytes, this.ctx.maxInputBytes)
      s.items += items
      s.computeMs += ran.computeMs
      this.ctx.metrics?.workerCompute.observe(ran.computeMs / 1000)
      this.ctx.metrics?.workerMicroBatches.increment({ [open.kind === 'data' ? 'data' : 'stage']: true })
      return async () => { await this.postOne(s, config, seq, items, inputs, outputs, ran.computeMs, startedAt).catch(fail) }
    } catch (err: any) {
      fail(err)
    }
  }

  /** Digests, signs the receipt of and sends one micro-batch's outputs (see {@link runOne}). */
  private async postOne (s: WorkerSession, config: SessionConfig, seq: number, items: number, inputs: WireTensor[], outputs: WireTensor[], computeMs: number, startedAt: number): Promise<void> {
    if (config.ended) return
    const open = config.open
    const digests = { input: digestTensors(inputs), output: outputDigest(outputs) }
    s.digests.set(seq, digests)
    // each stage's time travels on with the micro-batch: the requester sizes micro-batches from them
    const stageComputeMs = [...(config.upstreamMs.get(seq) ?? []), computeMs]
    config.upstreamMs.delete(seq)
    const delay = this.ctx.delayMicroBatch?.(open) ?? 0
    if (delay > 0) await new Promise(resolve => setTimeout(resolve, delay))
    if (config.ended) return
    // the next run may start while this one's outputs are written; the one after waits for them (bounded buffering)
    await config.lastSend
    this.ctx.log.trace('stage %d micro-batch %d: digests done, sending', open.stage, seq)
    const sent = (): void => { this.ctx.log.trace('stage %d micro-batch %d: handed to the stream', open.stage, seq) }
    if (config.next != null) {
      // the requester pays every stage per micro-batch: a middle stage's receipt travels alone on its control stream, before the activations leave
      const receipt = await this.frameReceipt(s, config, seq, digests, items, computeMs, startedAt)
      if (config.ended) return
      if (receipt.byteLength > 0) config.control.send({ result: { seq, tensors: new Uint8Array(), computeMs, more: false, receipt, stageComputeMs: [] } }).catch(() => {})
      config.lastSend = config.next.send({ data: { seq, tensors: new Uint8Array(), more: false, items, stageComputeMs } }, outputs).then(sent, () => {})
    } else {
      const receipt = await this.frameReceipt(s, config, seq, digests, items, computeMs, startedAt)
      config.lastSend = config.control.send({ result: { seq, tensors: new Uint8Array(), computeMs, more: false, receipt, stageComputeMs: open.kind === 'stage' ? stageComputeMs : [] } }, outputs).then(sent, () => {})
    }
  }

  private endConfig (s: WorkerSession, why: string): void {
    const c = s.config
    if (c == null) return
    c.ended = true
    c.join.clear()
    c.upstreamMs.clear()
    c.control.abort(new Error(why))
    c.next?.abort(new Error(why))
    s.config = undefined
  }

  /**
   * A receipt for one micro-batch (job `<jobId>/mb/<seq>`, shard = the
   * stage, units = its items at the lease's price per item,
   * `microBatchPricePerItem`). The requester countersigns it once it
   * accepts the output: that is this worker's pay for the micro-batch,
   * whether or not the lease completes. It is also the evidence should a
   * spot check find this output in the minority.
   */
  private async frameReceipt (s: WorkerSession, config: SessionConfig, seq: number, digests: { input: Uint8Array, output: Uint8Array }, items: number, computeMs: number, startedAt: number): Promise<Uint8Array<ArrayBuffer>> {
    const ledger = this.ctx.ledger
    const lease = s.lease
    if (ledger == null) return new Uint8Array(0)
    const open = config.open
    const receipt = await ledger.signReceipt({
      jobId: microBatchJobId(lease.jobId, seq),
      shardIndex: open.kind === 'data' ? 0 : open.stage,
      replica: 0,
      requester: peerIdFromString(lease.requester),
      // the model it ran: a pipeline stage's own model
      modelCid: open.modelCid,
      inputDigest: digests.input,
      outputDigest: digests.output,
      computeMs: Math.round(computeMs),
      units: items,
      pricePerUnit: microBatchPricePerItem(lease, open.kind === 'data' ? 'data' : 'pipeline', open.jobItems),
      startedAt,
      finishedAt: Date.now(),
      leaseId: lease.leaseId
    })
    // presented again should the requester die before it countersigns (its settlement is resumed, or refused with why)
    ledger.followReceipt(receipt, microBatchJobId(lease.jobId, seq), lease.requester)
    return new Uint8Array(encodeReceipt(receipt))
  }
}
