import { DTYPE_CODES } from '@fleetmesh/protocol'
import { modelCid } from './cid.js'
import { PartitionError } from './errors.js'
import { LocalSession } from './local.js'
import { decodeModel, encodeModel, onnx, tensorByteLength } from './onnx.js'
import type { GraphProto, ModelProto, NodeProto, TensorProto } from './onnx.js'
import type { TensorDType, WireTensor } from '@fleetmesh/protocol'
import type onnxProto from 'onnx-proto'

/**
 * Pipeline partitioning: cuts an ONNX graph into K stage models along a
 * topological order of its nodes. Stage k's inputs are the tensors that
 * cross the cut before it (produced earlier, used at or after stage k) plus
 * the original graph inputs its nodes read; its outputs are the tensors that
 * cross the cut after it. A tensor that an earlier stage produced and a
 * later stage needs is passed through the stages between (Identity nodes),
 * so activations only ever flow stage k → stage k+1.
 *
 * Cut choice: first the smallest achievable bottleneck stage cost B* (FLOPs
 * when tensor shapes are known, else parameter bytes; dynamic programming
 * over cut positions), then, among cuts whose every stage costs at most
 * (1 + slack)·B*, the ones with the fewest bytes crossing the cuts — the
 * balance-then-traffic rule of pipeline planners such as PipeDream's
 * partitioner and exo's layer assignment.
 */

/** Options of {@link partitionModel}. */
export interface PartitionOptions {
  /** number of stages, >= 1 */
  stages: number
  /**
   * inputs used once (in this process) to measure every intermediate
   * tensor's dtype and shape, so FLOPs and crossing bytes are real; needed
   * when the graph declares dynamic shapes
   */
  sampleInputs?: WireTensor[]
  /**
   * allowed bottleneck excess over the best balance when trading balance
   * for fewer crossing bytes
   *
   * @default 0.15
   */
  slack?: number
}

/** One stage of a partition. */
export interface Stage {
  /** 0-based position in the pipeline */
  index: number
  /** the stage's ONNX model */
  bytes: Uint8Array
  /** CID of `bytes` */
  cid: string
  /** input names, in order: tensors from the previous stage first, then original graph inputs */
  inputs: string[]
  /** the original graph inputs among `inputs` */
  graphInputs: string[]
  /** output names (the next stage's inputs; the model's outputs for the last stage) */
  outputs: string[]
  /** nodes of the original graph in this stage */
  nodeCount: number
  /** estimated FLOPs per run with the sample inputs (0 if shapes are unknown) */
  flops: number
  /** bytes of initializers (weights) in this stage */
  paramBytes: number
  /** bytes of activations leaving this stage per run with the sample inputs (0 for the last stage) */
  outputBytes: number
}

/** The result of {@link partitionModel}. */
export interface Partition {
  stages: Stage[]
  /** what was balanced: 'flops' when shapes were measured or declared, else 'paramBytes' */
  costMetric: 'flops' | 'paramBytes'
  /** the bottleneck stage's share of the total cost (1/K is perfect balance) */
  bottleneckShare: number
}

interface TensorMeta { dtype: number, dims: number[], bytes: number }

const DEFAULT_SLACK = 0.15

/** Names a node reads, including outer-scope names its subgraphs use. */
function nodeInputs (node: NodeProto): string[] {
  const names = (node.input ?? []).filter(n => n !== '')
  for (const a of node.attribute ?? []) {
    for (const g of [a.g, ...(a.graphs ?? [])]) {
      if (g != null) names.push(...outerScopeNames(g))
    }
  }
  return names
}

function outerScopeNames (g: GraphProto): string[] {
  const defined = new Set<string>([...(g.input ?? []).map(v => v.name ?? ''), ...(g.initializer ?? []).map(t => t.name ?? '')])
  const used: string[] = []
  for (const n of g.node ?? []) {
    for (const i of nodeInputs(n)) if (!defined.has(i)) used.push(i)
    for (const o of n.output ?? []) defined.add(o)
  }
  return used
}

