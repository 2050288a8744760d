import { createHash } from 'node:crypto'
import { encodeReceipt, inputDigest, outputDigest } from '@fleetmesh/ledger'
import { decodeTensors, encodeTensorHeader, PbShardReturn } from '@fleetmesh/protocol'
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { ERROR_STREAM_LINGER_MS, FEED_WAIT_MS, HAND_BACK_FLUSH_MS, MAX_PENDING_JOIN } from './constants.js'
import { InferenceError, isRecoverable, SessionError } from './errors.js'
import { InferChannelView, InferChannel } from './infer-channel.js'
import { openNextStage } from './next-stage.js'
import { pick, StageJoin } from './pipeline-plan.js'
import { initialStateFor, tensorBytes } from './session-plan.js'
import type { FrameSink, FrameSource } from './infer-channel.js'
import type { Runtime, StatePair } from '@fleetmesh/runtime'
import type { WorkerContext } from './worker.js'
import type { WorkerLease } from '@fleetmesh/market'
import type { InferMessage, InferOpen, PbReceipt, WireTensor } from '@fleetmesh/protocol'
import type { PeerId } from '@libp2p/interface'

/**
 * The worker side of stateful sessions (`open.kind` `session` and
 * `session-feed` of the infer protocol): one session stage per lease. Each
 * step's state inputs come from what the stage kept after the step before
 * (or from the state `open` started it with); its state outputs stay in
 * the worker's runner process (`RunOptions.state`: no copy crosses even to
 * this process) and never leave the worker unless the requester asks for a
 * snapshot.
 * Bounded: sessions per worker, state bytes per stage, one step in flight
 * per session, and an idle timeout after which the worker frees the
 * stage and hands its lease back.
 */

/** A lease as the session worker holds it (worker.ts's lease session fits). */
export interface SessionLease {
  lease: WorkerLease
  /** resolves when the requester sends `finish`; rejecting it hands the lease back */
  finished: PromiseWithResolvers<void>
  /** set here: the lease handler's return once `finished` resolved */
  result?: () => Promise<Uint8Array>
  /** set here: called once when the lease ends, with why when it ended without `finish`; resolves once the stage's last frame (the error with its receipt) is sent */
  onEnd?: (why?: string) => Promise<void>
}

/** What the session worker needs: the worker's context, its session bounds, and the leases the market handed over. */
export interface SessionWorkerContext extends WorkerContext {
  /** stateful sessions served at once */
  maxSessions: number
  /** largest state one stage keeps, bytes */
  maxStateBytes: number
  /** a stage with no step for this long is freed, ms */
  idleTimeoutMs: number
  /** the lease session of a lease id, waiting (bounded) while the Accept and the stream race @throws SessionError */
  leaseFor: (leaseId: string) => Promise<SessionLease>
}

/** One configuration of a session stage by a requester's control stream (replaced when the requester rebuilds the pipeline). */
interface StageConfig {
  open: InferOpen
  control: InferChannel
  pairs: StatePair[]
  /** the outputs sent on each step, when the requester names them (else all but the state outputs) */
  sends?: string[]
  /** the state inputs the next step hands to the runner (the initial or restored state; empty once the runner keeps it) */
  state: WireTensor[]
  /** the runner's name for this configuration's state */
  stateKey: string
  /** bytes of the state the runner keeps */
  stateBytes: number
  constants: WireTensor[]
  /** the stage model's input names */
  inputNames: string[]
  /** joins the previous stage's activations with the requester's inputs, by step */
  join: StageJoin<{ tensors: WireTensor[], snapshot: boolean }>
  next?: FrameSink
  ready: Promise<void>
  /** the step expected next */
  nextStep: number
  running: boolean
  ended: boolean
  /** the last output frame handed to a channel */
  lastSend: Promise<void>
  /** resolves once the configuration ended and its control stream's last frames are written (bounded by HAND_BACK_FLUSH_MS) */
  closed: Promise<void>
}

/** A lease serving a session stage. */
interface SessionStage {
  lease: SessionLease
  config?: StageConfig
  /** steps run under this lease (replays included) */
  steps: number
  computeMs: number
  startedAt: number
  /** running sha2-256 over (step, digest of the inputs it received) and (step, output digest of the outputs it sent on; state tensors excluded) of every step run: the receipt's digests */
  inputs: ReturnType<typeof createHash>
  outputs: ReturnType<typeof createHash>
  idle?: ReturnType<typeof setTimeout>
  /** a receipt for the steps run went to the requester with the error that ends the lease (at most one) */
  handedBack?: boolean
}

