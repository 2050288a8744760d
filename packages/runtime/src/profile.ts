import type { Runtime } from './runtime.js'
import type { WireTensor } from '@fleetmesh/protocol'

/** Throughput of a model on this node, measured through the runner pool. */
export interface ThroughputProfile {
  cid: string
  /** items (first-dimension rows of the first input) per run */
  batch: number
  /** items per second over the measured runs */
  itemsPerSecond: number
  /** wall latency per run, ms */
  latencyMsP50: number
  latencyMsP99: number
  /** onnxruntime compute time per run inside the runner, ms (p50) */
  computeMsP50: number
  iterations: number
}

function percentile (xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p / 100 * s.length) - 1))] ?? 0
}

/**
 * Measures items/s and latency of a stored model on this node with sample
 * inputs: one warm-up run (not counted, the first run of a session is
 * slower), then `iterations` timed runs. A bid's latency estimate comes
 * from this profile.
 *
 * @throws ModelNotFoundError, InferenceError, RunnerCrashedError, RunnerTimeoutError
 */
export async function profile (runtime: Runtime, cid: string, sampleInputs: WireTensor[], options: { iterations?: number } = {}): Promise<ThroughputProfile> {
  const iterations = Math.max(1, options.iterations ?? 5)
  await runtime.load(cid, sampleInputs)
  const wall: number[] = []
  const compute: number[] = []
  const start = performance.now()
  for (let i = 0; i < iterations; i++) {
    const r = await runtime.run(cid, sampleInputs)
    wall.push(r.wallMs)
    compute.push(r.computeMs)
  }
  const elapsed = performance.now() - start
  const batch = sampleInputs[0]?.dims[0] ?? 1
  return {
    cid,
    batch,
    itemsPerSecond: (batch * iterations) / (elapsed / 1000),
    latencyMsP50: percentile(wall, 50),
    latencyMsP99: percentile(wall, 99),
    computeMsP50: percentile(compute, 50),
    iterations
  }
}
