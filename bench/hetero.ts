/**
 * bench/jobs, heterogeneous case: two worker processes on core 0; the
 * slow one's runner process (its onnxruntime) is moved to core 1 beside
 * CPU-heavy sibling processes, so it computes several times slower. The same data-parallel job of many
 * micro-batches runs on the slow worker alone, on both, then on the fast
 * worker alone. Prints, per
 * worker, the micro-batches it took against its throughput share (its
 * rate alone ÷ both rates), and the job time on both against the fast
 * worker alone.
 */
import { execFileSync, spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateMlp } from '@fleetmesh/runtime'
import { createTestIdentity, delay, loopbackListen, serializeIdentity, trackChild } from '@fleetmesh/test-utils'
import type { JobsWorkerConfig } from './jobs-worker.js'
import type { MeshNode } from '@fleetmesh/peer'
import type { WireTensor } from '@fleetmesh/protocol'
import type { FleetKeys } from '@fleetmesh/test-utils'
import type { ChildProcess } from 'node:child_process'

export interface HeteroOptions {
  requester: MeshNode
  /** the fleet of `requester`: the workers are certified by its authority */
  keys: FleetKeys
  /** directory for the workers' config files and model stores */
  root: string
  /** CPU hogs beside the slow worker on its core */
  hogs?: number
  /** micro-batches of the job */
  microBatches?: number
}

const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d

export async function heterogeneousSplit (o: HeteroOptions): Promise<Record<string, unknown>> {
  const boot = o.requester.getMultiaddrs().map(String)
  const start = async (name: string, core: number): Promise<{ child: ChildProcess, peerId: string }> => {
    const file = join(o.root, `${name}.json`)
    const config: JobsWorkerConfig = {
      ...serializeIdentity(await createTestIdentity(o.keys.authority, { role: 'station' }), o.keys),
      bootstrap: boot,
      listen: loopbackListen(),
      storeDir: join(o.root, name),
      threads: 1
    }
    await writeFile(file, JSON.stringify(config))
    // taskset pins the worker to its core, so it is spawned (tracked for killChildProcesses), not forked
    const child = trackChild(spawn('taskset', ['-c', String(core), process.execPath, new URL('./jobs-worker.js', import.meta.url).pathname, file], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
    const peerId = await new Promise<string>((resolve, reject) => {
      child.once('message', (m: any) => { resolve(String(m.peerId)) })
      child.once('exit', (c) => { reject(new Error(`worker exited ${c}`)) })
    })
    return { child, peerId }
  }
  // both workers' node processes share core 0; the slow worker's runner (its onnxruntime child) moves to core 1 beside the hogs,
  // so only its compute is slowed, not its heartbeats (a starved node process loses its leases: see bench/README.md)
  const slow = await start('hetero-slow', 0)
  const hogs: ChildProcess[] = []
  const slowDown = (): void => {
    for (const pid of execFileSync('pgrep', ['-P', String(slow.child.pid)]).toString().trim().split(/\s+/).filter(Boolean)) {
      execFileSync('taskset', ['-a', '-p', '-c', '1', pid])
    }
    for (let i = 0; i < (o.hogs ?? 4); i++) {
      hogs.push(trackChild(spawn('taskset', ['-c', '1', process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' })))
    }
  }
  await delay(1500)
  const model = generateMlp({ inputs: 256, hidden: [1536, 1536, 1536], outputs: 64, seed: 11 })
  const micro = 128
  const n = (o.microBatches ?? 48) * micro
  const input: WireTensor = { name: 'x', dtype: 'float32', dims: [n, 256], data: Float32Array.from({ length: n * 256 }, (_, i) => Math.sin(i * 0.01)) }
  const run = async (shards: number, afterWarm?: () => void): Promise<{ ms: number, taken: Map<string, number>, computeMs: Map<string, number[]> }> => {
    // warm: every worker fetches and loads the model
    await o.requester.submit({ model, inputs: [{ ...input, dims: [micro * shards, 256], data: input.data.subarray(0, micro * shards * 256) }], shards, microBatch: micro, maxPrice: 10, deadline: Date.now() + 120_000 }).result
    afterWarm?.()
    const job = o.requester.submit({ model, inputs: [input], shards, microBatch: micro, maxPrice: 10, deadline: Date.now() + 120_000 })
    const taken = new Map<string, number>()
    const computeMs = new Map<string, number[]>()
    const seen = new Set<number>()
    let first = 0
    let last = 0
    for await (const e of job) {
      if (process.env.BENCH_TRACE != null) console.error(e.at % 100000, e.type, (e as any).worker?.slice(-4) ?? '', (e as any).seq ?? '', (e as any).reason ?? (e as any).message ?? '')
      if (e.type === 'shard-started' && first === 0) first = e.at
      if (e.type === 'shard-finished') {
        last = e.at
        const list = computeMs.get(e.worker) ?? []
        list.push(e.computeMs)
        computeMs.set(e.worker, list)
        if (!seen.has(e.seq)) { seen.add(e.seq); taken.set(e.worker, (taken.get(e.worker) ?? 0) + 1) }
      }
    }
    await job.result
    return { ms: last - first, taken, computeMs }
  }
  // each worker alone gives its throughput; then both together
  const slowAlone = await run(1, slowDown)
  const fast = await start('hetero-fast', 0)
  await delay(1500)
  const both = await run(2)
  slow.child.kill('SIGKILL')
  for (const h of hogs) h.kill('SIGKILL')
  await delay(3000)
  const alone = await run(1)
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number
  const microBatches = n / micro
  const rate = { fast: microBatches / alone.ms, slow: microBatches / slowAlone.ms }
  const workers = ([['fast', fast.peerId], ['slow', slow.peerId]] as const).map(([label, id]) => ({
    worker: label,
    medianComputeMsPerMicroBatch: round(median(both.computeMs.get(id) ?? [0]), 1),
    jobMsAlone: label === 'fast' ? alone.ms : slowAlone.ms,
    microBatchesTaken: both.taken.get(id) ?? 0,
    throughputShareMicroBatches: round(microBatches * rate[label] / (rate.fast + rate.slow), 1)
  }))
  return {
    model: 'MLP 256-1536-1536-1536-64',
    microBatches,
    microBatch: micro,
    hogsBesideSlowRunner: o.hogs ?? 4,
    workers,
    jobMsBoth: both.ms,
    jobMsFastAlone: alone.ms,
    bothOverFastAlone: round(both.ms / alone.ms)
  }
}