function errorFrame (err: any, stage: number, seq?: number): InferMessage {
  return { error: { name: String(err?.name ?? 'Error'), code: String(err?.code ?? 'ERR_INFERENCE'), message: String(err?.message ?? err), seq, stage } }
}

function stepBytes (step: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, step)
  return b
}

export class SessionWorker {
  private readonly stages = new Map<string, SessionStage>()
  /** feeds waiting for their stage's configuration, by lease id (woken when one is in place) */
  private readonly configured = new Map<string, Set<() => void>>()
  /** numbers the configurations, for their runner state keys */
  private configs = 0
  /** the runner pool the steps ran on (its runners keep the states) */
  private runtime?: Runtime

  constructor (private readonly ctx: SessionWorkerContext) {}

  /** session stages served now */
  get size (): number { return this.stages.size }

  /** bytes of state the stages hold now */
  get stateBytes (): number {
    let n = 0
    for (const s of this.stages.values()) n += s.config == null ? 0 : s.config.stateBytes + tensorBytes(s.config.state)
    return n
  }

  stop (): void {
    for (const s of [...this.stages.values()]) this.free(s, 'the worker is stopping')
  }

  /** Serves a `session` control stream or a `session-feed` stream whose first frame was `open`. */
  async serve (open: InferOpen, channel: InferChannel, remote: PeerId): Promise<void> {
    if (open.kind === 'session-feed') await this.serveFeed(open, new InferChannelView(channel, this.ctx.counters), remote)
    else await this.serveControl(open, channel, remote)
  }

  private async serveControl (open: InferOpen, control: InferChannel, remote: PeerId): Promise<void> {
    const held = await this.ctx.leaseFor(open.leaseId)
    if (held.lease.requester !== remote.toString()) throw new InferenceError(`lease ${open.leaseId} belongs to another requester`)
    let s = this.stages.get(open.leaseId)
    if (s == null) {
      if (this.stages.size >= this.ctx.maxSessions) throw new SessionError(`this worker already serves ${this.stages.size} sessions, its most`, { code: 'ERR_SESSION_LIMIT', stage: open.stage })
      s = { lease: held, steps: 0, computeMs: 0, startedAt: Date.now(), inputs: createHash('sha256'), outputs: createHash('sha256') }
      const stage = s
      this.stages.set(open.leaseId, stage)
      held.result = async () => this.leaseReturn(stage)
      held.onEnd = async (why) => {
        if (why == null) this.free(stage)
        else await this.handBack(stage, new SessionError(`session stage handed back: ${why}`, { code: 'ERR_SESSION', stage: stage.config?.open.stage }))
      }
    }
    this.endConfig(s, 'replaced by a new session configuration')
    const config: StageConfig = {
      open,
      control,
      pairs: (open.session?.state ?? []).map(p => ({ output: p.output, input: p.input })),
      sends: open.session != null && open.session.sends.length > 0 ? open.session.sends : undefined,
      state: [],
      stateKey: `${open.leaseId}/${++this.configs}`,
      stateBytes: 0,
      constants: open.constants.byteLength > 0 ? decodeTensors(open.constants, this.ctx.maxInputBytes) : [],
      inputNames: [],
      join: new StageJoin(open.stage > 0 ? (open.fromRequester.length > 0 ? ['previous', 'requester'] : ['previous']) : ['requester'], MAX_PENDING_JOIN),
      ready: Promise.resolve(),
      nextStep: open.session?.firstStep ?? 0,
      running: false,
      ended: false,
      lastSend: Promise.resolve(),
      closed: Promise.resolve()
    }
    config.ready = this.prepare(config, remote)
    config.ready.catch(() => {})
    s.config = config
    this.touch(s)
    for (const wake of [...this.configured.get(open.leaseId) ?? []]) wake()
    try {
      await config.ready
    } catch (err: any) {
      if (s.config === config) this.endConfig(s, 'preparation failed', false)
      control.send(errorFrame(err, open.stage))
      throw err
    }
    control.send({ ready: {} })
    try {
      await this.serveFrames(s, config, control, 'requester')
    } finally {
      // the requester dropped this configuration (a rebuild, a close): its state goes with it
      if (s.config === config) this.endConfig(s, 'control stream ended')
    }
  }

