import { modelCid } from './cid.js'
import { DEFAULT_PARTITION_SLACK } from './constants.js'
import { MissingStageInputError, PartitionError } from './errors.js'
import { constantBytes, nodeFlops, nodeInputs, topoOrder } from './graph.js'
import { sampleFromDeclared, stateCuts } from './partition-state.js'
import { checkStatePairs } from './state.js'
import { LocalSession } from './local.js'
import { decodeModel, encodeModel, onnx, tensorByteLength } from './onnx.js'
import { declaredTensors, dimGroups, measureSymbolicShapes, measureTensors } from './shapes.js'
import type { GraphProto, NodeProto, TensorProto } from './onnx.js'
import type { SymbolicDim } from './shapes.js'
import type { StatePair } from './state.js'
import type { TensorDType, WireTensor } from '@fleetmesh/protocol'
import type onnxProto from 'onnx-proto'

/**
 * Pipeline partitioning: cuts an ONNX graph into K stage models along a
 * topological order of its nodes. Stage k's inputs are its activations
 * (the tensors that cross the cut before it: produced by an earlier stage,
 * used at or after stage k) plus the original graph inputs its own nodes
 * read; its outputs are the tensors that cross the cut after it. An
 * activation that stage j produces and stage k > j + 1 reads is passed
 * through the stages between (Identity nodes), so activations only ever
 * flow stage k → stage k+1. Graph inputs are never passed through: every
 * stage that reads one gets it from the requester.
 *
 * Stage models take any micro-batch size the whole model takes: with sample
 * inputs, every dimension of a stage input or output that depends on a
 * symbolic input dimension (the batch, an image side, a sequence length)
 * is measured (see `measureSymbolicShapes`) and kept symbolic (a
 * `dim_param`); dimensions that do not depend on one stay fixed, and a
 * batch size the model declares as a number stays that number. Stage
 * models declare no value_info: onnxruntime infers the tensors inside.
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
   * inputs run in this process (a few times: see `batchAxes`) to measure
   * every intermediate tensor's dtype and shape, so FLOPs and crossing
   * bytes are real and the stages keep symbolic dimensions symbolic;
   * needed when the graph declares dynamic shapes. One micro-batch is
   * enough: FLOPs and bytes are reported for it.
   */
  sampleInputs?: WireTensor[]
  /**
   * input name → the axis it is batched on, or `null` for a broadcast
   * input (not batched: a scalar, a per-job constant, sent whole to every
   * micro-batch). Used with `sampleInputs` only: the sample is run again
   * with every batched input sliced to one item along its axis (two items
   * for a sample batch of 1), and the stage tensor dims that change are the
   * batch dims. An axis that shares the `dim_param` of a batched axis is
   * batched with it. Other symbolic dims the graph inputs declare (an image
   * side, a sequence length; each `dim_param` name once, whatever inputs
   * share it) are measured the same way, resized to twice (else half, else
   * ±1) their sample size. A model that declares a number on a batched axis
   * keeps that fixed size; the non-batch axes of an input that declares no
   * shape stay the sample's.
   *
   * @default axis 0 for every input whose declared dim 0 is symbolic, and for every input that declares no shape; none (`null`) for the others
   * @throws PartitionError (from partitionModel) if a name is not a graph input, or an axis is not one of its sample tensor's
   */
  batchAxes?: Record<string, number | null>
  /**
   * allowed bottleneck excess over the best balance when trading balance
   * for fewer crossing bytes
   *
   * @default DEFAULT_PARTITION_SLACK (0.15)
   */
  slack?: number
  /**
   * the model's state pairs (a graph output fed back as a graph input next
   * step: a KV cache, a recurrent state). Each pair stays in one stage:
   * no cut falls between a node reading its input and the node producing
   * its output; the state output leaves only its own stage (listed in that
   * stage's `outputs` and `state`, never passed through) and the state
   * input is read by that stage only (in its `graphInputs`, and its
   * `state` says the worker feeds it, not the requester).
   * Without `sampleInputs`, a sample is made from the declared inputs:
   * zeros, every symbolic dim DECLARED_SAMPLE_DIM (2).
   *
   * @default none
   * @throws StateError (from partitionModel) if a pair does not name a graph output and a graph input, or its output is not computed by a node
   */
  state?: StatePair[]
}

