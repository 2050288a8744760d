import { DTYPE_BYTES, elementCount, MessageTooLargeError, typedArrayFor } from '@fleetmesh/protocol'
import { JobInputError } from './errors.js'
import type { WireTensor } from '@fleetmesh/protocol'
import type { TensorInfo } from '@fleetmesh/runtime'

/**
 * Micro-batch planning, pure: which axis of each input carries the batch
 * (or none: a broadcast input), checking job inputs against the model,
 * choosing the micro-batch size, cutting inputs into micro-batches and
 * putting outputs back together. No network, no runtime.
 */

/** Batch axis of each input by name; `null` marks a broadcast input (sent whole, never sliced). */
export type BatchAxes = Record<string, number | null>

/** How a job's inputs carry the batch (the `SubmitInit` fields of the same names). */
export interface BatchLayout {
  /** inputs that are not batched: scalars, per-job constants, any tensor without the batch axis */
  broadcast?: string[]
  /** batch axis of a batched input when it is not 0, by input name */
  batchAxes?: Record<string, number>
}

/**
 * The batch axis of every model input: `null` for the inputs named in
 * `layout.broadcast`, the axis from `layout.batchAxes`, else 0.
 *
 * @throws JobInputError when a name is not a model input, an input is both broadcast and batched, or an axis is out of range
 */
export function resolveBatchAxes (declared: TensorInfo[], layout: BatchLayout = {}): BatchAxes {
  const names = new Set(declared.map(d => d.name))
  const broadcast = new Set(layout.broadcast ?? [])
  for (const name of broadcast) {
    if (!names.has(name)) throw new JobInputError(`broadcast input "${name}" is not an input of the model (it takes ${[...names].join(', ')})`)
  }
  for (const [name, axis] of Object.entries(layout.batchAxes ?? {})) {
    if (!names.has(name)) throw new JobInputError(`batch axis given for "${name}", which is not an input of the model (it takes ${[...names].join(', ')})`)
    if (broadcast.has(name)) throw new JobInputError(`input "${name}" is marked broadcast and also given a batch axis; choose one`)
    if (!Number.isInteger(axis) || axis < 0) throw new JobInputError(`batch axis of "${name}" must be an integer >= 0, got ${axis}`)
  }
  const axes: BatchAxes = {}
  for (const d of declared) {
    axes[d.name] = broadcast.has(d.name) ? null : (layout.batchAxes?.[d.name] ?? 0)
  }
  return axes
}

/**
 * Checks job inputs against the model's declared inputs and returns the
 * batch size (the length of every batched input along its batch axis).
 *
 * @param maxBytes - largest total input, bytes
 * @throws JobInputError for a missing or unknown input, a wrong dtype, rank or fixed dimension, batched inputs of unequal batch, no batched input, an empty batch
 * @throws MessageTooLargeError when the inputs together exceed `maxBytes`
 */
export function checkInputs (inputs: WireTensor[], declared: TensorInfo[], maxBytes: number, axes: BatchAxes = resolveBatchAxes(declared)): number {
  if (inputs.length === 0) throw new JobInputError('a job needs at least one input tensor')
  let total = 0
  let batch: number | undefined
  let first: string | undefined
  for (const t of inputs) {
    const d = declared.find(x => x.name === t.name)
    if (d == null) throw new JobInputError(`input "${t.name}" is not an input of the model (it takes ${declared.map(x => x.name).join(', ')})`)
    if (d.dtype !== t.dtype) throw new JobInputError(`input "${t.name}" is ${t.dtype}, the model wants ${d.dtype}`)
    if (d.shape.length !== t.dims.length) throw new JobInputError(`input "${t.name}" has rank ${t.dims.length} [${t.dims.join(', ')}], the model wants rank ${d.shape.length} [${d.shape.join(', ')}]`)
    const axis = axes[t.name] ?? null
    if (axis != null && axis >= t.dims.length) throw new JobInputError(`input "${t.name}" has rank ${t.dims.length}, so it has no batch axis ${axis}; mark it broadcast if it is not batched`)
    d.shape.forEach((s, i) => {
      if (i !== axis && typeof s === 'number' && s !== t.dims[i]) throw new JobInputError(`input "${t.name}" dimension ${i} is ${t.dims[i]}, the model wants ${s}`)
    })
    total += t.data.byteLength
    if (axis == null) continue
    const b = t.dims[axis] as number
    if (batch != null && b !== batch) throw new JobInputError(`batched inputs disagree on the batch: "${first}" has ${batch}, "${t.name}" has ${b} on its batch axis ${axis}`)
    batch = b
    first ??= t.name
  }
  for (const d of declared) {
    if (!inputs.some(t => t.name === d.name)) throw new JobInputError(`the model's input "${d.name}" is missing`)
  }
  if (total > maxBytes) throw new MessageTooLargeError('job inputs', total, maxBytes)
  if (batch == null) throw new JobInputError('every input is marked broadcast: at least one input must carry the batch')
  if (batch < 1) throw new JobInputError('the batch is empty')
  return batch
}

