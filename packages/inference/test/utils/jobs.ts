import { rm } from 'node:fs/promises'
import { INFER_PROTOCOL } from '@fleetmesh/protocol'
import { LocalSession } from '@fleetmesh/runtime'
import { createTestMesh, delay, tempDir } from '@fleetmesh/test-utils'
import type { TestMesh } from '@fleetmesh/test-utils'
import type { JobHandle, JobProgress, MeshNode, MeshNodeInit } from '@fleetmesh/peer'
import type { WireTensor } from '@fleetmesh/protocol'
import type { PeerId, Stream } from '@libp2p/interface'

/**
 * Routes `node`'s outbound infer stream opens through `intercept`, which
 * opens the stream with `open()` (or delays, or throws instead); streams
 * of other protocols open as ever. For tests of streams that fail or come
 * late.
 */
export function interceptInferOpens (node: MeshNode, intercept: (peer: PeerId, open: () => Promise<Stream>) => Promise<Stream>): void {
  const connectionManager = (node.libp2p as any).components.connectionManager
  const openStream = connectionManager.openStream.bind(connectionManager)
  connectionManager.openStream = async (peer: PeerId, protocols: string | string[], options?: any): Promise<Stream> => {
    if (![protocols].flat().includes(INFER_PROTOCOL)) return openStream(peer, protocols, options)
    return intercept(peer, async () => openStream(peer, protocols, options))
  }
}

/** A deterministic float32 tensor. */
export function pattern (name: string, dims: number[], phase: number): WireTensor {
  const n = dims.reduce((a, b) => a * b, 1)
  return { name, dtype: 'float32', dims, data: Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + phase) * 0.5) }
}

/** The model run whole in this process (the reference every sharded run must equal). */
export async function runLocal (bytes: Uint8Array, inputs: WireTensor[]): Promise<WireTensor[]> {
  const s = await LocalSession.create(bytes, { intraOpNumThreads: 1 })
  try { return await s.run(inputs) } finally { await s.release() }
}

/** Every progress event of a job, and its outputs or its error. */
export async function follow (job: JobHandle): Promise<{ events: JobProgress[], outputs?: WireTensor[], error?: any, ms: number }> {
  const start = Date.now()
  const events: JobProgress[] = []
  for await (const e of job) events.push(e)
  try {
    return { events, outputs: await job.result, ms: Date.now() - start }
  } catch (error) {
    return { events, error, ms: Date.now() - start }
  }
}

/** A test mesh (`createTestMesh` of @fleetmesh/test-utils): one requester station and `workers` worker stations of region u33d, each with its own data directory. */
export interface JobMesh {
  fleet: TestMesh
  requester: MeshNode
  workers: MeshNode[]
  /** adds one more worker */
  addWorker(init?: Partial<MeshNodeInit>): Promise<MeshNode>
  stop(): Promise<void>
}

export async function startJobMesh (workers: Array<Partial<MeshNodeInit>>, requesterInit: Partial<MeshNodeInit> = {}): Promise<JobMesh> {
  const fleet = await createTestMesh()
  const dirs: string[] = []
  const dataDir = async (): Promise<string> => {
    const dir = await tempDir('fleetmesh-jobs-')
    dirs.push(dir)
    return dir
  }
  const stop = async (): Promise<void> => {
    await fleet.stop()
    await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true })))
  }
  try {
    const requester = await fleet.add('station', 'u33d', { dataDir: await dataDir(), market: { bidWindowMs: 400 }, ...requesterInit })
    const boot = requester.getMultiaddrs().map(String)
    const addWorker = async (init: Partial<MeshNodeInit> = {}): Promise<MeshNode> => {
      const node = await fleet.add('station', 'u33d', { bootstrap: boot, worker: true, dataDir: await dataDir(), ...init })
      await node.announced()
      return node
    }
    const ws: MeshNode[] = []
    for (const init of workers) ws.push(await addWorker(init))
    await requester.announced()
    await delay(1200) // gossip mesh
    return { fleet, requester, workers: ws, addWorker, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
