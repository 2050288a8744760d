import ort from 'onnxruntime-node'
import type { WireTensor } from '@fleetmesh/protocol'

/**
 * In-process onnxruntime, for reference results and benchmarks only: a
 * worker never runs a job's model in its own process (see `Runtime`).
 */
export class LocalSession {
  private constructor (private readonly session: ort.InferenceSession) {}

  /** Creates a session from model bytes. `intraOpNumThreads` 0 lets onnxruntime choose. */
  static async create (bytes: Uint8Array, options: { intraOpNumThreads?: number } = {}): Promise<LocalSession> {
    return new LocalSession(await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: options.intraOpNumThreads ?? 0,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all'
    }))
  }

  get inputNames (): readonly string[] { return this.session.inputNames }
  get outputNames (): readonly string[] { return this.session.outputNames }

  /** Runs the model; outputs in the model's output order. */
  async run (inputs: WireTensor[]): Promise<WireTensor[]> {
    const feeds: Record<string, ort.Tensor> = {}
    for (const t of inputs) feeds[t.name] = new ort.Tensor(t.dtype as any, t.data as any, t.dims)
    const results = await this.session.run(feeds)
    return this.session.outputNames.map(name => {
      const r = results[name] as ort.Tensor
      return { name, dtype: r.type as WireTensor['dtype'], dims: [...r.dims], data: r.data as WireTensor['data'] }
    })
  }

  async release (): Promise<void> {
    await this.session.release()
  }
}

/** Largest absolute difference between two float tensors' elements (Infinity if shapes differ). */
export function maxAbsDiff (a: WireTensor, b: WireTensor): number {
  if (a.dims.length !== b.dims.length || a.dims.some((d, i) => d !== b.dims[i])) return Number.POSITIVE_INFINITY
  let m = 0
  const x = a.data as Float32Array
  const y = b.data as Float32Array
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs((x[i] as number) - (y[i] as number))
    if (d > m || Number.isNaN(d)) m = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d
  }
  return m
}