/** What {@link chooseMicroBatch} decides from. */
export interface MicroBatchChoice {
  /** items in the job */
  batch: number
  mode: 'data' | 'pipeline'
  /** data: leases; pipeline: stages */
  parts: number
  /** the model's fixed batch size on the batch axis, if it declares one */
  fixed?: number
  /** what the user asked for */
  requested?: number
}

/**
 * Items per micro-batch: a model's fixed batch size wins, then the user's
 * choice, else data-parallel `ceil(batch / (4 × shards))` (enough
 * micro-batches per worker that the split can follow throughput) and
 * pipeline `ceil(batch / (2 × stages))` (every stage busy at once).
 *
 * @throws JobInputError when the batch does not divide into a fixed batch size, or `requested` is not a positive integer
 */
export function chooseMicroBatch (c: MicroBatchChoice): number {
  if (c.fixed != null) {
    if (c.batch % c.fixed !== 0) throw new JobInputError(`the model takes batches of exactly ${c.fixed}; ${c.batch} items do not divide into them`)
    return c.fixed
  }
  if (c.requested != null) {
    if (!Number.isInteger(c.requested) || c.requested < 1) throw new JobInputError(`microBatch must be an integer >= 1, got ${c.requested}`)
    return Math.min(c.requested, c.batch)
  }
  return Math.min(c.batch, Math.max(1, Math.ceil(c.batch / (c.parts * (c.mode === 'data' ? 4 : 2)))))
}

/** [start, end) item ranges of micro-batches of `size` items (the last may be shorter). */
export function planMicroBatches (batch: number, size: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = []
  for (let at = 0; at < batch; at += size) ranges.push([at, Math.min(batch, at + size)])
  return ranges
}

/**
 * Rows [start, end) of a tensor along `axis`: a view for axis 0 (no copy),
 * a copy otherwise.
 */
export function sliceTensor (t: WireTensor, axis: number, start: number, end: number): WireTensor {
  const inner = elementCount(t.dims.slice(axis + 1))
  const outer = elementCount(t.dims.slice(0, axis))
  const len = t.dims[axis] as number
  const Ctor = typedArrayFor(t.dtype)
  const dims = t.dims.map((d, i) => i === axis ? end - start : d)
  if (outer === 1) {
    const data = new Ctor(t.data.buffer, t.data.byteOffset + start * inner * DTYPE_BYTES[t.dtype], (end - start) * inner)
    return { name: t.name, dtype: t.dtype, dims, data }
  }
  const rows = (end - start) * inner
  const data = new Ctor(new ArrayBuffer(outer * rows * DTYPE_BYTES[t.dtype]), 0, outer * rows) as any
  for (let o = 0; o < outer; o++) {
    data.set((t.data as any).subarray(o * len * inner + start * inner, o * len * inner + end * inner), o * rows)
  }
  return { name: t.name, dtype: t.dtype, dims, data }
}

/** The batched inputs cut to items [start, end) (broadcast inputs are left out: they travel once per session). */
export function sliceBatch (inputs: WireTensor[], axes: BatchAxes, start: number, end: number): WireTensor[] {
  return inputs.filter(t => axes[t.name] != null).map(t => sliceTensor(t, axes[t.name] as number, start, end))
}

/** The broadcast inputs among `inputs`. */
export function broadcastInputs (inputs: WireTensor[], axes: BatchAxes): WireTensor[] {
  return inputs.filter(t => axes[t.name] === null)
}

/**
 * Batch axis of each model output: the position of the symbolic dimension
 * a batched input carries on its batch axis (e.g. `state_out [layers,
 * batch, h]` → 1), else `explicit[name]`, else 0.
 */
export function outputBatchAxes (declaredInputs: TensorInfo[], declaredOutputs: TensorInfo[], axes: BatchAxes, explicit: Record<string, number> = {}): Record<string, number> {
  const symbols = new Set<string>()
  for (const d of declaredInputs) {
    const axis = axes[d.name]
    const s = axis != null ? d.shape[axis] : undefined
    if (typeof s === 'string') symbols.add(s)
  }
  const out: Record<string, number> = {}
  for (const o of declaredOutputs) {
    const found = o.shape.findIndex(s => typeof s === 'string' && symbols.has(s))
    out[o.name] = explicit[o.name] ?? (found >= 0 ? found : 0)
  }
  return out
}

/**
 * Joins micro-batch outputs (same names and dtypes in every part) along
 * each output's batch axis, in the order given.
 *
 * @throws JobInputError when parts disagree on names or on the dimensions off the batch axis
 */
