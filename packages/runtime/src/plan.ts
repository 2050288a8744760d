import { PlacementError } from './errors.js'
import type { Stage } from './partition.js'

/**
 * Stage placement: which peer runs which pipeline stage. A pipeline runs at
 * the pace of its slowest stage, so the plan minimises the bottleneck: the
 * largest per-stage time, where a stage's time is its compute (FLOPs ÷ the
 * peer's measured speed) plus sending its activations to the next stage
 * (bytes ÷ bandwidth + the RTT between the two peers). Peers must hold the
 * stage's weights in their memory budget. Ties go to the plan with the
 * smallest total RTT along the chain (nearby peers), then to PeerIds in
 * order (deterministic).
 *
 * This is the memory-weighted, throughput-aware assignment of exo's
 * partitioning and Petals' block assignment, solved exactly by search when
 * the candidate count is small (at most MAX_EXHAUSTIVE_PLANS plans) and
 * greedily otherwise (largest stage first to the fastest peer that fits).
 */

/** A candidate peer for stages. */
export interface PlacementPeer {
  /** PeerId string */
  id: string
  /** memory the peer offers for model weights and activations, bytes */
  memoryBytes: number
  /** measured compute speed, FLOP/s (from a throughput profile) */
  flopsPerSecond: number
  /** round-trip time to other peers by PeerId, ms; missing entries count as `defaultRttMs` */
  rttMs?: Record<string, number>
}

/** Options of {@link planStages}. */
export interface PlanOptions {
  /** link bandwidth between peers, bytes/s @default 20 MB/s (a conservative LAN/5G figure) */
  bandwidthBytesPerSecond?: number
  /** RTT assumed where a peer did not measure one, ms @default 50 */
  defaultRttMs?: number
  /**
   * memory a stage needs per byte of weights: the weights are held by the
   * model buffer and by the session, plus onnxruntime's arena; 3 is an
   * assumed rule of thumb, not a measurement
   *
   * @default 3
   */
  memoryFactor?: number
}

/** One stage's place in the plan. */
export interface StagePlacement {
  stage: number
  peer: string
  /** compute time per run, ms */
  computeMs: number
  /** time to send this stage's activations to the next stage, ms (0 for the last) */
  transferMs: number
  /** memory needed, bytes */
  memoryBytes: number
}

/** The result of {@link planStages}. */
export interface StagePlan {
  placements: StagePlacement[]
  /** the slowest stage's time per run, ms: the pipeline's steady-state period */
  bottleneckMs: number
  /** sum of RTTs between consecutive stages, ms */
  chainRttMs: number
}

export const MAX_EXHAUSTIVE_PLANS = 200_000

type StageCost = Pick<Stage, 'index' | 'flops' | 'paramBytes' | 'outputBytes'>

/**
 * Places pipeline stages on peers, one stage per peer.
 *
 * @param stages - from `partitionModel` (FLOPs, parameter bytes, output bytes per stage)
 * @param peers - candidates with memory budget and measured speed
 * @throws PlacementError if fewer peers than stages fit, naming the stage that does not fit
 */
export function planStages (stages: StageCost[], peers: PlacementPeer[], options: PlanOptions = {}): StagePlan {
  const bw = options.bandwidthBytesPerSecond ?? 20e6
  const defaultRtt = options.defaultRttMs ?? 50
  const factor = options.memoryFactor ?? 3
  const K = stages.length
  if (K === 0) throw new PlacementError('no stages to place')
  const need = stages.map(s => Math.ceil(s.paramBytes * factor + s.outputBytes * 2))
  const sorted = [...peers].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  for (let k = 0; k < K; k++) {
    if (!sorted.some(p => p.memoryBytes >= (need[k] as number))) {
      throw new PlacementError(`stage ${k} needs ${need[k]} bytes of memory and no peer offers that much; cut the model into more stages or add a larger peer`)
    }
  }
  if (sorted.length < K) throw new PlacementError(`${K} stages need ${K} peers, only ${sorted.length} given; use fewer stages`)
  const rtt = (a: PlacementPeer, b: PlacementPeer): number => a.rttMs?.[b.id] ?? b.rttMs?.[a.id] ?? defaultRtt
  const computeMs = (k: number, p: PlacementPeer): number => (stages[k]?.flops ?? 0) / Math.max(1, p.flopsPerSecond) * 1000
  const transferMs = (k: number, p: PlacementPeer, next?: PlacementPeer): number => next == null ? 0 : (stages[k]?.outputBytes ?? 0) / bw * 1000 + rtt(p, next)

  const evaluate = (chosen: PlacementPeer[]): { bottleneck: number, chain: number } => {
    let bottleneck = 0
    let chain = 0
    for (let k = 0; k < K; k++) {
      const p = chosen[k] as PlacementPeer
      const next = chosen[k + 1]
      bottleneck = Math.max(bottleneck, computeMs(k, p) + transferMs(k, p, next))
      if (next != null) chain += rtt(p, next)
    }
    return { bottleneck, chain }
  }

  let plans = 1
  for (let i = 0; i < K; i++) plans *= sorted.length - i
  let best: PlacementPeer[] | undefined
  let bestScore = { bottleneck: Number.POSITIVE_INFINITY, chain: Number.POSITIVE_INFINITY }
  const better = (a: typeof bestScore, b: typeof bestScore): boolean => a.bottleneck < b.bottleneck - 1e-9 || (Math.abs(a.bottleneck - b.bottleneck) <= 1e-9 && a.chain < b.chain - 1e-9)

  if (plans <= MAX_EXHAUSTIVE_PLANS) {
    const chosen: PlacementPeer[] = []
    const used = new Set<string>()
    const search = (k: number): void => {
      if (k === K) {
        const score = evaluate(chosen)
        if (better(score, bestScore)) { bestScore = score; best = [...chosen] }
        return
      }
      for (const p of sorted) {
        if (used.has(p.id) || p.memoryBytes < (need[k] as number)) continue
        chosen.push(p); used.add(p.id)
        search(k + 1)
        chosen.pop(); used.delete(p.id)
      }
    }
    search(0)
  } else {
    // greedy: heaviest stage first, each to the fastest free peer that fits
    const order = stages.map((_, k) => k).sort((a, b) => (stages[b]?.flops ?? 0) - (stages[a]?.flops ?? 0))
    const byspeed = [...sorted].sort((a, b) => b.flopsPerSecond - a.flopsPerSecond)
    const chosen: PlacementPeer[] = new Array(K)
    const used = new Set<string>()
    for (const k of order) {
      const p = byspeed.find(q => !used.has(q.id) && q.memoryBytes >= (need[k] as number))
      if (p == null) break
      chosen[k] = p
      used.add(p.id)
    }
    if (chosen.filter(Boolean).length === K) { best = chosen; bestScore = evaluate(chosen) }
  }
  if (best == null) throw new PlacementError(`no assignment of ${K} stages to ${sorted.length} peers fits their memory budgets`)
  const plan = best
  return {
    placements: plan.map((p, k) => ({ stage: k, peer: p.id, computeMs: computeMs(k, p), transferMs: transferMs(k, p, plan[k + 1]), memoryBytes: need[k] as number })),
    bottleneckMs: bestScore.bottleneck,
    chainRttMs: bestScore.chain
  }
}
