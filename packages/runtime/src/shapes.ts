import { DTYPE_CODES } from '@fleetmesh/protocol'
import { PartitionError } from './errors.js'
import { LocalSession } from './local.js'
import { encodeModel, onnx, ONNX_DTYPE_BYTES } from './onnx.js'
import type { GraphProto, ModelProto, ValueInfoProto } from './onnx.js'
import type { WireTensor } from '@fleetmesh/protocol'
import type onnxProto from 'onnx-proto'

/**
 * Shapes of a graph's tensors, for the partitioner. Every tensor is
 * measured once on the sample inputs (dtype, dims, bytes: the cost model).
 * Then the tensors that become stage inputs and outputs are measured again
 * with each symbolic input dimension (the batch, an image side, a sequence
 * length) set to another size: a dimension of such a tensor that changes
 * when an input dimension changes is symbolic in the stage models (a
 * `dim_param`); one that does not change is fixed. Nothing is inferred from
 * two sizes that merely happen to be equal.
 */

/** dtype (ONNX code), dims and size of one tensor at the sample inputs. */
export interface TensorMeta { dtype: number, dims: number[], bytes: number }

/** A dimension of a stage tensor: a fixed size, or the `dim_param` name of a symbolic one. */
export type StageDim = number | string

/** One symbolic dimension of the graph inputs that the stage models keep symbolic. */
export interface SymbolicDim {
  /** its `dim_param` name in the stage models (the model's own name where it declares one, else `batch` or `<input>_dim<axis>`) */
  name: string
  /** the graph-input axes it stands for */
  axes: Array<{ input: string, axis: number }>
  /** its size in the sample inputs */
  sampleSize: number
}

/** What {@link measureSymbolicShapes} learns. */
export interface SymbolicShapes {
  /** each asked tensor's dims, symbolic where they follow a symbolic input dimension */
  shapes: Map<string, StageDim[]>
  /** the input dimensions measured to vary, each a `dim_param` of the stages */
  symbolic: SymbolicDim[]
}

/** A group of graph-input axes that vary together (one `dim_param`), and whether it is the batch. */
export interface DimGroup extends SymbolicDim { isBatch: boolean }

/** One measuring run with a dim group resized, and the run it is compared with. */
interface Variant {
  group: DimGroup
  /** the group's size in this run */
  size: number
  meta: Map<string, TensorMeta>
  reference: Map<string, TensorMeta>
}

const symbolicDim = (d: onnxProto.onnx.TensorShapeProto.IDimension | undefined): boolean => d == null || !(Number(d.dimValue ?? 0) > 0)

/**
 * The batch axis of each graph input: `batchAxes[name]` where given (`null`
 * = broadcast), else axis 0 when the input's declared dim 0 is symbolic, or
 * when the input declares no shape and the sample has an axis 0; else none.
 *
 * @throws PartitionError if `batchAxes` names something that is not a graph input, or an axis the sample tensor does not have
 */
export function resolveBatchAxes (inputs: ValueInfoProto[], sample: Map<string, WireTensor>, batchAxes: Record<string, number | null> = {}): Map<string, number | null> {
  const names = inputs.map(v => v.name ?? '')
  for (const name of Object.keys(batchAxes)) {
    if (!names.includes(name)) throw new PartitionError(`batchAxes names "${name}", which is not an input of the graph (${names.join(', ')}); name graph inputs only`)
  }
  const axes = new Map<string, number | null>()
  for (const v of inputs) {
    const name = v.name ?? ''
    const given = sample.get(name)
    const rank = given?.dims.length ?? 0
    const shape = v.type?.tensorType?.shape
    let axis: number | null
    if (Object.hasOwn(batchAxes, name)) axis = batchAxes[name] ?? null
    else if (shape == null) axis = rank > 0 ? 0 : null
    else axis = (shape.dim ?? []).length > 0 && symbolicDim(shape.dim?.[0]) ? 0 : null
    // a sample without this input fails when it runs, with onnxruntime's message naming it
    if (axis != null && given != null && (!Number.isInteger(axis) || axis < 0 || axis >= rank)) {
      throw new PartitionError(`batchAxes puts the batch of "${name}" on axis ${axis}, but its sample tensor has rank ${rank}; give an axis in [0, ${rank}) or null for a broadcast input`)
    }
    axes.set(name, axis)
  }
  return axes
}

/**
 * Groups the symbolic input dims: the batch (every batched axis, and any
 * axis sharing its dim_param), then one group per other dim_param or
 * unnamed symbolic dim. Cheap and run first, so bad options fail before
 * anything runs.
 *
 * @param inputs - the graph inputs that are not initializers
 * @param sample - the sample inputs
 * @param batchAxes - see {@link resolveBatchAxes}
 * @throws PartitionError on bad `batchAxes` or sample inputs that disagree on a dim
 */
