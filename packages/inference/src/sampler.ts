import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import { SamplerError } from './errors.js'

/**
 * Token samplers for autoregressive generation (pure: no model, no
 * network): greedy (the argmax) and seeded top-k. A top-k sampler owns its
 * PRNG (xoroshiro128+ from pure-rand), so the same seed and the same
 * logits give the same tokens, locally and on the mesh.
 */

/**
 * How a token is picked from one step's logits:
 * - `greedy`: the highest logit (the lowest token id among equal ones);
 * - `top-k`: one of the `k` highest logits (ties broken by the lower token
 *   id), drawn with probability softmax(logit / temperature) over those k,
 *   from a PRNG seeded with `seed` (an integer; the same seed, the same
 *   draws). `temperature` @default 1.
 */
export type SamplerSpec = { kind: 'greedy' } | { kind: 'top-k', k: number, seed: number, temperature?: number }

/** A sampler with its own PRNG state: each `next()` picks one token. */
export interface Sampler {
  /**
   * Picks a token id from one step's logits row (one value per token of
   * the vocabulary). Advances the PRNG (top-k).
   *
   * @throws SamplerError if the row is empty
   */
  next: (logits: Float32Array) => number
}

/** The index of the highest value (the lowest index among equal ones); NaN never wins. */
function argmax (logits: Float32Array): number {
  let best = 0
  let value = Number.NEGATIVE_INFINITY
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i] as number
    if (v > value) { value = v; best = i }
  }
  return best
}

/**
 * The indices of the k highest values, highest first (ties: lower index
 * first). O(n · k) with insertion into a short list: k is small.
 */
export function topK (logits: Float32Array, k: number): number[] {
  const top: number[] = []
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i] as number
    if (Number.isNaN(v)) continue
    if (top.length === k && v <= (logits[top[k - 1] as number] as number)) continue
    let at = top.length
    while (at > 0 && v > (logits[top[at - 1] as number] as number)) at--
    top.splice(at, 0, i)
    if (top.length > k) top.pop()
  }
  return top
}

/**
 * Creates a sampler.
 *
 * @throws SamplerError if the spec is not greedy or top-k with an integer k >= 1, an integer seed and a finite temperature > 0
 */
export function createSampler (spec: SamplerSpec): Sampler {
  const checkRow = (logits: Float32Array): void => {
    if (logits.length === 0) throw new SamplerError('the logits row is empty; pass one value per token of the vocabulary')
  }
  if (spec?.kind === 'greedy') {
    return { next: logits => { checkRow(logits); return argmax(logits) } }
  }
  if (spec?.kind !== 'top-k') throw new SamplerError(`unknown sampler ${JSON.stringify((spec as any)?.kind)}; use { kind: 'greedy' } or { kind: 'top-k', k, seed }`)
  const { k, seed } = spec
  const temperature = spec.temperature ?? 1
  if (!Number.isInteger(k) || k < 1) throw new SamplerError(`top-k needs k >= 1 (an integer), got ${k}`)
  if (!Number.isSafeInteger(seed)) throw new SamplerError(`top-k needs an integer seed, got ${seed}`)
  if (!Number.isFinite(temperature) || temperature <= 0) throw new SamplerError(`top-k needs a finite temperature > 0, got ${temperature}; use greedy for temperature 0`)
  const rng = xoroshiro128plus(seed)
  return {
    next: logits => {
      checkRow(logits)
      const candidates = topK(logits, k)
      if (candidates.length === 0) return argmax(logits)
      const max = logits[candidates[0] as number] as number
      const weights = candidates.map(i => Math.exp(((logits[i] as number) - max) / temperature))
      const total = weights.reduce((a, b) => a + b, 0)
      let u = uniformFloat64(rng) * total
      for (const [j, w] of weights.entries()) {
        u -= w
        if (u < 0) return candidates[j] as number
      }
      return candidates[candidates.length - 1] as number
    }
  }
}
