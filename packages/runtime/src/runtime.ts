import { fork } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { checkTensor } from '@fleetmesh/protocol'
import { DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_RUN_TIMEOUT_MS, MAX_RUNNER_STATES, RUNNER_STOP_GRACE_MS } from './constants.js'
import { InferenceError, OutputTooLargeError, RunnerCrashedError, RunnerTimeoutError, RuntimeStoppedError } from './errors.js'
import { sweepStaleExchanges, TensorExchange } from './tensor-channel.js'
import type { ModelStore } from './store.js'
import type { TensorEntry } from './tensor-channel.js'
import type { RunnerConfig, RunnerReply, RunnerRequest } from './runner-types.js'
import type { WireTensor } from '@fleetmesh/protocol'
import type { ChildProcess } from 'node:child_process'
import type { Socket } from 'node:net'

export { DEFAULT_RUN_TIMEOUT_MS }

/**
 * Isolated inference: onnxruntime runs in a small pool of runner child
 * processes, never in the node's own process. A call whose runner dies
 * (crash, SIGKILL, out of memory) fails with RunnerCrashedError, a call past
 * its timeout kills its runner and fails with RunnerTimeoutError; either
 * way a fresh runner takes the dead one's place and the node keeps serving.
 */

/** Options of {@link createRuntime}. Plain data plus the store. */
export interface RuntimeInit {
  /** where models come from: runners load only validated, stored models by CID */
  store: ModelStore
  /** runner processes @default 1 */
  runners?: number
  /** onnxruntime intra-op threads per runner; 0 lets onnxruntime choose (all cores) @default 0 */
  intraOpNumThreads?: number
  /** sessions cached per runner (LRU by model CID) @default 4 */
  maxSessions?: number
  /**
   * Node.js options of each runner process, e.g. `['--max-old-space-size=1024']`
   * to bound a runner's heap, or `['--cpu-prof', '--cpu-prof-dir=DIR']` to
   * profile the runners (an idle runner exits cleanly on stop, writing its
   * profile) @default []
   */
  runnerExecArgv?: string[]
  /** default time one call may take before its runner is killed, ms @default DEFAULT_RUN_TIMEOUT_MS (60000) */
  timeoutMs?: number
  /**
   * default most bytes the outputs of one call may hold together; the
   * runner refuses a call over it with OutputTooLargeError before any
   * output reaches the node @default DEFAULT_MAX_OUTPUT_BYTES (64 MiB)
   */
  maxOutputBytes?: number
}

/** Options of one call. */
export interface RunOptions {
  /** ms; overrides the runtime's default */
  timeoutMs?: number
  /** bytes the call's outputs may hold together; overrides the runtime's default */
  maxOutputBytes?: number
  signal?: AbortSignal
  /** a stateful call: its state stays in the runner between calls (see {@link RunState}) */
  state?: RunState
}

/**
 * A stateful call (a session stage's step): each pair's output is kept in
 * the runner under `key` and fed back as the pair's input at the key's
 * next call, so the state (a KV cache) never crosses to the node. A call
 * that gives a pair's input (the first step, a restored snapshot) replaces
 * what is kept. Every call of a key runs on the runner that keeps it; if
 * that runner was replaced (a crash, a timeout), a call that does not give
 * the state fails with RunnerCrashedError. {@link Runtime.dropState} frees a key.
 */
export interface RunState {
  /** the state's name, unique per session stage and configuration */
  key: string
  /** each output fed back as the input at the next call */
  pairs: Array<{ output: string, input: string }>
  /** the state outputs also returned (a snapshot, or a state output the next stage reads) @default none */
  returnOutputs?: string[]
}

/** Result of a call. */
export interface RunResult {
  outputs: WireTensor[]
  /** onnxruntime run time inside the runner, ms */
  computeMs: number
  /** wall time of the call as seen by the node (queueing, IPC, compute), ms */
  wallMs: number
  /** a stateful call: bytes of the state the runner now keeps for its key */
  stateBytes?: number
}