/** One stage of a partition. */
export interface Stage {
  /** 0-based position in the pipeline */
  index: number
  /** the stage's ONNX model */
  bytes: Uint8Array
  /** CID of `bytes` */
  cid: string
  /** input names, in order: `activations`, then `graphInputs` */
  inputs: string[]
  /**
   * the inputs produced by the previous stage: exactly its `outputs`
   * (empty for stage 0); a name is the original tensor's where the
   * previous stage computed it, `<tensor>__fm<k>` where stage k passed it through
   */
  activations: string[]
  /**
   * the original graph inputs this stage's own nodes read, which the
   * requester sends it directly (never passed through an earlier stage),
   * in graph-input order; the inputs of `state` among them are fed by the
   * stage's worker (its state), not sent
   */
  graphInputs: string[]
  /**
   * output names: the next stage's inputs (the model's outputs for the
   * last stage), then the outputs of `state` not among them
   */
  outputs: string[]
  /**
   * the state pairs this stage keeps (see `PartitionOptions.state`): the
   * worker feeds each output back as its input on the next step; empty
   * for a stateless model
   */
  state: StatePair[]
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
  /**
   * the graph-input dims the stage models keep symbolic (the batch first,
   * where it is symbolic): the ones the whole model was measured to run at
   * another size. Empty without `sampleInputs`, or for a model of fixed shapes.
   */
  symbolicDims: SymbolicDim[]
}

