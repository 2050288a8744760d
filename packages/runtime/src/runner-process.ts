/**
 * A runner: a child process that owns onnxruntime sessions. The node forks
 * it with its exchange directory and its configuration as arguments, sends
 * `load` requests over IPC and `run` requests over a socket pair, their
 * tensors through tmpfs files (tensor-channel.ts). A model that crashes or
 * hangs onnxruntime takes down only this process, and a model whose
 * outputs are over the call's `maxOutputBytes` is refused here, before any
 * of its bytes cross to the node. A stateful call (a session stage's step)
 * keeps its state outputs here, by key, as the next call's state inputs:
 * a KV cache never crosses to the node unless asked for.
 */
import { Socket } from 'node:net'
import ort from 'onnxruntime-node'
import { DTYPE_BYTES } from '@fleetmesh/protocol'
import { EXCHANGE_RETAIN_BYTES, MAX_RUNNER_STATES } from './constants.js'
import { InferenceError, OutputTooLargeError } from './errors.js'
import { TensorExchange } from './tensor-channel.js'
import type { RunnerConfig, RunnerReply, RunnerRequest, RunnerStateFields, RunRequestFields } from './runner-types.js'
import type { WireTensor } from '@fleetmesh/protocol'

const exchange = TensorExchange.open(process.argv[2] as string)
const config = JSON.parse(process.argv[3] as string) as RunnerConfig
const sessions = new Map<string, ort.InferenceSession>()
/** the state outputs of each stateful call's key, fed back as its state inputs at the next call (no copy: onnxruntime's own tensors); LRU, at most MAX_RUNNER_STATES */
const states = new Map<string, Map<string, ort.Tensor>>()

async function session (cid: string, path: string): Promise<ort.InferenceSession> {
  let s = sessions.get(cid)
  if (s != null) {
    sessions.delete(cid) // re-insert: Map order is the LRU order
    sessions.set(cid, s)
    return s
  }
  s = await ort.InferenceSession.create(path, {
    intraOpNumThreads: config.intraOpNumThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all'
  })
  sessions.set(cid, s)
  while (sessions.size > config.maxSessions) {
    const [oldest, old] = sessions.entries().next().value as [string, ort.InferenceSession]
    sessions.delete(oldest)
    await old.release().catch(() => {})
  }
  return s
}

async function run (s: ort.InferenceSession, inputs: WireTensor[], state?: RunnerStateFields): Promise<ort.InferenceSession.OnnxValueMapType> {
  const feeds: Record<string, ort.Tensor> = {}
  for (const t of inputs) feeds[t.name] = new ort.Tensor(t.dtype as any, t.data as any, t.dims)
  if (state == null) return s.run(feeds)
  // a state input the call does not give is the one kept from the key's last call
  const kept = states.get(state.key)
  for (const p of state.pairs) {
    if (feeds[p.input] != null) continue
    const t = kept?.get(p.input)
    if (t == null) throw Object.assign(new Error(`no state "${p.input}" kept for ${state.key} in this runner (a replaced runner keeps none): give the state inputs again`), { name: 'StateLostError' })
    feeds[p.input] = t
  }
  const results = await s.run(feeds)
  const next = new Map<string, ort.Tensor>()
  for (const p of state.pairs) {
    const r = results[p.output]
    if (r == null) throw new InferenceError(`the model gave no state output "${p.output}"`)
    next.set(p.input, r as ort.Tensor)
  }
  states.delete(state.key)
  states.set(state.key, next)
  while (states.size > MAX_RUNNER_STATES) states.delete(states.keys().next().value as string)
  return results
}

/** Bytes of the state kept for `key`. */
function stateBytes (key: string): number {
  let n = 0
  for (const t of states.get(key)?.values() ?? []) n += (t.data as WireTensor['data']).byteLength
  return n
}

/**
 * The outputs of a run as wire tensors, in the model's output order.
 *
 * @throws OutputTooLargeError once the outputs hold more than `maxBytes` together, naming the output that crossed it
 * @throws InferenceError for an output whose dtype the wire does not carry (strings)
 */