  /** Model fetched and loaded, state pairs checked, initial state in place, next stage's feed open. */
  private async prepare (config: StageConfig, requester: PeerId): Promise<void> {
    const open = config.open
    // the state to start from is the control stream's next frame
    const given = open.session?.stateFollows === true ? this.readState(config) : Promise.resolve([])
    given.catch(() => {})
    const models = this.ctx.models
    if (!models.store.has(open.modelCid)) {
      try {
        await models.fetch(open.modelCid, { from: requester })
      } catch (err: any) {
        if (err?.name === 'ModelTooLargeError' || err?.code === 'ERR_INVALID_MODEL' || err?.code === 'ERR_EXTERNAL_DATA' || err?.code === 'ERR_FORBIDDEN_OPERATOR') throw err
        await models.fetch(open.modelCid)
      }
    }
    const info = models.store.info(open.modelCid).info
    config.inputNames = info.inputs.map(i => i.name)
    for (const p of config.pairs) {
      if (!config.inputNames.includes(p.input)) throw new SessionError(`stage ${open.stage}: state input "${p.input}" is not an input of its model`, { code: 'ERR_SESSION_STATE', stage: open.stage })
      if (!info.outputs.some(o => o.name === p.output)) throw new SessionError(`stage ${open.stage}: state output "${p.output}" is not an output of its model`, { code: 'ERR_SESSION_STATE', stage: open.stage })
    }
    config.state = initialStateFor(config.pairs, info.inputs, await given)
    this.checkStateBytes(config)
    const runtime = await this.ctx.runtime()
    await runtime.load(open.modelCid)
    if (open.stage < open.stageCount - 1) {
      try {
        config.next = await this.openNext(open)
      } catch (err: any) {
        throw new SessionError(`stage ${open.stage} cannot open its stream to stage ${open.stage + 1}: ${err?.name ?? 'Error'}: ${err?.message ?? err}`, { stage: open.stage })
      }
    }
  }

  private async openNext (open: InferOpen): Promise<FrameSink> {
    const feed: InferOpen = { ...open, leaseId: open.nextLeaseId, kind: 'session-feed', stage: open.stage + 1, next: new Uint8Array(), nextAddrs: [], nextLeaseId: '', source: new Uint8Array(), constants: new Uint8Array(), fromRequester: [], session: undefined }
    return await openNextStage(this.ctx, open, feed, async (f, channel, remote) => { await this.serveFeed(f, channel, remote) }, this.ctx.maxInputBytes + 4096)
  }

  /** The `snapshot` frame that follows `open`: the state this configuration starts from. @throws SessionError ERR_SESSION_STATE */
  private async readState (config: StageConfig): Promise<WireTensor[]> {
    const m = await config.control.next()
    if (m?.snapshot == null) throw new SessionError(`stage ${config.open.stage}: open said its state follows, the next frame is not a snapshot`, { code: 'ERR_SESSION_STATE', stage: config.open.stage })
    return m.payload ?? []
  }

  /** The previous stage's feed: waits (bounded) for the requester to configure this stage with that source. */
  private async serveFeed (open: InferOpen, channel: FrameSource, remote: PeerId): Promise<void> {
    const held = await this.ctx.leaseFor(open.leaseId)
    const fedBy = (c?: StageConfig): boolean => {
      const source = c?.open.source
      return c != null && !c.ended && c.open.stage === open.stage && source != null && source.byteLength > 0 && peerIdFromMultihash(Digest.decode(source)).equals(remote)
    }
    const current = (): SessionStage | undefined => {
      const s = this.stages.get(open.leaseId)
      return s?.lease === held ? s : undefined
    }
    if (!fedBy(current()?.config)) {
      await new Promise<void>((resolve, reject) => {
        let waiters = this.configured.get(open.leaseId)
        if (waiters == null) { waiters = new Set(); this.configured.set(open.leaseId, waiters) }
        const done = (): void => {
          clearTimeout(timer)
          waiters.delete(wake)
          if (waiters.size === 0) this.configured.delete(open.leaseId)
        }
        const wake = (): void => { if (fedBy(current()?.config)) { done(); resolve() } }
        const timer = setTimeout(() => { done(); reject(new SessionError(`${remote.toString()} is not the stage that feeds session lease ${open.leaseId} (stage ${open.stage})`, { stage: open.stage })) }, FEED_WAIT_MS)
        waiters.add(wake)
      })
    }
    const s = current() as SessionStage
    const config = s.config as StageConfig
    await config.ready
    try {
      await this.serveFrames(s, config, channel, 'previous')
    } catch (err: any) {
      // the previous stage's worker went away, or sent garbage: the requester, not this stage, finds out which
      if (s.config === config && !config.ended) config.control.send(errorFrame(new SessionError(`feed from stage ${open.stage - 1} (${remote.toString()}) failed: ${err?.message ?? err}`, { code: 'ERR_SESSION_FEED', stage: open.stage }), open.stage))
      throw err
    }
  }

