/**
 * A runner: a child process that owns onnxruntime sessions. The node forks
 * it and sends `configure` / `load` requests over IPC and `run` requests
 * over a socket pair, their tensors through tmpfs files (tensor-channel.ts). A model that crashes or
 * hangs onnxruntime takes down only this process.
 */
import { Socket } from 'node:net'
import ort from 'onnxruntime-node'
import { receiveTensors, removeExchangeDir, sendTensors } from './tensor-channel.js'
import type { RunnerReply, RunnerRequest } from './runner-types.js'
import type { WireTensor } from '@fleetmesh/protocol'

const sessions = new Map<string, ort.InferenceSession>()
let maxSessions = 4
let threads = 0

async function session (cid: string, path: string): Promise<ort.InferenceSession> {
  let s = sessions.get(cid)
  if (s != null) {
    sessions.delete(cid) // re-insert: Map order is the LRU order
    sessions.set(cid, s)
    return s
  }
  s = await ort.InferenceSession.create(path, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all'
  })
  sessions.set(cid, s)
  while (sessions.size > maxSessions) {
    const [oldest, old] = sessions.entries().next().value as [string, ort.InferenceSession]
    sessions.delete(oldest)
    await old.release().catch(() => {})
  }
  return s
}

async function run (s: ort.InferenceSession, inputs: WireTensor[]): Promise<WireTensor[]> {
  const feeds: Record<string, ort.Tensor> = {}
  for (const t of inputs) feeds[t.name] = new ort.Tensor(t.dtype as any, t.data as any, t.dims)
  const results = await s.run(feeds)
  return s.outputNames.map(name => {
    const r = results[name] as ort.Tensor
    return { name, dtype: r.type as WireTensor['dtype'], dims: [...r.dims], data: r.data as WireTensor['data'] }
  })
}

process.on('message', (req: RunnerRequest) => {
  void (async (): Promise<RunnerReply> => {
    try {
      switch (req.type) {
        case 'configure':
          maxSessions = req.maxSessions
          threads = req.intraOpNumThreads
          return { id: req.id, ok: true }
        case 'load': {
          const s = await session(req.cid, req.path)
          if (req.warmup != null) await run(s, req.warmup)
          return { id: req.id, ok: true, inputNames: [...s.inputNames], outputNames: [...s.outputNames] }
        }
        default:
          return { id: req.id, ok: false, error: { name: 'Error', message: `request ${req.type} is not handled over IPC` } }
      }
    } catch (err: any) {
      return { id: req.id, ok: false, error: { name: err?.name ?? 'Error', message: String(err?.message ?? err) } }
    }
  })().then(reply => process.send?.(reply))
})
// run requests come over the data socket (fd 4), their tensors through
// files in the exchange directory the node made for this runner (argv[2])
const exchange = process.argv[2] as string
const data = new Socket({ fd: 4, readable: true, writable: true })
receiveTensors(data, exchange, (fields, inputs) => {
  void (async () => {
    const reply = 'out'
    try {
      const s = await session(fields.cid, fields.path)
      const start = performance.now()
      const outputs = await run(s, inputs)
      await sendTensors(data, exchange, reply, { id: fields.id, ok: true, ms: performance.now() - start }, outputs)
    } catch (err: any) {
      await sendTensors(data, exchange, reply, { id: fields.id, ok: false, error: { name: err?.name ?? 'Error', message: String(err?.message ?? err) } }, [])
    }
  })()
}, () => process.exit(1), { reuseBuffer: true })
// the node is gone (even SIGKILLed): leave no exchange files behind
process.on('disconnect', () => {
  removeExchangeDir(exchange)
  process.exit(0)
})
process.send?.({ id: 0, ok: true, ready: true })