/** Events of a runtime. */
export interface RuntimeEvents {
  /** a runner exited; `reason` is 'crash', 'timeout' or 'stop' */
  'runner:exit': [{ pid: number | undefined, reason: string, code: number | null, signal: string | null }]
  /** a new runner process is up */
  'runner:start': [{ pid: number | undefined }]
}

interface Call {
  req: RunnerRequest
  resolve: (r: RunnerReply) => void
  reject: (e: Error) => void
  timer?: ReturnType<typeof setTimeout>
  timeoutMs: number
  signal?: AbortSignal
  cid?: string
  /** a stateful call's key: it runs on the runner that keeps it */
  stateKey?: string
}

/**
 * Outputs of at least this many bytes are read into a buffer allocated and
 * touched while the runner computes (the node is idle then): reading into
 * fresh memory costs ~5x a copy into pages already mapped (400 KB: 0.15 ms
 * against 0.02 ms here). Smaller buffers come from the heap, already mapped.
 */
const SPARE_MIN_BYTES = 64 * 1024
const PAGE_BYTES = 4096

class Runner {
  child: ChildProcess
  /** socket pair for run requests (fd 4 in the runner) */
  data: Socket
  /** this runner's private tmpfs files for tensors */
  readonly exchange: TensorExchange
  busy?: Call
  ready: Promise<void>
  loaded = new Set<string>()
  dead = false
  private nextId = 1
  /** state keys to tell the runner it may forget, sent with the next run request */
  drops: string[] = []
  /** an output buffer faulted in ahead of the reply, sized like the last reply */
  private spare?: ArrayBuffer
  private lastOutputBytes = 0

  constructor (private readonly pool: Runtime, config: RunnerConfig, execArgv: string[]) {
    this.exchange = TensorExchange.create()
    this.child = fork(new URL('./runner-process.js', import.meta.url), [this.exchange.dir, JSON.stringify(config)], {
      serialization: 'advanced',
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe']
    })
    this.data = this.child.stdio[4] as Socket
    this.data.on('error', () => {}) // a dead runner is handled by its exit event
    this.exchange.receive(this.data, {
      buffer: (size, fields, entries) => this.outputBuffer(size, fields.id, entries),
      message: (fields, outputs) => { this.onReply({ ...(fields as RunnerReply), outputs }) },
      refused: (fields, err) => { this.onRefused(fields.id, err) },
      error: () => { this.child.kill('SIGKILL') } // a runner that speaks garbage is replaced
    })
    const { promise, resolve, reject } = Promise.withResolvers<void>()
    this.ready = promise
    this.ready.catch(() => {})
    this.child.on('message', (reply: RunnerReply) => {
      if (reply.ready === true) { resolve(); return }
      this.onReply(reply)
    })
    this.child.once('exit', (code, signal) => {
      this.dead = true
      this.exchange.remove()
      this.spare = undefined
      reject(new RunnerCrashedError(`runner exited (code ${code}, signal ${signal}) before it was ready`))
      const call = this.busy
      if (call != null) {
        this.finish(call)
        call.reject(new RunnerCrashedError(`runner ${this.child.pid} died during the call (code ${code}, signal ${signal}); the model or its inputs crashed onnxruntime`))
      }
      this.pool.onRunnerExit(this, code, signal)
    })
  }

  id (): number { return this.nextId++ }

  private onReply (reply: RunnerReply): void {
    const call = this.busy
    if (call == null || (call.req.id !== reply.id)) return
    this.finish(call)
    call.resolve(reply)
  }

  private onRefused (id: number, err: Error): void {
    const call = this.busy
    if (call == null || call.req.id !== id) return
    this.finish(call)
    call.reject(err.name === 'OutputTooLargeError' ? err : new InferenceError(`runner ${this.child.pid} sent outputs the node cannot read: ${err.message}`))
  }