  /** Reads one stream's frames; a step runs once its every part is in. */
  private async serveFrames (s: SessionStage, config: StageConfig, channel: FrameSource, source: 'requester' | 'previous'): Promise<void> {
    while (true) {
      const m = await channel.next()
      if (m == null) return
      if (m.finish != null) { s.lease.finished.resolve(); return }
      // a configuration ended by this worker (state too large) still hears `finish` on its control stream
      if (config.ended) { if (source === 'requester' && s.config == null) continue; return }
      if (m.data == null) continue
      const data = m.data
      const parts = config.join.add(data.seq, source, { tensors: m.payload ?? [], snapshot: data.snapshot === true })
      if (parts == null) continue
      const inputs = [...(parts.get('previous')?.tensors ?? []), ...(parts.get('requester')?.tensors ?? [])]
      const snapshot = [...parts.values()].some(p => p.snapshot)
      await this.runStep(s, config, data.seq, inputs, snapshot)
    }
  }

  /** Runs one step: state in, state kept, the other outputs sent on (next stage) or back (result); a failure goes to the control stream. */
  private async runStep (s: SessionStage, config: StageConfig, seq: number, inputs: WireTensor[], snapshot: boolean): Promise<void> {
    const open = config.open
    if (config.ended) return
    try {
      if (config.running) throw new SessionError(`stage ${open.stage}: step ${seq} arrived while a step still runs (one step in flight per session)`, { code: 'ERR_SESSION_BUSY', stage: open.stage })
      if (seq !== config.nextStep) throw new SessionError(`stage ${open.stage}: step ${seq} arrived, step ${config.nextStep} was expected`, { code: 'ERR_SESSION_STEP', stage: open.stage })
      config.running = true
      this.touch(s)
      const runtime = this.runtime = await this.ctx.runtime()
      // the state inputs come from the runner, which kept them from the step before, unless this configuration just started from a given state
      const kept = config.state.length === 0
      const names = kept ? config.inputNames.filter(n => !config.pairs.some(p => p.input === n)) : config.inputNames
      const feed = pick([...inputs, ...config.state, ...config.constants], names, `session stage ${open.stage} step ${seq}`)
      const startedAt = Date.now()
      const returned = snapshot ? config.pairs.map(p => p.output) : config.pairs.map(p => p.output).filter(o => config.sends?.includes(o) === true)
      const ran = await runtime.run(open.modelCid, feed, { state: { key: config.stateKey, pairs: config.pairs, returnOutputs: returned } })
      if (config.ended) return
      config.state = []
      config.stateBytes = ran.stateBytes ?? 0
      const outputs = this.ctx.tamperOutputs?.(ran.outputs, open) ?? ran.outputs
      const state = snapshot
        ? config.pairs.map(p => {
          const t = outputs.find(o => o.name === p.output)
          if (t == null) throw new SessionError(`stage ${open.stage}: the model gave no state output "${p.output}"`, { code: 'ERR_SESSION_STATE', stage: open.stage })
          return { ...t, name: p.input }
        })
        : []
      const sends = config.sends != null ? pick(outputs, config.sends, `session stage ${open.stage} step ${seq} outputs`) : outputs.filter(o => !config.pairs.some(p => p.output === o.name))
      this.checkStateBytes(config)
      const bytes = tensorBytes(sends)
      if (bytes > this.ctx.maxInputBytes) throw new InferenceError(`stage ${open.stage}: step ${seq} outputs are ${bytes} bytes, over this worker's limit of ${this.ctx.maxInputBytes}`)
      config.nextStep = seq + 1
      await config.lastSend
      if (config.ended) return
      // the outputs go first: the receipt's accounting below is off the step's path
      if (config.next != null) {
        config.lastSend = config.next.send({ data: { seq, tensors: new Uint8Array(), more: false, items: 1, snapshot, stageComputeMs: [] } }, sends).catch(() => {})
      } else {
        config.lastSend = config.control.send({ result: { seq, tensors: new Uint8Array(), computeMs: ran.computeMs, more: false, receipt: new Uint8Array(), stageComputeMs: [] } }, sends).catch(() => {})
      }
      s.steps++
      s.computeMs += ran.computeMs
      // the state is a deterministic function of the initial state and the steps' inputs, so the receipt
      // digests cover what crossed the wire (the step's inputs, the outputs sent on), not the KV cache:
      // quantising a 0.6 MB cache for outputDigest cost 3-11 ms a step, several times the step itself
      s.inputs.update(stepBytes(seq)).update(digestTensors(inputs))
      s.outputs.update(stepBytes(seq)).update(outputDigest(sends))
      this.ctx.metrics?.workerCompute.observe(ran.computeMs / 1000)
      this.ctx.metrics?.workerMicroBatches.increment({ stage: true })
      // a state over this worker's frame limit is not sent (the requester then keeps replaying from an older snapshot)
      if (snapshot && tensorBytes(state) <= this.ctx.maxInputBytes) void config.control.send({ snapshot: { step: seq, tensors: new Uint8Array() } }, state).catch(() => {})
      this.ctx.log.trace('session lease %s stage %d step %d in %d ms (started %d)', open.leaseId, open.stage, seq, ran.computeMs, startedAt)
    } catch (err: any) {
      this.ctx.log('session lease %s stage %d step %d failed - %s', open.leaseId, open.stage, seq, err?.message ?? err)
      // the requester releases this lease for a recoverable error (a broken feed rebuilds the session instead): the error carries the pay for the steps run
      if (isRecoverable(String(err?.code)) && err?.code !== 'ERR_SESSION_FEED') this.sendWithReceipt(s, config, err, seq)
      else if (!config.ended) config.control.send(errorFrame(err, open.stage, seq))
      if (err?.code === 'ERR_SESSION_STATE_TOO_LARGE') this.endConfig(s, 'state too large', false)
    } finally {
      config.running = false
      this.touch(s)
    }
  }

