import { DECLARED_SAMPLE_DIM } from './constants.js'
import { nodeInputs } from './graph.js'
import { ONNX_DTYPES } from './onnx.js'
import { StateError } from './errors.js'
import { zeroTensor } from './state.js'
import type { NodeProto, ValueInfoProto } from './onnx.js'
import type { StatePair } from './state.js'
import type { TensorDType, WireTensor } from '@fleetmesh/protocol'

/**
 * The partitioner's rules for stateful models: each state pair (a graph
 * output fed back as a graph input next step) stays in one stage, so the
 * worker of that stage keeps the state between steps and nothing of it
 * crosses a cut.
 */

/**
 * Which cut positions keep every state pair whole: position c (between
 * node c − 1 and node c of the topological order) is allowed unless some
 * pair has a node reading its input or producing its output on each side.
 *
 * @param nodes - the compute nodes in topological order
 * @returns `allowed[c]` for c = 0 … nodes.length (the ends are always allowed)
 * @throws StateError if a pair's output is not produced by a compute node (a graph input or initializer passed straight out)
 */
export function stateCuts (nodes: NodeProto[], state: StatePair[]): boolean[] {
  const allowed = new Array<boolean>(nodes.length + 1).fill(true)
  for (const pair of state) {
    const producer = nodes.findIndex(n => (n.output ?? []).includes(pair.output))
    if (producer < 0) throw new StateError(`state output "${pair.output}" is not computed by any node of the graph; a state pair needs a graph output a node produces`)
    let first = producer
    let last = producer
    nodes.forEach((n, i) => {
      if (nodeInputs(n).includes(pair.input)) { first = Math.min(first, i); last = Math.max(last, i) }
    })
    for (let c = first + 1; c <= last; c++) allowed[c] = false
  }
  return allowed
}

/**
 * Sample inputs made from the graph's declarations, for a stateful model
 * partitioned without `sampleInputs`: zeros of each declared shape with
 * every symbolic dim {@link DECLARED_SAMPLE_DIM} (token id 0, a zero state
 * of two past positions).
 *
 * @param inputs - the graph inputs that are not initializers
 * @throws StateError if an input declares no shape or a dtype with no zero tensor here; give sampleInputs then
 */
export function sampleFromDeclared (inputs: ValueInfoProto[]): WireTensor[] {
  return inputs.map(v => {
    const name = v.name ?? ''
    const tt = v.type?.tensorType
    const dtype = ONNX_DTYPES[tt?.elemType ?? 0] as TensorDType | undefined
    const dims = (tt?.shape?.dim ?? []).map(d => Number(d.dimValue ?? 0) > 0 ? Number(d.dimValue) : DECLARED_SAMPLE_DIM)
    const zeros = tt?.shape != null && dtype != null ? zeroTensor(name, dtype, dims) : undefined
    if (zeros == null) throw new StateError(`graph input "${name}" declares no shape or a dtype with no zero sample (${String(dtype)}); give sampleInputs to partition this model`)
    return zeros
  })
}