export function concatBatches (parts: WireTensor[][], axes: Record<string, number> = {}): WireTensor[] {
  const first = parts[0] ?? []
  return first.map((t, i) => {
    const all = parts.map(p => p[i] as WireTensor)
    const axis = axes[t.name] ?? 0
    for (const p of all) {
      if (p == null || p.name !== t.name || p.dims.length !== t.dims.length || p.dims.some((d, k) => k !== axis && d !== t.dims[k])) {
        throw new JobInputError(`micro-batch outputs of "${t.name}" do not line up on axis ${axis}`)
      }
    }
    const inner = elementCount(t.dims.slice(axis + 1))
    const outer = elementCount(t.dims.slice(0, axis))
    const rows = all.reduce((a, p) => a + (p.dims[axis] as number), 0)
    const n = outer * rows * inner
    const Ctor = typedArrayFor(t.dtype)
    const data = new Ctor(new ArrayBuffer(n * DTYPE_BYTES[t.dtype]), 0, n) as any
    if (outer === 1) {
      let at = 0
      for (const p of all) { data.set(p.data, at); at += p.data.length }
    } else {
      let row = 0
      for (const p of all) {
        const len = p.dims[axis] as number
        for (let o = 0; o < outer; o++) data.set((p.data as any).subarray(o * len * inner, (o + 1) * len * inner), (o * rows + row) * inner)
        row += len
      }
    }
    return { name: t.name, dtype: t.dtype, dims: t.dims.map((d, k) => k === axis ? rows : d), data }
  })
}

/** Items in a micro-batch's tensors: the batch-axis length of its first batched tensor. */
export function itemsOf (tensors: WireTensor[], axes: BatchAxes): number {
  for (const t of tensors) {
    const axis = axes[t.name]
    if (axis != null) return t.dims[axis] ?? 0
  }
  return tensors[0]?.dims[0] ?? 0
}

/** What {@link choosePipelineMicroBatch} decides from. */
export interface PipelineTiming {
  /** items in the job */
  batch: number
  stages: number
  /** compute time of the slowest stage per item, ms */
  bottleneckMsPerItem: number
  /** fixed cost of one micro-batch at one hop (framing, stream, scheduling, runner exchange), ms */
  hopOverheadMs: number
  /** largest micro-batch allowed (e.g. the one the offer announced), items @default batch */
  maxItems?: number
}

/**
 * Items per pipeline micro-batch that minimise the job's time under the
 * GPipe model: with `M = ceil(batch / m)` micro-batches and K stages, the
 * pipeline runs `M + K − 1` steps of `m × bottleneck + overhead` each.
 * Small micro-batches fill the pipeline sooner; large ones pay the
 * per-hop overhead fewer times.
 *
 * @returns an integer in [1, min(batch, maxItems)]
 */
export function choosePipelineMicroBatch (t: PipelineTiming): number {
  let best = 1
  let bestMs = Number.POSITIVE_INFINITY
  const most = Math.max(1, Math.min(t.batch, t.maxItems ?? t.batch))
  for (let m = 1; m <= most; m++) {
    const steps = Math.ceil(t.batch / m) + t.stages - 1
    const ms = steps * (m * t.bottleneckMsPerItem + t.hopOverheadMs)
    if (ms < bestMs - 1e-9) { best = m; bestMs = ms }
  }
  return best
}

/** One probe micro-batch's trip through a pipeline, as the requester saw it. */
export interface PipelineProbe {
  /** items in the probe */
  items: number
  /** from the probe handed to stage 0's stream to its result at the requester, ms */
  latencyMs: number
  /** onnxruntime time of the probe at each stage, ms, in stage order (the result frame's `stageComputeMs`) */
  stageComputeMs: number[]
}

/**
 * The timing {@link choosePipelineMicroBatch} needs, from one probe: the
 * bottleneck is the slowest stage's compute per item; the per-hop overhead
 * is what the probe's trip took beyond all stages' compute, shared by its
 * K + 1 hops (requester → stage 0 → … → stage K−1 → requester). A probe's
 * compute includes onnxruntime's fixed cost per call, so the bottleneck
 * per item is overstated for a 1-item probe, which leans the choice to
 * smaller micro-batches.
 *
 * @param batch - items left to plan after the probe
 * @param stages - K
 * @param maxItems - largest micro-batch allowed, items
 */
export function pipelineTimingFromProbe (probe: PipelineProbe, batch: number, stages: number, maxItems?: number): PipelineTiming {
  const compute = probe.stageComputeMs.filter(ms => Number.isFinite(ms) && ms >= 0)
  const items = Math.max(1, probe.items)
  const sum = compute.reduce((a, b) => a + b, 0)
  const slowest = compute.length > 0 ? Math.max(...compute) : 0
  return {
    batch,
    stages,
    bottleneckMsPerItem: slowest / items,
    hopOverheadMs: Math.max(0, probe.latencyMs - sum) / (stages + 1),
    maxItems
  }
}