  /** @throws SessionError ERR_SESSION_STATE_TOO_LARGE */
  private checkStateBytes (config: StageConfig): void {
    const bytes = config.stateBytes + tensorBytes(config.state)
    if (bytes > this.ctx.maxStateBytes) throw new SessionError(`stage ${config.open.stage}: the session's state is ${bytes} bytes, over this worker's limit of ${this.ctx.maxStateBytes} bytes`, { code: 'ERR_SESSION_STATE_TOO_LARGE', stage: config.open.stage })
  }

  /** Restarts the stage's idle timer. */
  private touch (s: SessionStage): void {
    clearTimeout(s.idle)
    s.idle = setTimeout(() => { this.expire(s) }, this.ctx.idleTimeoutMs)
    s.idle.unref?.()
  }

  /** No step for the idle timeout: the state is freed and the lease handed back, with the reason on the control stream. */
  private expire (s: SessionStage): void {
    if (s.config?.running === true) { this.touch(s); return }
    const err = new SessionError(`session stage freed: no step for ${this.ctx.idleTimeoutMs} ms`, { code: 'ERR_SESSION_IDLE', stage: s.config?.open.stage })
    this.ctx.log('session lease %s idle for %d ms: freed', s.lease.lease.leaseId, this.ctx.idleTimeoutMs)
    this.handBack(s, err)
    s.lease.finished.reject(err)
  }

  /**
   * The stage's lease ends without `finish` (freed here, released after a
   * recoverable error, drained, cancelled): the error that ends it goes to
   * the requester with a receipt for the steps run, so they are paid
   * (the lease's return, which would carry it, never reaches the
   * requester). Then the stage is freed; resolves once the frame is
   * sent and the control stream closed (or after HAND_BACK_FLUSH_MS).
   */
  private async handBack (s: SessionStage, err: SessionError): Promise<void> {
    const c = s.config
    if (c != null) this.sendWithReceipt(s, c, err)
    this.free(s)
    if (c != null) await c.closed
  }

