/**
 * Parts of bench/jobs: test tensors and models, the raw TCP baseline, each
 * pipeline stage timed alone, and a job timed from its progress events.
 */
import { createServer, connect } from 'node:net'
import { LocalSession } from '@fleetmesh/runtime'
import onnxProto from 'onnx-proto'
import type { JobHandle, JobProgress } from '@fleetmesh/peer'
import type { WireTensor } from '@fleetmesh/protocol'
import type { Stage } from '@fleetmesh/runtime'

export const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d
/** The p-th percentile (nearest rank). */
export const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.max(0, Math.ceil(p / 100 * xs.length) - 1))] as number
export const median = (xs: number[]): number => pct(xs, 50)
/** A float32 tensor `x` of `dims` filled with a smooth pattern (no zeros, no denormals). */
export const pattern = (dims: number[]): WireTensor => ({ name: 'x', dtype: 'float32', dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37) * 0.5) })

/** A model of two cheap element-wise ops (Relu, Neg) on x [batch, n]: a 2-stage pipeline moves n floats per item between stages. */
export function relayModel (n: number): Uint8Array {
  const { onnx } = onnxProto
  const vi = (name: string): onnxProto.onnx.ValueInfoProto => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'batch' }, { dimValue: n }] } } } })
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: { name: 'relay', node: [{ opType: 'Relu', input: ['x'], output: ['h'], name: 'relu' }, { opType: 'Neg', input: ['h'], output: ['y'], name: 'neg' }], input: [vi('x')], output: [vi('y')] }
  })).finish()
}

/** MB/s of `bytes` read over raw TCP loopback (one socket, the kernel's own writes), median of `runs`. */
export async function rawTcpMBps (bytes: number, runs = 5): Promise<number> {
  const payload = new Uint8Array(bytes)
  const server = createServer(socket => { socket.end(payload) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const rates: number[] = []
  try {
    for (let i = 0; i < runs; i++) {
      rates.push(await new Promise((resolve, reject) => {
        const t = performance.now()
        let n = 0
        const s = connect(port, '127.0.0.1')
        s.on('data', (d: Buffer) => { n += d.byteLength })
        s.on('end', () => { resolve(n / 1e6 / ((performance.now() - t) / 1000)) })
        s.on('error', reject)
      }))
    }
  } finally {
    server.close()
  }
  return median(rates)
}

/**
 * Each stage of a partition run alone in this process (one onnxruntime
 * thread, as on a worker), fed its real inputs (the earlier stages' outputs
 * for `sample`): median ms per call over `runs` after a warm-up.
 */
export async function stageTimesAlone (stages: Stage[], sample: WireTensor, runs = 7): Promise<number[]> {
  const times: number[] = []
  let carried: WireTensor[] = [sample]
  for (const st of stages) {
    const s = await LocalSession.create(st.bytes, { intraOpNumThreads: 1 })
    try {
      const feed = st.inputs.map(n => carried.find(c => c.name === n) ?? sample)
      const out = await s.run(feed)
      const ms: number[] = []
      for (let i = 0; i < runs; i++) {
        const t = performance.now()
        await s.run(feed)
        ms.push(performance.now() - t)
      }
      times.push(median(ms))
      carried = [...carried, ...out]
    } finally {
      await s.release()
    }
  }
  return times
}

/**
 * Pipeline efficiency: measured items/s ÷ the best a pipeline of these
 * stages could do, min(1 / slowest stage, cores / sum of stages) items per
 * ms of one item's stage times (each stage on its own worker, all of them
 * sharing `cores`).
 */
export function pipelineEfficiency (itemsPerSec: number, stageMsPerItem: number[], cores: number): { ideal: number, efficiency: number } {
  const slowest = Math.max(...stageMsPerItem)
  const sum = stageMsPerItem.reduce((a, b) => a + b, 0)
  const ideal = Math.min(1000 / slowest, cores * 1000 / sum)
  return { ideal, efficiency: itemsPerSec / ideal }
}

/** What a job's progress events say about its timing. */
export interface JobTiming {
  /** first micro-batch sent to last result, ms */
  flowMs: number
  /** first award to last result, ms */
  computeMs: number
  /** items in every micro-batch sent, in order */
  sizes: number[]
  /** the size a pipeline chose from its probe, if it chose */
  chosen?: Extract<JobProgress, { type: 'micro-batch-chosen' }>
  /** distinct workers awarded a shard or stage */
  workers: number
  /** bids received */
  bids: number
}

/** Follows a job to its end. @throws the job's error */
export async function timeJob (job: JobHandle): Promise<JobTiming> {
  let firstSent = 0
  let firstAward = 0
  let last = 0
  const sizes: number[] = []
  let chosen: JobTiming['chosen']
  const workers = new Set<string>()
  let bids = 0
  for await (const e of job) {
    if (e.type === 'awarded') workers.add(e.worker)
    if (e.type === 'bid') bids++
    if (process.env.BENCH_TRACE != null) console.error(e.at % 100000, e.type, (e as any).seq ?? '', (e as any).worker?.slice(-4) ?? '')
    if (e.type === 'awarded' && firstAward === 0) firstAward = e.at
    if (e.type === 'shard-started') { sizes.push(e.items); if (firstSent === 0) firstSent = e.at }
    if (e.type === 'shard-finished') last = e.at
    if (e.type === 'micro-batch-chosen') chosen = e
  }
  await job.result
  return { flowMs: last - firstSent, computeMs: last - firstAward, sizes, chosen, workers: workers.size, bids }
}
