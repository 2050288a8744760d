import { DTYPE_BYTES } from '@fleetmesh/protocol'
import { SessionError } from './errors.js'
import type { TensorDType, WireTensor } from '@fleetmesh/protocol'
import type { StatePair } from '@fleetmesh/runtime'

/**
 * Session planning, pure: which stage keeps which state pair, what each
 * stage reads from the stage before and from the requester, what it
 * forwards, the initial state of each stage, and the check of one step's
 * inputs. The networking files (session.ts, session-worker.ts) call it.
 */

/** A declared model tensor, as far as session planning needs it (`TensorInfo` of @fleetmesh/runtime fits). */
export interface DeclaredTensor {
  name: string
  /** onnxruntime dtype name */
  dtype: string
  /** a number, a symbolic name, or null if unknown */
  shape: Array<number | string | null>
}

/**
 * A session stage as far as planning needs it: `Stage` of
 * @fleetmesh/runtime partitioned with the state pairs fits, and so does
 * the whole model as one stage (every input a graph input, no `state`).
 */
export interface SessionStageShape {
  index: number
  /** every input name of the stage model */
  inputs: string[]
  /** the original graph inputs among `inputs` (state inputs among them or not: the state pairs say which the worker feeds) */
  graphInputs: string[]
  outputs: string[]
}

/** What one session stage keeps, reads and sends. */
export interface SessionStagePlan {
  stage: number
  /** the state pairs this stage keeps (both ends are its own) */
  state: StatePair[]
  /** tensors the previous stage sends it each step */
  fromPrevious: string[]
  /** graph inputs the requester sends it each step (never a state input) */
  fromRequester: string[]
  /** outputs it sends on each step (to the next stage, or the step's outputs for the last stage): its outputs minus the state outputs no later stage reads */
  sends: string[]
}

/**
 * Assigns each state pair to the stage that has both its input and its
 * output, and routes the other tensors.
 *
 * @throws SessionError `ERR_SESSION_STATE` when a pair names a tensor the model lacks, a pair is split across two stages (partition with the state pairs), two pairs feed one input, or a stage reads a tensor no one provides
 */
export function planSessionStages (stages: SessionStageShape[], state: StatePair[]): SessionStagePlan[] {
  const inputs = new Set<string>()
  for (const p of state) {
    if (inputs.has(p.input)) throw new SessionError(`two state pairs feed input "${p.input}"`, { code: 'ERR_SESSION_STATE' })
    inputs.add(p.input)
    const withInput = stages.find(s => s.inputs.includes(p.input))
    const withOutput = stages.find(s => s.outputs.includes(p.output))
    if (withInput == null) throw new SessionError(`state pair ${p.output} -> ${p.input}: the model has no input "${p.input}"`, { code: 'ERR_SESSION_STATE' })
    if (withOutput == null) throw new SessionError(`state pair ${p.output} -> ${p.input}: the model has no output "${p.output}"`, { code: 'ERR_SESSION_STATE' })
    if (withInput !== withOutput) throw new SessionError(`state pair ${p.output} -> ${p.input} is split across stages ${withOutput.index} and ${withInput.index}: partition the model with its state pairs`, { code: 'ERR_SESSION_STATE' })
  }
  const stateInputs = new Set(state.map(p => p.input))
  const stateOutputs = new Set(state.map(p => p.output))
  return stages.map((st, k) => {
    const graph = new Set(st.graphInputs)
    const fromPrevious = st.inputs.filter(n => !graph.has(n) && !stateInputs.has(n))
    const before = stages[k - 1]
    for (const n of fromPrevious) {
      if (before == null || !before.outputs.includes(n)) throw new SessionError(`stage ${k} reads "${n}", which is neither a graph input, a state input, nor an output of stage ${k - 1}`, { code: 'ERR_SESSION_STATE' })
    }
    const after = stages[k + 1]
    return {
      stage: k,
      state: state.filter(p => st.inputs.includes(p.input)),
      fromPrevious,
      fromRequester: st.graphInputs.filter(n => !stateInputs.has(n)),
      // a state output goes on only where the next stage reads it too
      sends: st.outputs.filter(n => !stateOutputs.has(n) || (after?.inputs.includes(n) ?? false))
    }
  })
}

/**
 * The state a stage starts from: the tensor given for each of its state
 * inputs, else zeros of the input's declared shape with every symbolic or
 * unknown dimension 0 (an empty KV cache, a zero hidden state of a fixed
 * shape).
 *
 * @throws SessionError `ERR_SESSION_STATE` for a state input the model does not declare, or a declared dtype that is not carried on the wire
 */
export function initialStateFor (pairs: StatePair[], declared: DeclaredTensor[], given: WireTensor[] = []): WireTensor[] {
  return pairs.map(p => {
    const g = given.find(t => t.name === p.input)
    if (g != null) return g
    const d = declared.find(t => t.name === p.input)
    if (d == null) throw new SessionError(`state input "${p.input}" is not declared by the model`, { code: 'ERR_SESSION_STATE' })
    if (!(d.dtype in DTYPE_BYTES)) throw new SessionError(`state input "${p.input}" has dtype ${d.dtype}, which cannot be carried: give it in initialState`, { code: 'ERR_SESSION_STATE' })
    const dtype = d.dtype as TensorDType
    const dims = d.shape.map(x => typeof x === 'number' && x >= 0 ? x : 0)
    return zeros(p.input, dtype, dims)
  })
}

/** A tensor of zeros. */
export function zeros (name: string, dtype: TensorDType, dims: number[]): WireTensor {
  const n = dims.reduce((a, b) => a * b, 1)
  const data = dtype === 'int64' ? new BigInt64Array(n) : dtype === 'uint64' ? new BigUint64Array(n) : dtype === 'float64' ? new Float64Array(n) : dtype === 'float32' ? new Float32Array(n) : dtype === 'int32' ? new Int32Array(n) : dtype === 'uint32' ? new Uint32Array(n) : dtype === 'int16' ? new Int16Array(n) : dtype === 'uint16' || dtype === 'float16' ? new Uint16Array(n) : dtype === 'int8' ? new Int8Array(n) : new Uint8Array(n)
  return { name, dtype, dims, data }
}

/**
 * Checks one step's inputs: exactly the model's non-state inputs, each
 * once.
 *
 * @throws SessionError `ERR_SESSION_INPUT` for a state input (it stays on the worker), an unknown or repeated name, or a missing input
 */
export function checkStepInputs (inputs: WireTensor[], expected: string[], state: StatePair[]): void {
  const seen = new Set<string>()
  for (const t of inputs) {
    if (state.some(p => p.input === t.name)) throw new SessionError(`step input "${t.name}" is a state input: the worker keeps it, send only the other inputs`, { code: 'ERR_SESSION_INPUT' })
    if (!expected.includes(t.name)) throw new SessionError(`step input "${t.name}" is not an input of the model (it reads ${expected.join(', ')})`, { code: 'ERR_SESSION_INPUT' })
    if (seen.has(t.name)) throw new SessionError(`step input "${t.name}" is given twice`, { code: 'ERR_SESSION_INPUT' })
    seen.add(t.name)
  }
  for (const n of expected) if (!seen.has(n)) throw new SessionError(`step input "${n}" is missing`, { code: 'ERR_SESSION_INPUT' })
}

/** Bytes of a list of tensors' elements. */
export function tensorBytes (tensors: WireTensor[]): number {
  return tensors.reduce((a, t) => a + t.data.byteLength, 0)
}
