import { StateError } from './errors.js'
import { validateModel } from './validate.js'
import type { ModelInfo } from './validate.js'
import type { TensorDType, WireTensor } from '@fleetmesh/protocol'

/**
 * Stateful models (a recurrent state, a KV cache): a graph output fed back
 * as a graph input of the next step. A session keeps each pair's tensor
 * where the step ran; the partitioner keeps each pair inside one stage.
 */

/** One piece of state: the graph output of a step that becomes a graph input of the next step. */
export interface StatePair {
  /** graph output fed back */
  output: string
  /** graph input it feeds next step */
  input: string
}

const ZERO_DATA: Partial<Record<TensorDType, (n: number) => WireTensor['data']>> = {
  float32: n => new Float32Array(n),
  float64: n => new Float64Array(n),
  float16: n => new Uint16Array(n),
  int64: n => new BigInt64Array(n),
  int32: n => new Int32Array(n),
  int8: n => new Int8Array(n),
  uint8: n => new Uint8Array(n),
  bool: n => new Uint8Array(n)
}

/** Zeros of `dims`, or undefined for a dtype with no zero tensor here (string). */
export function zeroTensor (name: string, dtype: TensorDType, dims: number[]): WireTensor | undefined {
  const make = ZERO_DATA[dtype]
  return make == null ? undefined : { name, dtype, dims, data: make(dims.reduce((a, b) => a * b, 1)) }
}

/**
 * Checks that every pair names a graph output and a graph input of the
 * model, each in at most one pair.
 *
 * @param info - the model's input and output names (`validateModel` of it will do)
 * @throws StateError naming the pair and what the model has instead
 */
export function checkStatePairs (info: { inputs: Array<{ name: string }>, outputs: Array<{ name: string }> }, state: StatePair[]): void {
  const inputs = info.inputs.map(i => i.name)
  const outputs = info.outputs.map(o => o.name)
  const seen = new Set<string>()
  for (const pair of state) {
    if (!outputs.includes(pair.output)) throw new StateError(`state pair ${pair.output} → ${pair.input}: "${pair.output}" is not an output of the model (${outputs.join(', ')}); name a graph output`)
    if (!inputs.includes(pair.input)) throw new StateError(`state pair ${pair.output} → ${pair.input}: "${pair.input}" is not an input of the model (${inputs.join(', ')}); name a graph input`)
    for (const name of [`out:${pair.output}`, `in:${pair.input}`]) {
      if (seen.has(name)) throw new StateError(`state pair ${pair.output} → ${pair.input}: "${name.slice(name.indexOf(':') + 1)}" is in more than one pair; give each state tensor one pair`)
      seen.add(name)
    }
  }
}

/**
 * The state before the first step: for each pair, zeros of its input's
 * declared shape with every symbolic (or unknown) dimension 0 — an empty
 * KV cache `[1, heads, 0, headDim]`, a zero recurrent state `[1, 1, hidden]`.
 *
 * @param model - model bytes, or `validateModel` of them
 * @param state - the model's state pairs
 * @returns one tensor per pair, named after its input, in pair order
 * @throws StateError if a pair does not fit the model, or its input's dtype is not one a zero tensor can be made of
 */
export function zeroState (model: Uint8Array | ModelInfo, state: StatePair[]): WireTensor[] {
  const info = model instanceof Uint8Array ? validateModel(model) : model
  checkStatePairs(info, state)
  return state.map(pair => {
    const t = info.inputs.find(i => i.name === pair.input)
    const zeros = t != null ? zeroTensor(pair.input, t.dtype as TensorDType, t.shape.map(d => typeof d === 'number' ? d : 0)) : undefined
    if (zeros == null) throw new StateError(`state input "${pair.input}" has dtype ${String(t?.dtype)}, which has no zero state here; give initialState for it`)
    return zeros
  })
}

/**
 * The state pairs a model's names suggest, for callers that name none
 * (`fleetmesh generate`): each output `present_<x>` whose input `past_<x>`
 * exists (the KV-cache convention of decoder exports), `present.<x>` →
 * `past_key_values.<x>` (Hugging Face Optimum's), and `<x>_out` → `<x>_in`
 * (a recurrent state). Pure.
 *
 * @param info - the model's input and output names (`validateModel` of it will do)
 * @returns the pairs, in output order; empty when no name fits
 */
export function inferStatePairs (info: { inputs: Array<{ name: string }>, outputs: Array<{ name: string }> }): StatePair[] {
  const inputs = new Set(info.inputs.map(i => i.name))
  const rules: Array<[RegExp, (m: RegExpExecArray) => string]> = [
    [/^present_(.+)$/, m => `past_${m[1] as string}`],
    [/^present\.(.+)$/, m => `past_key_values.${m[1] as string}`],
    [/^(.+)_out$/, m => `${m[1] as string}_in`]
  ]
  const pairs: StatePair[] = []
  for (const { name } of info.outputs) {
    for (const [re, input] of rules) {
      const m = re.exec(name)
      if (m == null) continue
      const candidate = input(m)
      if (inputs.has(candidate) && !pairs.some(p => p.input === candidate)) { pairs.push({ output: name, input: candidate }); break }
    }
  }
  return pairs
}
