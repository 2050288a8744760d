import { SessionError } from './errors.js'
import type { WireTensor } from '@fleetmesh/protocol'

/**
 * Token generation over anything with `step()`, greedy only: the stand-in
 * until the samplers (greedy, seeded top-k) of sampler.ts take its place.
 */

/** What a generation asks for. */
export interface GenerateInit {
  /** prompt token ids */
  prompt: number[]
  /** tokens to generate */
  maxTokens: number
  /** @default greedy */
  sampler?: { kind: 'greedy' } | { kind: 'top-k', k: number, seed: number, temperature?: number }
  /** generation stops after this token */
  stopToken?: number
  /** @default 'input_ids' */
  inputName?: string
  /** @default 'logits' */
  logitsName?: string
}

/** Greedy generation: the prompt in one step, then one token per step. @throws SessionError ERR_SESSION_INPUT for a sampler other than greedy or a step without logits */
export async function * generateTokens (stepper: { step: (inputs: WireTensor[]) => Promise<WireTensor[]> }, init: GenerateInit): AsyncGenerator<number> {
  if (init.sampler != null && init.sampler.kind !== 'greedy') throw new SessionError(`sampler ${init.sampler.kind} is not available here`, { code: 'ERR_SESSION_INPUT' })
  const inputName = init.inputName ?? 'input_ids'
  const logitsName = init.logitsName ?? 'logits'
  let tokens = init.prompt
  for (let i = 0; i < init.maxTokens; i++) {
    const out = await stepper.step([{ name: inputName, dtype: 'int64', dims: [1, tokens.length], data: BigInt64Array.from(tokens.map(BigInt)) }])
    const logits = out.find(t => t.name === logitsName)
    if (logits == null) throw new SessionError(`the step gave no output "${logitsName}"`, { code: 'ERR_SESSION_INPUT' })
    const vocab = logits.dims.at(-1) as number
    const row = (logits.data as Float32Array).subarray(logits.data.length - vocab)
    let best = 0
    for (let v = 1; v < vocab; v++) if ((row[v] as number) > (row[best] as number)) best = v
    yield best
    if (best === init.stopToken) return
    tokens = [best]
  }
}