/**
 * Cuts an ONNX model into `options.stages` pipeline stages.
 *
 * @param bytes - a validated ONNX model
 * @param options - stage count, sample inputs (one micro-batch), batch axes, slack
 * @throws InvalidModelError if the bytes are not ONNX
 * @throws PartitionError if the stage count is not an integer in [1, nodes]; tensor types are unknown and no sample inputs were given; the model does not run on the sample; `batchAxes` names an unknown input or axis; the sample's batched inputs disagree on the batch size; or the state pairs leave fewer than `stages` places to cut
 * @throws StateError if a state pair does not fit the model
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

  const state = options.state ?? []
  checkStatePairs({ inputs: (graph.input ?? []).map(v => ({ name: v.name ?? '' })).filter(v => !initializers.has(v.name)), outputs: graph.output?.map(v => ({ name: v.name ?? '' })) ?? [] }, state)
  const stateOutputs = new Set(state.map(p => p.output))
  const cutAllowed = stateCuts(nodes, state)
  const sample = options.sampleInputs ?? (state.length > 0 ? sampleFromDeclared((graph.input ?? []).filter(v => !initializers.has(v.name ?? ''))) : undefined)
  const groups = sample != null ? dimGroups((graph.input ?? []).filter(v => !initializers.has(v.name ?? '')), sample, options.batchAxes) : []
  const meta = sample != null ? await measureTensors(model, sample) : declaredTensors(graph)
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
  // a state output stays in its own stage: it crosses a cut only if a later node reads it
  for (const o of graphOutputs) if (producerOf.has(o) && !stateOutputs.has(o)) lastUse.set(o, N)
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
      if (!(cutAllowed[j] as boolean)) continue // a cut here would split a state pair
      let m = Number.POSITIVE_INFINITY
      for (let i = k - 1; i < j; i++) {
        const v = Math.max((best[k - 1] as number[])[i] as number, segment(i, j))
        if (v < m) m = v
      }
      ;(best[k] as number[])[j] = m
    }
  }
  const bottleneck = (best[K] as number[])[N] as number
  if (!Number.isFinite(bottleneck)) {
    const places = cutAllowed.slice(1, N).filter(a => a).length
    throw new PartitionError(`cannot cut this model into ${K} stages keeping each state pair in one stage: it has ${places} place(s) to cut, so use at most ${places + 1} stages`)
  }
  const limit = bottleneck * (1 + (options.slack ?? DEFAULT_PARTITION_SLACK))

  // 2) among cuts within the limit, the fewest bytes crossing
  const traffic: number[][] = Array.from({ length: K + 1 }, () => new Array<number>(N + 1).fill(Number.POSITIVE_INFINITY))
  const from: number[][] = Array.from({ length: K + 1 }, () => new Array<number>(N + 1).fill(-1))
  ;(traffic[0] as number[])[0] = 0
  for (let k = 1; k <= K; k++) {
    for (let j = k; j <= N - (K - k); j++) {
      if (!(cutAllowed[j] as boolean)) continue // a cut here would split a state pair
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
  // only the tensors that cross a cut, the graph inputs and the model's outputs become stage inputs and outputs: their symbolic dims are measured
  const boundary = [...new Set([...crossing.flat(), ...graphInputs, ...graphOutputs])]
  const measured = sample != null
    ? await measureSymbolicShapes(model, sample, groups, boundary, meta)
    : { shapes: new Map([...meta].map(([t, m]) => [t, m.dims])), symbolic: [] }

  const stages: Stage[] = []
  for (let s = 0; s < K; s++) {
    const stageNodes = nodes.slice(cuts[s], cuts[s + 1]).map(n => onnx.NodeProto.create(onnx.NodeProto.toObject(onnx.NodeProto.fromObject(n as any)) as any))
    const incoming = s > 0 ? crossing[s - 1] as string[] : []
    const rename = new Map(incoming.map(t => [t, alias(t, s - 1)]))
    for (const n of stageNodes) n.input = n.input.map(i => rename.get(i) ?? i)
    const outputNames: string[] = []
    const passThrough: onnxProto.onnx.NodeProto[] = []
    const leaving = s < K - 1 ? crossing[s] as string[] : graphOutputs.filter(o => !stateOutputs.has(o))
    const kept = state.filter(p => stageOf(producerOf.get(p.output) as number) === s)
    // a graph output that is a graph input itself (only ever the last stage's
    // outputs: graph inputs never cross a cut) is read from the requester
    const outputGraphInputs = new Set<string>()
    for (const t of leaving) {
      const producedHere = producerOf.has(t) && stageOf(producerOf.get(t) as number) === s
      const outName = s < K - 1 ? alias(t, s) : t
      if (graphInputs.includes(t)) {
        outputGraphInputs.add(t)
      } else if (!producedHere) {
        const source = rename.get(t)
        if (source == null) throw new PartitionError(`tensor ${t} is needed after stage ${s} but does not reach it`)
        passThrough.push(onnx.NodeProto.create({ opType: 'Identity', input: [source], output: [outName], name: `fleetmesh_pass_${outName}` }))
      }
      outputNames.push(outName)
    }
    const used = new Set([...stageNodes.flatMap(n => nodeInputs(n)), ...outputGraphInputs])
    // a kept state input the nodes do not read is still declared, so the worker can feed it
    const needGraphInputs = graphInputs.filter(i => used.has(i) || kept.some(p => p.input === i))
    const outputTypeOf = new Map(outputNames.map((n, i) => [n, leaving[i] as string]))
    for (const p of kept) if (!outputNames.includes(p.output)) outputNames.push(p.output)
    const typeOf = (t: string): onnxProto.onnx.ITypeProto => {
      const m = meta.get(t)
      const dims = measured.shapes.get(t)
      if (m == null || dims == null) throw new PartitionError(`the type of tensor ${t} is unknown; give sampleInputs so tensor types can be measured`)
      return { tensorType: { elemType: m.dtype, shape: { dim: dims.map(d => typeof d === 'number' ? { dimValue: d } : { dimParam: d }) } } }
    }
    const activations = incoming.map(t => alias(t, s - 1))
    const inputNames = [...activations, ...needGraphInputs]
    const origByAlias = new Map<string, string>(incoming.map(t => [alias(t, s - 1), t]))
    const stageInit = [...used].filter(i => initializers.has(i)).map(i => initializers.get(i) as TensorProto)
    const stageConstants = [...new Set([...used].filter(i => constants.has(i)).map(i => constants.get(i)?.node as NodeProto))]
    const stageGraph = onnx.GraphProto.create({
      name: `${graph.name ?? 'graph'}_stage${s}`,
      node: [...stageConstants.map(n => onnx.NodeProto.fromObject(n as any)), ...stageNodes, ...passThrough],
      initializer: stageInit as onnxProto.onnx.TensorProto[],
      input: inputNames.map(n => onnx.ValueInfoProto.create({ name: n, type: graphInputs.includes(n) ? (graph.input ?? []).find(v => v.name === n)?.type ?? typeOf(n) : typeOf(origByAlias.get(n) ?? n) })),
      output: outputNames.map(n => onnx.ValueInfoProto.create({ name: n, type: s === K - 1 || stateOutputs.has(n) ? (graph.output ?? []).find(v => v.name === n)?.type ?? typeOf(n) : typeOf(outputTypeOf.get(n) ?? n) }))
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
      activations,
      graphInputs: needGraphInputs,
      outputs: outputNames,
      state: kept.map(p => ({ ...p })),
      nodeCount: range[1] - range[0],
      flops: flops.slice(range[0], range[1]).reduce((a, b) => a + b, 0),
      paramBytes: stageInit.reduce((a, t) => a + tensorByteLength(t), 0) + stageConstants.reduce((a, n) => a + constantBytes(n), 0),
      outputBytes: s < K - 1 ? (crossing[s] as string[]).reduce((a, t) => a + (meta.get(t)?.bytes ?? 0), 0) : 0
    })
  }
  const stageCosts = cuts.slice(1).map((c, i) => segment(cuts[i] as number, c))
  return { stages, costMetric, bottleneckShare: Math.max(...stageCosts) / total, symbolicDims: measured.symbolic }
}

/**
 * Runs stages one after another in this process (reference for tests and
 * benchmarks), feeding each exactly what the mesh sends it: every name in
 * `stage.inputs`, taken from the previous stage's outputs, or from `inputs`
 * if the stage lists it in `stage.graphInputs` (state inputs included: the
 * state the stage's worker keeps). A graph input is never handed to a stage
 * that does not list it.
 *
 * @param stages - a partition's stages, in pipeline order
 * @param inputs - the original graph inputs (state inputs included, for a stateful partition)
 * @returns the last stage's outputs, then the state outputs of the stages before it (so a stateful partition returns every output of the whole model)
 * @throws MissingStageInputError naming the stage and the input that is neither
 */