function outputsOf (s: ort.InferenceSession, results: ort.InferenceSession.OnnxValueMapType, maxBytes: number, omit: readonly string[] = []): WireTensor[] {
  let total = 0
  return s.outputNames.filter(name => !omit.includes(name)).map(name => {
    const r = results[name] as ort.Tensor
    if (DTYPE_BYTES[r.type as WireTensor['dtype']] == null) throw new InferenceError(`output "${name}" has dtype ${r.type}, which tensors on the wire cannot carry`)
    const data = r.data as WireTensor['data']
    total += data.byteLength
    if (total > maxBytes) {
      throw new OutputTooLargeError(`output "${name}" (${r.type} [${r.dims.join(', ')}]) is ${data.byteLength} bytes, taking the call's outputs to ${total} bytes, over its maxOutputBytes of ${maxBytes}; the model's outputs were dropped in its runner (raise maxOutputBytes if they are expected)`, name, data.byteLength, maxBytes)
    }
    return { name, dtype: r.type as WireTensor['dtype'], dims: [...r.dims], data }
  })
}

function errorFields (err: any): RunnerReply['error'] {
  const fields: RunnerReply['error'] = { name: err?.name ?? 'Error', message: String(err?.message ?? err) }
  if (err instanceof OutputTooLargeError) Object.assign(fields, { output: err.output, size: err.size })
  return fields
}

process.on('message', (req: RunnerRequest) => {
  void (async (): Promise<RunnerReply> => {
    try {
      if (req.type !== 'load') return { id: req.id, ok: false, error: { name: 'Error', message: `request ${String(req.type)} is not handled over IPC` } }
      const s = await session(req.cid, req.path)
      if (req.warmup != null) await run(s, req.warmup)
      return { id: req.id, ok: true, inputNames: [...s.inputNames], outputNames: [...s.outputNames] }
    } catch (err: any) {
      return { id: req.id, ok: false, error: errorFields(err) }
    }
  })().then(reply => { tell(reply) })
})

// run requests come over the data socket (fd 4), their inputs through the
// exchange's `in` file, read into one buffer reused from call to call
const data = new Socket({ fd: 4, readable: true, writable: true })
let inputs = new ArrayBuffer(0)

async function serve (fields: RunRequestFields, feeds: WireTensor[]): Promise<void> {
  try {
    for (const key of fields.drop ?? []) states.delete(key)
    const s = await session(fields.cid, fields.path)
    const start = performance.now()
    const results = await run(s, feeds, fields.state)
    const ms = performance.now() - start
    const state = fields.state != null ? { stateBytes: stateBytes(fields.state.key) } : {}
    await exchange.send(data, 'out', { id: fields.id, ok: true, ms, ...state }, outputsOf(s, results, fields.maxOutputBytes, fields.state?.omit))
  } catch (err: any) {
    await exchange.send(data, 'out', { id: fields.id, ok: false, error: errorFields(err) }, [])
  }
}

exchange.receive(data, {
  buffer: (size) => {
    // grow to fit; after a message over the retained size, shrink back for the next small one
    if (inputs.byteLength < size || (inputs.byteLength > EXCHANGE_RETAIN_BYTES && size <= EXCHANGE_RETAIN_BYTES)) inputs = new ArrayBuffer(size)
    return inputs
  },
  message: (fields, feeds) => { void serve(fields as RunRequestFields, feeds) },
  refused: (fields, err) => {
    void exchange.send(data, 'out', { id: fields.id, ok: false, error: errorFields(new InferenceError(`the runner could not read the inputs: ${err.message}`)) }, [])
  },
  error: () => process.exit(1)
})
// the node is gone (even SIGKILLed): leave no exchange files behind. Its
// death shows as a closed IPC channel or, when a run ends before that is
// seen, as EPIPE / ECONNRESET on the data socket: either way, exit cleanly
function nodeGone (): void {
  exchange.remove()
  process.exit(0)
}
process.on('disconnect', nodeGone)
/** Sends over IPC; a channel already closed (EPIPE: the node went away first, even before this runner was ready) is the node gone, not a crash. */
function tell (message: RunnerReply): void {
  process.send?.(message, undefined, {}, (err: Error | null) => { if (err != null) nodeGone() })
}
data.on('error', nodeGone)
data.on('close', nodeGone)
tell({ id: 0, ok: true, ready: true })