export function dimGroups (inputs: ValueInfoProto[], sampleInputs: WireTensor[], batchAxesOption?: Record<string, number | null>): DimGroup[] {
  const sample = new Map(sampleInputs.map(t => [t.name, t]))
  const batchAxes = resolveBatchAxes(inputs, sample, batchAxesOption)
  const batch: DimGroup = { name: '', axes: [], sampleSize: 0, isBatch: true }
  const declaredDims = (v: ValueInfoProto): onnxProto.onnx.TensorShapeProto.IDimension[] | undefined => v.type?.tensorType?.shape?.dim ?? (v.type?.tensorType?.shape != null ? [] : undefined)
  const batchParams = new Set<string>()
  for (const v of inputs) {
    const axis = batchAxes.get(v.name ?? '')
    if (axis == null) continue
    const dims = declaredDims(v)
    const d = dims?.[axis]
    if (dims != null && !symbolicDim(d)) continue // a fixed batch size the model declares stays fixed
    batch.axes.push({ input: v.name ?? '', axis })
    if (d?.dimParam != null && d.dimParam !== '') batchParams.add(d.dimParam)
    if (batch.name === '' && d?.dimParam != null && d.dimParam !== '') batch.name = d.dimParam
  }
  const groups = new Map<string, DimGroup>()
  for (const v of inputs) {
    const input = v.name ?? ''
    for (const [axis, d] of (declaredDims(v) ?? []).entries()) {
      if (!symbolicDim(d) || batch.axes.some(a => a.input === input && a.axis === axis)) continue
      const param = d.dimParam != null && d.dimParam !== '' ? d.dimParam : undefined
      if (param != null && batchParams.has(param)) { batch.axes.push({ input, axis }); continue }
      const key = param != null ? `param:${param}` : `anon:${input}:${axis}`
      const g = groups.get(key) ?? { name: param ?? `${input}_dim${axis}`, axes: [], sampleSize: 0, isBatch: false }
      g.axes.push({ input, axis })
      groups.set(key, g)
    }
  }
  const all = [...(batch.axes.length > 0 ? [batch] : []), ...groups.values()]
  // the model's own dim_param names first; an unnamed batch is `batch`, or `batch_<n>` if the model uses that name
  const taken = new Set(all.map(g => g.name).filter(n => n !== ''))
  if (batch.name === '') {
    batch.name = 'batch'
    for (let i = 1; taken.has(batch.name); i++) batch.name = `batch_${i}`
  }
  for (const g of all) {
    const name = g.name
    const sizes = g.axes.map(a => sample.get(a.input)?.dims[a.axis])
    if (sizes.some(s => s == null)) continue // a missing sample input: onnxruntime names it when the sample runs
    if (sizes.some(s => s !== sizes[0])) {
      throw new PartitionError(`the sample inputs disagree on dim "${name}": ${g.axes.map((a, i) => `${a.input} axis ${a.axis} is ${String(sizes[i])}`).join(', ')}; give every input the same ${g.isBatch ? 'batch size' : 'size there'}`)
    }
    g.sampleSize = sizes[0] as number
  }
  return all
}

/** The tensor with its `axis` set to `size` items, item i being the sample's item i mod (its size): a slice or a cyclic extension. */
export function resizeAxis (t: WireTensor, axis: number, size: number): WireTensor {
  const dims = t.dims
  const from = dims[axis] as number
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1)
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1)
  const Ctor = t.data.constructor as new (length: number) => WireTensor['data']
  const data = new Ctor(outer * size * inner)
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < size; i++) {
      const src = (o * from + (i % from)) * inner
      ;(data as any).set(t.data.subarray(src, src + inner), (o * size + i) * inner)
    }
  }
  return { name: t.name, dtype: t.dtype, dims: dims.map((d, i) => i === axis ? size : d), data }
}

/**
 * Other sizes to try for a dim group, in order: the batch sliced to one
 * item (the cheapest run), else one item more (a sample batch of 1 becomes
 * 2); other dims doubled first (keeps strides and multiples of 32 whole,
 * and never shrinks a feature map to where two sizes round to the same),
 * then halved, then ±1.
 */
function candidateSizes (g: DimGroup): number[] {
  const s = g.sampleSize
  if (s <= 0) return [1]
  if (g.isBatch) return s >= 2 ? [1, s + 1] : [s + 1]
  return [2 * s, ...(s % 2 === 0 && s >= 2 ? [s / 2] : []), s + 1, ...(s >= 2 ? [s - 1] : [])]
}

function metaOf (outputs: WireTensor[], sample: WireTensor[]): Map<string, TensorMeta> {
  const meta = new Map<string, TensorMeta>()
  for (const t of [...outputs, ...sample]) meta.set(t.name, { dtype: DTYPE_CODES[t.dtype] ?? 1, dims: t.dims, bytes: t.data.byteLength })
  return meta
}

/** The model with `names` as its outputs (node outputs only; graph inputs are known from the inputs). */
function exposing (model: ModelProto, names: Iterable<string>): Uint8Array {
  const probe = onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish())
  const graph = probe.graph as onnxProto.onnx.GraphProto
  const produced = new Set(graph.node.flatMap(n => n.output ?? []))
  graph.output = [...new Set(names)].filter(n => n !== '' && produced.has(n)).map(name => onnx.ValueInfoProto.create({ name }))
  return encodeModel(probe)
}

