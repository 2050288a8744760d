import { PartitionError } from './errors.js'
import { tensorByteLength } from './onnx.js'
import type { GraphProto, NodeProto, TensorProto } from './onnx.js'
import type { TensorMeta } from './shapes.js'

/**
 * Graph helpers of the partitioner: which names a node reads (subgraphs
 * included), a stable topological order, and cost estimates per node.
 */

/** Names a node reads, including outer-scope names its subgraphs use. */
export function nodeInputs (node: NodeProto): string[] {
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
export function topoOrder (nodes: NodeProto[], available: Set<string>): NodeProto[] {
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
export function constantBytes (n: NodeProto): number {
  let bytes = 0
  for (const a of n.attribute ?? []) {
    if (a.t != null) bytes += tensorByteLength(a.t)
    bytes += 4 * ((a.floats ?? []).length + (a.ints ?? []).length) + (a.f != null || a.i != null ? 4 : 0)
  }
  return bytes
}

export function prod (dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1)
}

/** Estimated FLOPs of one node from measured shapes (multiply-add = 2 FLOPs). */
export function nodeFlops (node: NodeProto, meta: Map<string, TensorMeta>, init: Map<string, TensorProto>): number {
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