  /**
   * The buffer a reply's outputs are read into: never more than the call's
   * limit, whatever the runner announces.
   *
   * @throws OutputTooLargeError if the outputs are over the call's maxOutputBytes
   */
  private outputBuffer (size: number, id: number, entries: readonly TensorEntry[]): ArrayBuffer {
    const call = this.busy
    if (call == null || call.req.id !== id) throw new InferenceError(`reply ${id} belongs to no call`)
    const limit = call.req.type === 'run' ? call.req.maxOutputBytes : 0
    let total = 0
    for (const e of entries) {
      total += e.bytes
      if (total > limit) throw new OutputTooLargeError(`output "${e.name}" (${e.dtype} [${e.dims.join(', ')}]) is ${e.bytes} bytes, taking the call's outputs to ${total} bytes, over its maxOutputBytes of ${limit}`, e.name, e.bytes, limit)
    }
    this.lastOutputBytes = size
    const spare = this.spare
    this.spare = undefined
    if (spare != null && spare.byteLength >= size && spare.byteLength <= 2 * size) return spare
    return new ArrayBuffer(size)
  }

  /** Allocates and faults in a buffer for the coming reply (called while the runner computes). */
  private prepareSpare (limit: number): void {
    const size = this.lastOutputBytes
    if (size < SPARE_MIN_BYTES || size > limit || this.spare?.byteLength === size) return
    this.spare = new ArrayBuffer(size)
    const pages = new Uint8Array(this.spare)
    for (let i = 0; i < size; i += PAGE_BYTES) pages[i] = 0
  }

  start (call: Call): void {
    this.busy = call
    call.timer = setTimeout(() => {
      if (this.busy !== call) return
      // no call may land on this runner between the kill and its exit event
      this.dead = true
      this.finish(call)
      this.pool.killedForTimeout.add(this)
      this.child.kill('SIGKILL')
      call.reject(new RunnerTimeoutError(`call did not finish within ${call.timeoutMs} ms; its runner was killed and replaced`))
    }, call.timeoutMs)
    if (call.req.type === 'run') {
      const { inputs, type: _type, ...fields } = call.req
      if (this.drops.length > 0) fields.drop = this.drops.splice(0)
      const limit = fields.maxOutputBytes
      this.exchange.send(this.data, 'in', fields, inputs).then(() => { this.prepareSpare(limit) }, (err: Error) => {
        if (this.busy !== call) return
        this.finish(call)
        call.reject(new InferenceError(`cannot hand the inputs to runner ${this.child.pid}: ${err.message}`))
      })
    } else {
      this.child.send(call.req)
    }
  }

  private finish (call: Call): void {
    clearTimeout(call.timer)
    if (this.busy === call) this.busy = undefined
    queueMicrotask(() => { this.pool.dispatch() })
  }
}

/** The runner pool. Create with {@link createRuntime}. */
export class Runtime extends EventEmitter<RuntimeEvents> {
  readonly store: ModelStore
  readonly killedForTimeout = new Set<Runner>()
  private readonly size: number
  private readonly threads: number
  private readonly maxSessions: number
  private readonly timeoutMs: number
  private readonly maxOutputBytes: number
  private readonly execArgv: string[]
  private readonly pool: Runner[] = []
  private readonly queue: Call[] = []
  /** the runner that keeps each stateful call's state, by key (bounded: MAX_RUNNER_STATES per runner) */
  private readonly stateRunners = new Map<string, Runner>()
  private stopped = false

  constructor (init: RuntimeInit) {
    super()
    this.store = init.store
    this.size = Math.max(1, init.runners ?? 1)
    this.threads = init.intraOpNumThreads ?? 0
    this.maxSessions = init.maxSessions ?? 4
    this.timeoutMs = init.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS
    this.maxOutputBytes = checkByteLimit(init.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES)
    this.execArgv = [...(init.runnerExecArgv ?? [])]
  }

  /** Starts the runner processes and waits until they are ready; first removes the exchange directories of nodes that died with their runners (sweepStaleExchanges). */
  async start (): Promise<void> {
    sweepStaleExchanges()
    for (let i = 0; i < this.size; i++) this.spawn()
    await Promise.all(this.pool.map(async r => r.ready))
  }

