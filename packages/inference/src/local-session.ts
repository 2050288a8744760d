import { checkStatePairs, LocalSession, StateError, validateModel, zeroState } from '@fleetmesh/runtime'
import { GenerationError, SessionClosedError } from './errors.js'
import { createSampler } from './sampler.js'
import type { SamplerSpec } from './sampler.js'
import type { WireTensor } from '@fleetmesh/protocol'
import type { StatePair } from '@fleetmesh/runtime'

/**
 * Stateful stepping in this process, and token generation against anything
 * that steps: the reference mesh sessions are checked against.
 */

/** Something that runs one step of a stateful model: the new inputs in, the outputs minus the state outputs back. */
export interface Stepper {
  step: (inputs: WireTensor[]) => Promise<WireTensor[]>
}

/** What {@link LocalStatefulSession.open} needs besides the model. */
export interface LocalSessionInit {
  /** the model's state pairs (output fed back as input) */
  state: StatePair[]
  /** the state before the first step, one tensor per pair named after its input @default zeros of each state input's declared shape, symbolic dims 0 */
  initialState?: WireTensor[]
  /** onnxruntime's intra-op threads @default 0 (onnxruntime chooses) */
  intraOpNumThreads?: number
}

/**
 * Steps a stateful model in this process (onnxruntime in-process, through
 * the runtime's `LocalSession`): every step feeds the given inputs plus the
 * state, keeps each state output as the next step's state input, and
 * returns the other outputs. Steps run one at a time, in call order.
 */
export class LocalStatefulSession implements Stepper {
  private state: WireTensor[]
  private queue: Promise<unknown> = Promise.resolve()
  private closed = false
  private count = 0

  private constructor (private readonly session: LocalSession, private readonly pairs: StatePair[], initial: WireTensor[]) {
    this.state = initial
  }

  /**
   * Opens a session on model bytes.
   *
   * @throws InvalidModelError (and the other validation errors of `validateModel`) if the bytes are not a safe ONNX model
   * @throws StateError if a pair does not fit the model, or `initialState` lacks a tensor for a pair's input
   */
  static async open (model: Uint8Array, init: LocalSessionInit): Promise<LocalStatefulSession> {
    const info = validateModel(model)
    checkStatePairs(info, init.state)
    const initial = init.initialState ?? zeroState(info, init.state)
    const state = init.state.map(pair => {
      const t = initial.find(x => x.name === pair.input)
      if (t == null) throw new StateError(`initialState has no tensor named "${pair.input}" (the input of state pair ${pair.output} → ${pair.input}); give one per pair, or leave initialState out for zeros`)
      return t
    })
    return new LocalStatefulSession(await LocalSession.create(model, { intraOpNumThreads: init.intraOpNumThreads }), init.state.map(p => ({ ...p })), state)
  }

  /** Steps run so far. */
  get steps (): number { return this.count }

  /** The state the next step reads, one tensor per pair (named after its input), in pair order. */
  get currentState (): readonly WireTensor[] { return this.state }

  /**
   * Runs one step.
   *
   * @param inputs - the model's inputs that are not state inputs
   * @returns the outputs that are not state outputs, in the model's output order
   * @throws SessionClosedError after `close()`
   * @throws StateError if `inputs` holds a state input (the session feeds those)
   */
  async step (inputs: WireTensor[]): Promise<WireTensor[]> {
    const run = this.queue.then(async () => this.run(inputs))
    this.queue = run.catch(() => {})
    return run
  }

  private async run (inputs: WireTensor[]): Promise<WireTensor[]> {
    if (this.closed) throw new SessionClosedError('this session is closed; open a new one to step again')
    const fed = inputs.find(t => this.pairs.some(p => p.input === t.name))
    if (fed != null) throw new StateError(`"${fed.name}" is a state input, which the session feeds itself; pass only the other inputs`)
    const outputs = await this.session.run([...inputs, ...this.state])
    this.state = this.pairs.map(pair => ({ ...(outputs.find(o => o.name === pair.output) as WireTensor), name: pair.input }))
    this.count++
    return outputs.filter(o => !this.pairs.some(p => p.output === o.name))
  }

  /** Releases the onnxruntime session; idempotent. Steps already queued finish first. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.queue
    await this.session.release()
  }
}

/** What {@link generateTokens} generates. */
export interface GenerateInit {
  /** the prompt's token ids (at least one) */
  prompt: number[]
  /** tokens to generate (0 generates none) */
  maxTokens: number
  /** @default { kind: 'greedy' } */
  sampler?: SamplerSpec
  /** a token that ends the generation once generated (it is yielded) */
  stopToken?: number
  /** the model's int64 `[1, seq]` token input @default 'input_ids' */
  inputName?: string
  /** the model's logits output, `[…, vocab]`; its last row is sampled @default 'logits' */
  logitsName?: string
}

/** Token ids as the model's `[1, n]` int64 input. */
function tokenInput (name: string, tokens: number[]): WireTensor {
  return { name, dtype: 'int64', dims: [1, tokens.length], data: BigInt64Array.from(tokens, t => BigInt(t)) }
}

/**
 * Generates tokens autoregressively: the first step sends the whole
 * prompt, every later step only the token generated last (the stepper
 * keeps the state, e.g. the KV cache); each step's last logits row goes to
 * the sampler. Yields each token as it is generated; stops after
 * `maxTokens`, or after yielding `stopToken`. The last token yielded is
 * never stepped (nothing reads its logits), so a generation of n tokens
 * takes n steps.
 *
 * @param stepper - a {@link LocalStatefulSession}, a mesh session: anything with `step()`
 * @throws GenerationError if the prompt is empty or not token ids, maxTokens is not an integer >= 0, or a step's outputs lack the logits
 * @throws SamplerError if the sampler spec is bad
 */
export async function * generateTokens (stepper: Stepper, init: GenerateInit): AsyncGenerator<number> {
  const { prompt, maxTokens } = init
  const inputName = init.inputName ?? 'input_ids'
  const logitsName = init.logitsName ?? 'logits'
  if (!Array.isArray(prompt) || prompt.length === 0 || prompt.some(t => !Number.isSafeInteger(t) || t < 0)) {
    throw new GenerationError(`the prompt must be at least one token id (an integer >= 0), got ${JSON.stringify(prompt)}`)
  }
  if (!Number.isSafeInteger(maxTokens) || maxTokens < 0) throw new GenerationError(`maxTokens must be an integer >= 0, got ${maxTokens}`)
  const sampler = createSampler(init.sampler ?? { kind: 'greedy' })
  let next = prompt
  for (let n = 0; n < maxTokens; n++) {
    const outputs = await stepper.step([tokenInput(inputName, next)])
    const logits = outputs.find(t => t.name === logitsName)
    if (logits == null || !(logits.data instanceof Float32Array) || logits.dims.length === 0) {
      throw new GenerationError(`the step gave no float32 "${logitsName}" output (it gave ${outputs.map(t => `${t.name}: ${t.dtype}`).join(', ') || 'nothing'}); set logitsName to the model's logits output`)
    }
    const vocab = logits.dims[logits.dims.length - 1] as number
    const token = sampler.next(logits.data.subarray(logits.data.length - vocab))
    yield token
    if (token === init.stopToken) return
    next = [token]
  }
}