  /** Sends `err` on the control stream with a receipt for the steps run (once per lease; the receipt only where a ledger signs one and a step ran). */
  private sendWithReceipt (s: SessionStage, config: StageConfig, err: any, seq?: number): void {
    if (config.ended) return
    const frame = errorFrame(err, config.open.stage, seq)
    const first = s.handedBack !== true
    s.handedBack = true
    const sent = config.lastSend.then(async () => {
      const receipt = first ? await this.receiptOf(s) : undefined
      if (receipt != null && frame.error != null) frame.error.receipt = encodeReceipt(receipt) as Uint8Array<ArrayBuffer>
      await config.control.send(frame)
    }).catch((e: any) => { this.ctx.log('session lease %s: error frame not sent - %s', s.lease.lease.leaseId, e?.message ?? e) })
    config.lastSend = sent
  }

  /** Forgets a stage: its state, its configuration, its timer. */
  private free (s: SessionStage, why = 'lease over'): void {
    clearTimeout(s.idle)
    this.endConfig(s, why)
    if (this.stages.get(s.lease.lease.leaseId) === s) this.stages.delete(s.lease.lease.leaseId)
  }

  private endConfig (s: SessionStage, why: string, abortControl = true): void {
    const c = s.config
    if (c == null) return
    c.ended = true
    c.join.clear()
    c.state = []
    c.stateBytes = 0
    // the runner may forget the state
    this.runtime?.dropState(c.stateKey)
    if (abortControl) c.closed = closeControl(c.control, c.lastSend, why)
    c.next?.abort(new Error(why))
    s.config = undefined
  }

  /**
   * The lease handler's return for a session lease: a ShardReturn whose
   * receipt counts the steps this worker ran (units; replays included),
   * input digest = sha2-256 over each step's (index, input digest), output
   * digest likewise over the output digests. Without a ledger, or with no
   * step run, only the JSON summary `{ steps, computeMs }`.
   */
  private async leaseReturn (s: SessionStage): Promise<Uint8Array> {
    const summary = new TextEncoder().encode(JSON.stringify({ steps: s.steps, computeMs: Math.round(s.computeMs) }))
    const receipt = await this.receiptOf(s)
    if (receipt == null) return summary
    return PbShardReturn.encode({ receipt, output: summary })
  }

  /** A receipt for the steps the stage ran under its lease (see {@link leaseReturn}); undefined without a ledger or a step. */
  private async receiptOf (s: SessionStage): Promise<PbReceipt | undefined> {
    const lease = s.lease.lease
    const ledger = this.ctx.ledger
    if (ledger == null || s.steps === 0) return undefined
    return ledger.signReceipt({
      jobId: lease.jobId,
      shardIndex: lease.shardIndex,
      replica: lease.replica,
      requester: peerIdFromString(lease.requester),
      modelCid: lease.modelCid,
      inputDigest: new Uint8Array(s.inputs.digest()),
      outputDigest: new Uint8Array(s.outputs.digest()),
      computeMs: Math.round(s.computeMs),
      units: s.steps,
      pricePerUnit: lease.pricePerUnit,
      startedAt: s.startedAt,
      finishedAt: Date.now(),
      leaseId: lease.leaseId
    })
  }
}

/**
 * Ends a control stream whose configuration ended: the frames queued on it
 * (the error carrying a receipt) are written and our side closed, not
 * reset (a reset may drop what the requester has not read yet), within
 * HAND_BACK_FLUSH_MS; a requester that keeps its side open longer than
 * ERROR_STREAM_LINGER_MS after that is reset.
 */
async function closeControl (control: InferChannel, lastSend: Promise<void>, why: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const flushed = lastSend.then(async () => { await control.close() }).then(() => true, () => false)
  const ok = await Promise.race([flushed, new Promise<boolean>(resolve => { timer = setTimeout(() => { resolve(false) }, HAND_BACK_FLUSH_MS) })])
  clearTimeout(timer)
  if (!ok) { control.abort(new Error(why)); return }
  setTimeout(() => { control.abort(new Error(why)) }, ERROR_STREAM_LINGER_MS).unref?.()
}

/** sha2-256 over a step's tensor header and bytes. */
function digestTensors (tensors: WireTensor[]): Uint8Array {
  const { header, payload } = encodeTensorHeader(tensors, Number.MAX_SAFE_INTEGER)
  return inputDigest(header, ...payload)
}