  /**
   * Stops every runner: an idle one is asked to exit (it closes its IPC
   * channel and exits cleanly within RUNNER_STOP_GRACE_MS, else it is
   * killed), a busy one is killed with SIGKILL at once. Queued calls fail
   * with RuntimeStoppedError, a call in flight with RunnerCrashedError.
   */
  async stop (): Promise<void> {
    this.stopped = true
    for (const call of this.queue.splice(0)) call.reject(new RuntimeStoppedError('runtime stopped'))
    await Promise.all(this.pool.map(async r => {
      if (r.dead) return
      const exited = new Promise(resolve => r.child.once('exit', resolve))
      if (r.busy == null && r.child.connected) {
        r.child.disconnect()
        const timer = setTimeout(() => r.child.kill('SIGKILL'), RUNNER_STOP_GRACE_MS)
        await exited
        clearTimeout(timer)
        return
      }
      r.child.kill('SIGKILL')
      await exited
    }))
    this.pool.length = 0
  }

  /** PIDs of the live runner processes. */
  runnerPids (): number[] {
    return this.pool.filter(r => !r.dead).map(r => r.child.pid as number)
  }

  /**
   * Loads a stored model into a runner's session cache, optionally running
   * warm-up inputs once (the first run of a session is slower).
   *
   * @throws ModelNotFoundError, InferenceError, RunnerCrashedError, RunnerTimeoutError
   */
  async load (cid: string, warmup?: WireTensor[], options: RunOptions = {}): Promise<void> {
    const path = this.store.path(cid)
    const reply = await this.call({ id: 0, type: 'load', cid, path, warmup }, options, cid)
    if (!reply.ok) throw new InferenceError(`loading ${cid} failed: ${reply.error?.message ?? 'unknown error'}`)
  }

  /**
   * Runs a stored model on named input tensors.
   *
   * @returns outputs in the model's output order, views of one buffer the caller owns
   * @throws ModelNotFoundError if the CID is not stored
   * @throws InvalidTensorError if an input's data does not fit its dtype and shape
   * @throws InferenceError if onnxruntime refuses the inputs (names, dtypes, shapes) or fails
   * @throws OutputTooLargeError if the outputs hold more than `maxOutputBytes` together (checked in the runner; the runner keeps serving)
   * @throws RangeError if `maxOutputBytes` is not a non-negative integer
   * @throws RunnerCrashedError, RunnerTimeoutError, RuntimeStoppedError
   */
  async run (cid: string, inputs: WireTensor[], options: RunOptions = {}): Promise<RunResult> {
    for (const t of inputs) checkTensor(t)
    const maxOutputBytes = checkByteLimit(options.maxOutputBytes ?? this.maxOutputBytes)
    const path = this.store.path(cid)
    const start = performance.now()
    const st = options.state
    const state = st != null ? { key: st.key, pairs: st.pairs.map(p => ({ output: p.output, input: p.input })), omit: st.pairs.map(p => p.output).filter(o => !(st.returnOutputs ?? []).includes(o)) } : undefined
    const reply = await this.call({ id: 0, type: 'run', cid, path, inputs, maxOutputBytes, state }, options, cid)
    if (!reply.ok) {
      const e = reply.error
      if (e?.name === 'OutputTooLargeError') throw new OutputTooLargeError(`running ${cid}: ${e.message}`, e.output ?? '', e.size ?? 0, maxOutputBytes)
      if (e?.name === 'StateLostError') throw new RunnerCrashedError(`running ${cid}: ${e.message}`)
      throw new InferenceError(`running ${cid} failed: ${e?.message ?? 'unknown error'}`)
    }
    const result: RunResult = { outputs: reply.outputs ?? [], computeMs: reply.ms ?? 0, wallMs: performance.now() - start }
    if (reply.stateBytes != null) result.stateBytes = reply.stateBytes
    return result
  }