export async function runStagesLocally (stages: Stage[], inputs: WireTensor[]): Promise<WireTensor[]> {
  let previous: WireTensor[] = []
  let previousIndex: number | undefined
  const stateOutputs: WireTensor[] = []
  for (const stage of stages) {
    const fromCaller = new Set(stage.graphInputs)
    const feed = stage.inputs.map(name => {
      const fromPrevious = previous.find(t => t.name === name)
      if (fromPrevious != null) return fromPrevious
      const isGraphInput = fromCaller.has(name)
      const given = isGraphInput ? inputs.find(t => t.name === name) : undefined
      if (given != null) return given
      const after = previousIndex == null ? 'it runs first' : `stage ${previousIndex} does not output it`
      throw new MissingStageInputError(stage.index, name, isGraphInput
        ? `stage ${stage.index} reads the graph input "${name}", which the inputs do not include; pass every graph input the stages list`
        : `stage ${stage.index} reads "${name}", which is not among its graph inputs and ${after}; run the stages of one partition in order, from stage 0`)
    })
    if (previousIndex != null) {
      const previousStage = stages.find(s => s.index === previousIndex)
      for (const p of previousStage?.state ?? []) {
        const t = previous.find(o => o.name === p.output)
        if (t != null) stateOutputs.push(t)
      }
    }
    const session = await LocalSession.create(stage.bytes)
    try {
      previous = await session.run(feed)
    } finally {
      await session.release()
    }
    previousIndex = stage.index
  }
  return [...previous, ...stateOutputs]
}

export type { TensorDType }
export type { SymbolicDim }
