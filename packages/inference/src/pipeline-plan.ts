import { InferenceError } from './errors.js'
import type { BatchAxes } from './micro-batch.js'
import type { WireTensor } from '@fleetmesh/protocol'

/**
 * Pipeline routing, pure: which tensors each stage receives and from whom,
 * and the per-micro-batch join a stage worker does when its inputs come
 * from two senders. Activations come from the stage before (pass-through
 * nodes of the partition carry a tensor across stages in between);
 * original graph inputs come from the requester directly: batched ones
 * in a data frame per micro-batch (same seq as the activations), broadcast
 * ones once when the stage session opens.
 */

/** A stage as far as routing needs it (`Stage` of @fleetmesh/runtime fits). */
export interface StageShape {
  index: number
  /** every input name of the stage model */
  inputs: string[]
  /** the original graph inputs among `inputs` */
  graphInputs: string[]
  outputs: string[]
}

/** What one stage receives. */
export interface StageFeed {
  stage: number
  /** tensors produced by the previous stage */
  fromPrevious: string[]
  /** batched graph inputs the requester sends per micro-batch */
  batched: string[]
  /** broadcast graph inputs the requester sends once per session */
  broadcast: string[]
}

/**
 * Routes each stage's inputs.
 *
 * @throws InferenceError when a stage reads a tensor no one provides (not an output of the stage before, not a graph input)
 */
export function planPipelineFeeds (stages: StageShape[], axes: BatchAxes): StageFeed[] {
  return stages.map((st, k) => {
    const graph = new Set(st.graphInputs)
    const fromPrevious = st.inputs.filter(n => !graph.has(n))
    const before = stages[k - 1]
    for (const n of fromPrevious) {
      if (before == null || !before.outputs.includes(n)) throw new InferenceError(`stage ${k} reads "${n}", which is neither a graph input nor an output of stage ${k - 1}`)
    }
    for (const n of st.graphInputs) {
      if (!(n in axes)) throw new InferenceError(`stage ${k} reads graph input "${n}", which the job does not carry`)
    }
    return {
      stage: k,
      fromPrevious,
      batched: st.graphInputs.filter(n => axes[n] != null),
      broadcast: st.graphInputs.filter(n => axes[n] === null)
    }
  })
}

/** The tensors of `all` named in `names`, in that order. @throws InferenceError if one is missing */
export function pick (all: WireTensor[], names: string[], what: string): WireTensor[] {
  return names.map(n => {
    const t = all.find(x => x.name === n)
    if (t == null) throw new InferenceError(`${what}: tensor "${n}" is missing`)
    return t
  })
}

/**
 * A stage worker's join of one micro-batch's parts by seq: the previous
 * stage's activations and the requester's batched inputs arrive on two
 * streams in any order; a micro-batch runs once every expected part is in.
 * Bounded: at most `maxPending` incomplete micro-batches are held.
 */
export class StageJoin<P> {
  private readonly pending = new Map<number, Map<string, P>>()

  /**
   * @param sources - the part names every micro-batch needs, e.g. `['previous', 'requester']`
   * @param maxPending - incomplete micro-batches held at most
   */
  constructor (private readonly sources: readonly string[], private readonly maxPending: number) {}

  /** incomplete micro-batches held now */
  get size (): number { return this.pending.size }

  /**
   * Adds one part; returns every part of the micro-batch once complete (and forgets it).
   *
   * @throws InferenceError for an unknown source, a part sent twice, or more than `maxPending` incomplete micro-batches
   */
  add (seq: number, source: string, part: P): Map<string, P> | undefined {
    if (!this.sources.includes(source)) throw new InferenceError(`micro-batch ${seq}: unexpected part from ${source}`)
    let parts = this.pending.get(seq)
    if (parts == null) {
      if (this.sources.length === 1) return new Map([[source, part]])
      if (this.pending.size >= this.maxPending) throw new InferenceError(`more than ${this.maxPending} micro-batches wait for their other part; the senders are out of step`)
      parts = new Map()
      this.pending.set(seq, parts)
    }
    if (parts.has(source)) throw new InferenceError(`micro-batch ${seq}: part from ${source} sent twice`)
    parts.set(source, part)
    if (parts.size < this.sources.length) return undefined
    this.pending.delete(seq)
    return parts
  }

  clear (): void { this.pending.clear() }
}