  /** Lets the runner that keeps the state of `key` (see {@link RunState}) forget it (told with its next call). */
  dropState (key: string): void {
    const runner = this.stateRunners.get(key)
    this.stateRunners.delete(key)
    if (runner != null && !runner.dead) runner.drops.push(key)
  }

  private async call (req: RunnerRequest, options: RunOptions, cid?: string): Promise<RunnerReply> {
    if (this.stopped) throw new RuntimeStoppedError('runtime stopped; create a new one')
    if (this.pool.length === 0) await this.start()
    return new Promise<RunnerReply>((resolve, reject) => {
      const call: Call = { req, resolve, reject, timeoutMs: options.timeoutMs ?? this.timeoutMs, signal: options.signal, cid, stateKey: options.state?.key }
      if (options.signal?.aborted === true) { reject(options.signal.reason); return }
      options.signal?.addEventListener('abort', () => {
        const i = this.queue.indexOf(call)
        if (i >= 0) { this.queue.splice(i, 1); reject(options.signal?.reason) }
      }, { once: true })
      this.queue.push(call)
      this.dispatch()
    })
  }

  /** Hands queued calls to idle runners, preferring one that has the model loaded; a stateful call waits for the runner that keeps its state. */
  dispatch (): void {
    for (let i = 0; i < this.queue.length;) {
      const idle = this.pool.filter(r => !r.dead && r.busy == null)
      if (idle.length === 0) return
      const call = this.queue[i] as Call
      const bound = call.stateKey != null ? this.stateRunners.get(call.stateKey) : undefined
      if (bound != null && !bound.dead && bound.busy != null) { i++; continue }
      this.queue.splice(i, 1)
      const runner = (bound != null && !bound.dead ? bound : undefined) ?? idle.find(r => call.cid != null && r.loaded.has(call.cid)) ?? idle[0] as Runner
      if (call.stateKey != null) {
        this.stateRunners.delete(call.stateKey)
        this.stateRunners.set(call.stateKey, runner)
        while (this.stateRunners.size > MAX_RUNNER_STATES * this.size) this.stateRunners.delete(this.stateRunners.keys().next().value as string)
      }
      call.req = { ...call.req, id: runner.id() } as RunnerRequest
      if (call.cid != null) runner.loaded.add(call.cid)
      // reserve the runner now: a runner that is still starting looks idle, and a
      // second call handed to it before it is ready would replace this one, whose
      // reply would then be dropped (the call hung until its caller gave up)
      runner.busy = call
      void runner.ready.then(() => { if (runner.busy === call) runner.start(call) }, (err) => {
        if (runner.busy === call) runner.busy = undefined
        call.reject(err)
      })
    }
  }

  /** Called by a runner when its process exits: replaces it unless stopped. */
  onRunnerExit (runner: Runner, code: number | null, signal: string | null): void {
    const reason = this.stopped ? 'stop' : this.killedForTimeout.delete(runner) ? 'timeout' : 'crash'
    this.emit('runner:exit', { pid: runner.child.pid, reason, code, signal })
    const i = this.pool.indexOf(runner)
    if (i >= 0) this.pool.splice(i, 1)
    // its states are gone: a call of one of them fails there unless it gives the state again
    for (const [key, r] of [...this.stateRunners]) if (r === runner) this.stateRunners.delete(key)
    if (!this.stopped) {
      this.spawn()
      this.dispatch()
    }
  }

  private spawn (): void {
    const runner = new Runner(this, { maxSessions: this.maxSessions, intraOpNumThreads: this.threads }, this.execArgv)
    this.pool.push(runner)
    void runner.ready.then(() => { this.emit('runner:start', { pid: runner.child.pid }) }, () => {})
  }
}

/** @throws RangeError unless `bytes` is a non-negative integer */
function checkByteLimit (bytes: number): number {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`maxOutputBytes must be a non-negative integer number of bytes, got ${bytes}`)
  return bytes
}

/** Creates and starts a runner pool over a model store. */
export async function createRuntime (init: RuntimeInit): Promise<Runtime> {
  const runtime = new Runtime(init)
  await runtime.start()
  return runtime
}