/**
 * Runs the model once on the sample with every node output exposed,
 * recording each tensor's dtype, dims and bytes (graph inputs included).
 *
 * @throws PartitionError if the model does not run on the sample
 */
export async function measureTensors (model: ModelProto, sample: WireTensor[]): Promise<Map<string, TensorMeta>> {
  const session = await LocalSession.create(exposing(model, (model.graph?.node ?? []).flatMap(n => n.output ?? [])), { intraOpNumThreads: 1 })
  try {
    return metaOf(await session.run(sample), sample)
  } catch (err: any) {
    throw new PartitionError(`the model does not run on the sample inputs (${err?.message ?? err}); give sampleInputs it accepts`)
  } finally {
    await session.release()
  }
}

/**
 * Which dims of the tensors `names` follow a symbolic input dim: runs the
 * model with only those tensors exposed (so onnxruntime still fuses the
 * rest), on the sample and then once per dim group with that group
 * resized (see `candidateSizes`: the batch sliced to one item, other dims
 * doubled; a size the model refuses is skipped, and a dim the model runs
 * at no other size stays fixed). Each resized run is compared with the run
 * before the resize (the sample, or for non-batch dims the batch-of-one run
 * when there is one, the cheaper run), so each change is the work of one
 * dim group. A dim is symbolic when it changed in some comparison: named
 * after the input dim when it equals that dim in both runs and no other
 * group moved it, else `<tensor>_dim<axis>`.
 *
 * @param groups - from {@link dimGroups}
 * @param names - the tensors whose dims are wanted (node outputs or graph inputs)
 * @param base - {@link measureTensors} on the same sample
 */
export async function measureSymbolicShapes (model: ModelProto, sample: WireTensor[], groups: DimGroup[], names: string[], base: Map<string, TensorMeta>): Promise<SymbolicShapes> {
  const varied: Variant[] = []
  if (groups.length > 0) {
    const session = await LocalSession.create(exposing(model, names), { intraOpNumThreads: 1 })
    try {
      // each dim group is compared with a reference run: the batch with the
      // sample; the others with the batch run where that shrank the batch (a
      // cheaper run), else with the sample
      let reference: { inputs: WireTensor[], meta: Map<string, TensorMeta> } = { inputs: sample, meta: base }
      for (const g of groups) {
        const from = g.isBatch ? { inputs: sample, meta: base } : reference
        for (const size of candidateSizes(g)) {
          const resized = from.inputs.map(t => g.axes.filter(a => a.input === t.name).reduce((r, a) => resizeAxis(r, a.axis, size), t))
          let meta: Map<string, TensorMeta>
          try {
            meta = metaOf(await session.run(resized), resized)
          } catch {
            continue // the model refuses this size (e.g. a side that is not a multiple of its stride): try the next
          }
          varied.push({ group: g, size, meta, reference: from.meta })
          if (g.isBatch && size < g.sampleSize) reference = { inputs: resized, meta }
          break
        }
      }
    } finally {
      await session.release()
    }
  }
  const shapes = new Map<string, StageDim[]>()
  for (const name of names) {
    const m = base.get(name)
    if (m == null) continue
    shapes.set(name, m.dims.map((d, axis) => {
      const movers = varied.filter(v => {
        const before = v.reference.get(name)?.dims
        const after = v.meta.get(name)?.dims
        return before == null || after == null || before.length !== after.length || before[axis] !== after[axis]
      })
      if (movers.length === 0) return d
      const only = movers[0] as Variant
      const same = movers.length === 1 && d === only.group.sampleSize && only.reference.get(name)?.dims[axis] === only.group.sampleSize && only.meta.get(name)?.dims[axis] === only.size
      return same ? only.group.name : `${name}_dim${axis}`
    }))
  }
  return { shapes, symbolic: varied.map(v => ({ name: v.group.name, axes: v.group.axes, sampleSize: v.group.sampleSize })) }
}

/** Tensor metadata from the graph's own declarations (static shapes only), for a partition without sample inputs. */
export function declaredTensors (graph: GraphProto): Map<string, TensorMeta> {
  const meta = new Map<string, TensorMeta>()
  for (const v of [...(graph.input ?? []), ...(graph.valueInfo ?? []), ...(graph.output ?? [])]) {
    const tt = v.type?.tensorType
    const dims = (tt?.shape?.dim ?? []).map(d => Number(d.dimValue ?? 0))
    if (tt?.elemType == null || dims.some(d => d <= 0) || tt.shape == null) continue
    meta.set(v.name ?? '', { dtype: tt.elemType, dims, bytes: dims.reduce((a, b) => a * b, 1) * (ONNX_DTYPE_BYTES[tt.elemType] ?? 4) })
  }
  return meta
}