/** Kahn's algorithm, stable: keeps file order where the file is already topological. */
function topoOrder (nodes: NodeProto[], available: Set<string>): NodeProto[] {
  const producer = new Map<string, number>()
  nodes.forEach((n, i) => { for (const o of n.output ?? []) producer.set(o, i) })
  const deps = nodes.map(n => new Set(nodeInputs(n).map(x => producer.get(x)).filter((p): p is number => p != null && !available.has(nodes[p]?.output?.[0] ?? ''))))
  const out: NodeProto[] = []
  const done = new Set<number>()
  while (out.length < nodes.length) {
    let progressed = false
    for (let i = 0; i < nodes.length; i++) {
      if (done.has(i)) continue
      if ([...(deps[i] ?? [])].every(d => done.has(d))) {
        done.add(i)
        out.push(nodes[i] as NodeProto)
        progressed = true
      }
    }
    if (!progressed) throw new PartitionError('graph has a cycle; it is not a valid ONNX graph')
  }
  return out
}

/** Bytes a Constant node's value holds. */
function constantBytes (n: NodeProto): number {
  let bytes = 0
  for (const a of n.attribute ?? []) {
    if (a.t != null) bytes += tensorByteLength(a.t)
    bytes += 4 * ((a.floats ?? []).length + (a.ints ?? []).length) + (a.f != null || a.i != null ? 4 : 0)
  }
  return bytes
}

function prod (dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1)
}

/** Estimated FLOPs of one node from measured shapes (multiply-add = 2 FLOPs). */
function nodeFlops (node: NodeProto, meta: Map<string, TensorMeta>, init: Map<string, TensorProto>): number {
  const out = meta.get(node.output?.[0] ?? '')
  if (out == null) return 0
  const weightDims = (name: string | undefined): number[] | undefined => {
    if (name == null) return undefined
    const t = init.get(name)
    if (t != null) return (t.dims ?? []).map(Number)
    return meta.get(name)?.dims
  }
  switch (node.opType) {
    case 'Conv': {
      const w = weightDims(node.input?.[1])
      return w != null ? 2 * prod(out.dims) * prod(w.slice(1)) : prod(out.dims)
    }
    case 'ConvTranspose': {
      const w = weightDims(node.input?.[1])
      const x = meta.get(node.input?.[0] ?? '')
      return w != null && x != null ? 2 * prod(x.dims) * prod(w.slice(1)) : prod(out.dims)
    }
    case 'MatMul': case 'Gemm': {
      const a = weightDims(node.input?.[0])
      const transA = (node.attribute ?? []).find(x => x.name === 'transA')?.i
      const k = a == null ? 1 : (node.opType === 'Gemm' && Number(transA ?? 0) === 1 ? a[0] : a[a.length - 1]) ?? 1
      return 2 * prod(out.dims) * k
    }
    default:
      return prod(out.dims)
  }
}

/** Runs the model once with every intermediate tensor exposed as an output, recording dtypes and shapes. */
async function measureTensors (model: ModelProto, sample: WireTensor[]): Promise<Map<string, TensorMeta>> {
  const probe = onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish())
  const graph = probe.graph as onnxProto.onnx.GraphProto
  const existing = new Set(graph.output.map(o => o.name))
  for (const n of graph.node) {
    for (const o of n.output ?? []) {
      if (o !== '' && !existing.has(o)) {
        graph.output.push(onnx.ValueInfoProto.create({ name: o }))
        existing.add(o)
      }
    }
  }
  const session = await LocalSession.create(encodeModel(probe), { intraOpNumThreads: 1 })
  try {
    const outputs = await session.run(sample)
    const meta = new Map<string, TensorMeta>()
    for (const t of outputs) meta.set(t.name, { dtype: DTYPE_CODES[t.dtype] ?? 1, dims: t.dims, bytes: t.data.byteLength })
    for (const t of sample) meta.set(t.name, { dtype: DTYPE_CODES[t.dtype] ?? 1, dims: t.dims, bytes: t.data.byteLength })
    return meta
  } finally {
    await session.release()
  }
}

/** Tensor metadata from the graph's own declarations (static shapes only). */
function declaredTensors (graph: GraphProto): Map<string, TensorMeta> {
  const meta = new Map<string, TensorMeta>()
  for (const v of [...(graph.input ?? []), ...(graph.valueInfo ?? []), ...(graph.output ?? [])]) {
    const tt = v.type?.tensorType
    const dims = (tt?.shape?.dim ?? []).map(d => Number(d.dimValue ?? 0))
    if (tt?.elemType == null || dims.some(d => d <= 0) || tt.shape == null) continue
    const elem = ({ 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8 } as Record<number, number>)[tt.elemType] ?? 4
    meta.set(v.name ?? '', { dtype: tt.elemType, dims, bytes: prod(dims) * elem })
  }
  return meta
}

/**
 * Cuts an ONNX model into `options.stages` pipeline stages.
 *
 * @param bytes - a validated ONNX model
 * @throws InvalidModelError if the bytes are not ONNX
 * @throws PartitionError if the stage count is not an integer in [1, nodes], or tensor types are unknown and no sample inputs were given
 */
export async function partitionModel (bytes: Uint8Array, options: PartitionOptions): Promise<Partition> {
  const K = options.stages
  const model = decodeModel(bytes)
  const graph = model.graph as GraphProto
  const initializers = new Map<string, TensorProto>((graph.initializer ?? []).map(t => [t.name ?? '', t]))
  const graphInputs = (graph.input ?? []).map(v => v.name ?? '').filter(n => !initializers.has(n))
  const graphOutputs = (graph.output ?? []).map(v => v.name ?? '')
  // Constant nodes hold weights (exporters such as paddle2onnx emit every
  // weight as one): they are parameters, copied into each stage that reads
  // them, never activations crossing a cut.
  const constants = new Map<string, { node: NodeProto, bytes: number }>()
  const computeNodes: NodeProto[] = []
  for (const n of graph.node ?? []) {
    if (n.opType === 'Constant' && (n.domain ?? '') === '' && (n.input ?? []).length === 0) {
      for (const o of n.output ?? []) constants.set(o, { node: n, bytes: constantBytes(n) })
    } else {
      computeNodes.push(n)
    }
  }
  const paramSize = (name: string): number | undefined => {
    const t = initializers.get(name)
    if (t != null) return tensorByteLength(t)
    return constants.get(name)?.bytes
  }
  const nodes = topoOrder(computeNodes, new Set([...graphInputs, ...initializers.keys(), ...constants.keys()]))
  const N = nodes.length
  if (!Number.isInteger(K) || K < 1 || K > N) throw new PartitionError(`cannot cut a graph of ${N} nodes into ${K} stages; use 1..${N}`)

  const meta = options.sampleInputs != null ? await measureTensors(model, options.sampleInputs) : declaredTensors(graph)
  const shapesKnown = nodes.every(n => (n.output ?? []).every(o => o === '' || meta.has(o)))
  const costMetric: Partition['costMetric'] = shapesKnown ? 'flops' : 'paramBytes'

  // per-node cost and parameter bytes
  const paramBytes = nodes.map(n => nodeInputs(n).reduce((a, i) => a + (paramSize(i) ?? 0), 0))
  const flops = nodes.map(n => shapesKnown ? nodeFlops(n, meta, initializers) : 0)
  const cost = shapesKnown ? flops.map(f => f + 1) : paramBytes.map(p => p + 1)
  const prefix = [0]
  for (let i = 0; i < N; i++) prefix.push((prefix[i] as number) + (cost[i] as number))
  const total = prefix[N] as number

  // bytes crossing each cut position c (between node c-1 and node c), c = 1..N-1
  const producerOf = new Map<string, number>()
  nodes.forEach((n, i) => { for (const o of n.output ?? []) if (o !== '') producerOf.set(o, i) })
  const lastUse = new Map<string, number>()
  nodes.forEach((n, i) => { for (const x of nodeInputs(n)) if (producerOf.has(x)) lastUse.set(x, Math.max(lastUse.get(x) ?? -1, i)) })
  for (const o of graphOutputs) if (producerOf.has(o)) lastUse.set(o, N)
  const diff = new Array<number>(N + 2).fill(0)
  for (const [t, p] of producerOf) {
    const l = lastUse.get(t)
    if (l == null || l <= p) continue
    const size = meta.get(t)?.bytes ?? 1
    diff[p + 1] = (diff[p + 1] as number) + size
    diff[l + 1] = (diff[l + 1] as number) - size
  }
  const cross = new Array<number>(N + 1).fill(0)
  for (let c = 1, run = 0; c <= N; c++) { run += diff[c] as number; cross[c] = run }

  // 1) the best achievable bottleneck: min over cuts of max stage cost
  const segment = (a: number, b: number): number => (prefix[b] as number) - (prefix[a] as number)
  const best: number[][] = Array.from({ length: K + 1 }, () => new Array<number>(N + 1).fill(Number.POSITIVE_INFINITY))
  ;(best[0] as number[])[0] = 0
  for (let k = 1; k <= K; k++) {
    for (let j = k; j <= N - (K - k); j++) {
      let m = Number.POSITIVE_INFINITY
      for (let i = k - 1; i < j; i++) {
        const v = Math.max((best[k - 1] as number[])[i] as number, segment(i, j))
        if (v < m) m = v
      }
      ;(best[k] as number[])[j] = m
    }
  }
  const bottleneck = (best[K] as number[])[N] as number
  const limit = bottleneck * (1 + (options.slack ?? DEFAULT_SLACK))

  // 2) among cuts within the limit, the fewest bytes crossing
  const traffic: number[][] = Array.from({ length: K + 1 }, () => new Array<number>(N + 1).fill(Number.POSITIVE_INFINITY))
  const from: number[][] = Array.from({ length: K + 1 }, () => new Array<number>(N + 1).fill(-1))
  ;(traffic[0] as number[])[0] = 0
  for (let k = 1; k <= K; k++) {
    for (let j = k; j <= N - (K - k); j++) {
      for (let i = k - 1; i < j; i++) {
        if (segment(i, j) > limit) continue
        const prev = (traffic[k - 1] as number[])[i] as number
        if (!Number.isFinite(prev)) continue
        const v = prev + (j < N ? cross[j] as number : 0)
        if (v < ((traffic[k] as number[])[j] as number)) { (traffic[k] as number[])[j] = v; (from[k] as number[])[j] = i }
      }
    }
  }
  const cuts = [N]
  for (let k = K, j = N; k > 0; k--) {
    j = (from[k] as number[])[j] as number
    cuts.unshift(j)
  }

  // tensors crossing each stage boundary
  const stageOf = (nodeIndex: number): number => { let s = 0; while (nodeIndex >= (cuts[s + 1] as number)) s++; return s }
  const crossing: string[][] = Array.from({ length: K }, () => [])
  for (const [t, p] of producerOf) {
    const l = lastUse.get(t)
    if (l == null || l <= p) continue
    const from = stageOf(p)
    const to = l === N ? K : stageOf(l)
    for (let s = from; s < to && s < K - 1; s++) (crossing[s] as string[]).push(t)
  }
  const alias = (t: string, boundary: number): string => stageOf(producerOf.get(t) as number) === boundary ? t : `${t}__fm${boundary}`

  const stages: Stage[] = []
  for (let s = 0; s < K; s++) {
    const stageNodes = nodes.slice(cuts[s], cuts[s + 1]).map(n => onnx.NodeProto.create(onnx.NodeProto.toObject(onnx.NodeProto.fromObject(n as any)) as any))
    const incoming = s > 0 ? crossing[s - 1] as string[] : []
    const rename = new Map(incoming.map(t => [t, alias(t, s - 1)]))
    for (const n of stageNodes) n.input = n.input.map(i => rename.get(i) ?? i)
    const used = new Set(stageNodes.flatMap(n => nodeInputs(n)))
    const needGraphInputs = graphInputs.filter(i => used.has(i))
    const outputNames: string[] = []
    const passThrough: onnxProto.onnx.NodeProto[] = []
    const leaving = s < K - 1 ? crossing[s] as string[] : graphOutputs
    for (const t of leaving) {
      const producedHere = producerOf.has(t) && stageOf(producerOf.get(t) as number) === s
      const outName = s < K - 1 ? alias(t, s) : t
      if (!producedHere) {
        const source = graphInputs.includes(t) ? t : (rename.get(t) as string)
        if (source == null) throw new PartitionError(`tensor ${t} is needed after stage ${s} but does not reach it`)
        passThrough.push(onnx.NodeProto.create({ opType: 'Identity', input: [source], output: [outName], name: `fleetmesh_pass_${outName}` }))
      }
      outputNames.push(outName)
    }
    const typeOf = (t: string): onnxProto.onnx.ITypeProto => {
      const m = meta.get(t)
      if (m == null) throw new PartitionError(`the type of tensor ${t} is unknown; give sampleInputs so tensor types can be measured`)
      return { tensorType: { elemType: m.dtype, shape: { dim: m.dims.map(d => ({ dimValue: d })) } } }
    }
    const inputNames = [...incoming.map(t => alias(t, s - 1)), ...needGraphInputs.filter(i => !incoming.includes(i))]
    const origByAlias = new Map<string, string>(incoming.map(t => [alias(t, s - 1), t]))
    const stageInit = [...used].filter(i => initializers.has(i)).map(i => initializers.get(i) as TensorProto)
    const stageConstants = [...new Set([...used].filter(i => constants.has(i)).map(i => constants.get(i)?.node as NodeProto))]
    const stageGraph = onnx.GraphProto.create({
      name: `${graph.name ?? 'graph'}_stage${s}`,
      node: [...stageConstants.map(n => onnx.NodeProto.fromObject(n as any)), ...stageNodes, ...passThrough],
      initializer: stageInit as onnxProto.onnx.TensorProto[],
      input: inputNames.map(n => onnx.ValueInfoProto.create({ name: n, type: graphInputs.includes(n) ? (graph.input ?? []).find(v => v.name === n)?.type ?? typeOf(n) : typeOf(origByAlias.get(n) ?? n) })),
      output: outputNames.map(n => onnx.ValueInfoProto.create({ name: n, type: s === K - 1 ? (graph.output ?? []).find(v => v.name === n)?.type ?? typeOf(n) : typeOf(leaving[outputNames.indexOf(n)] as string) }))
    })
    const stageModel = onnx.ModelProto.create({
      irVersion: model.irVersion,
      opsetImport: model.opsetImport,
      producerName: 'fleetmesh-partition',
      graph: stageGraph
    })
    const stageBytes = encodeModel(stageModel)
    const range = [cuts[s] as number, cuts[s + 1] as number] as const
    stages.push({
      index: s,
      bytes: stageBytes,
      cid: modelCid(stageBytes),
      inputs: inputNames,
      graphInputs: needGraphInputs,
      outputs: outputNames,
      nodeCount: range[1] - range[0],
      flops: flops.slice(range[0], range[1]).reduce((a, b) => a + b, 0),
      paramBytes: stageInit.reduce((a, t) => a + tensorByteLength(t), 0) + stageConstants.reduce((a, n) => a + constantBytes(n), 0),
      outputBytes: s < K - 1 ? (crossing[s] as string[]).reduce((a, t) => a + (meta.get(t)?.bytes ?? 0), 0) : 0
    })
  }
  const stageCosts = cuts.slice(1).map((c, i) => segment(cuts[i] as number, c))
  return { stages, costMetric, bottleneckShare: Math.max(...stageCosts) / total }
}

/**
 * Runs stages one after another in this process (reference for tests and
 * benchmarks): stage k gets stage k-1's outputs plus the graph inputs it reads.
 */
export async function runStagesLocally (stages: Stage[], inputs: WireTensor[]): Promise<WireTensor[]> {
  let carried: WireTensor[] = []
  for (const stage of stages) {
    const session = await LocalSession.create(stage.bytes)
    try {
      const feed = stage.inputs.map(name => carried.find(t => t.name === name) ?? inputs.find(t => t.name === name))
      if (feed.some(t => t == null)) throw new PartitionError(`stage ${stage.index} needs ${stage.inputs.join(', ')}`)
      carried = await session.run(feed as WireTensor[])
    } finally {
      await session.release()
    }
  }
  return carried
}

export type { TensorDType }
