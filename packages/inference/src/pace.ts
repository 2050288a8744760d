import { MAX_IN_FLIGHT, PACE_SAMPLES, STARVED_FACTOR, STRAGGLER_FACTOR, STRAGGLER_MIN_MS } from './constants.js'

/**
 * Per-worker pacing of data-parallel micro-batches, pure (time is passed
 * in): how many micro-batches a worker may hold at once, and when an
 * outstanding one is late enough to back up on another worker.
 *
 * A worker starts with one micro-batch in flight. Each result tells how
 * long the worker computed (`computeMs`, its own figure) and when it
 * arrived; when results arrive further apart than the worker computes
 * (by more than STARVED_FACTOR) the worker sat idle waiting for the next
 * micro-batch — the round trip is not hidden — so its window grows by
 * one, up to MAX_IN_FLIGHT. A worker that keeps up stays where it is. So
 * a slow worker holds one micro-batch and its share follows its
 * throughput; a fast one on a long round trip holds a few.
 *
 * A micro-batch is late once it has been out longer than
 * STRAGGLER_FACTOR × that worker's median time from send to result
 * (at least STRAGGLER_MIN_MS; before a worker's first result, the
 * median of all workers): backup tasks as in MapReduce, the first
 * result wins.
 */
export class Pace {
  private readonly workers = new Map<string, WorkerPace>()

  /** The worker's current window (micro-batches it may hold), starting at 1. */
  window (worker: string): number {
    return this.get(worker).window
  }

  /** Records that a micro-batch was sent to a worker at `now` (ms). */
  sent (worker: string, now: number): void {
    const w = this.get(worker)
    w.outstanding++
    w.lastSentAt = now
  }

  /**
   * Records a result: `wallMs` from send to result, `computeMs` the
   * worker's own compute time, `now` the arrival time.
   */
  result (worker: string, wallMs: number, computeMs: number, now: number): void {
    const w = this.get(worker)
    w.outstanding = Math.max(0, w.outstanding - 1)
    push(w.wall, wallMs)
    push(w.compute, Math.max(0.01, computeMs))
    // the gap between consecutive results while the window stayed full
    if (w.lastResultAt != null && w.fullSince != null && w.fullSince <= w.lastResultAt) {
      push(w.gaps, now - w.lastResultAt)
    }
    w.lastResultAt = now
    if (w.gaps.length >= 2 && w.window < MAX_IN_FLIGHT && median(w.gaps) > STARVED_FACTOR * median(w.compute)) {
      w.window++
      w.gaps.length = 0
    }
  }

  /** Records that the worker's window is full at `now` (called after filling it). */
  full (worker: string, now: number): void {
    const w = this.get(worker)
    if (w.outstanding >= w.window) w.fullSince ??= now
    else w.fullSince = undefined
  }

  /** Records that a micro-batch left the worker without a result (lost, re-queued). */
  dropped (worker: string): void {
    const w = this.get(worker)
    w.outstanding = Math.max(0, w.outstanding - 1)
  }

  /** Forgets a worker (its lease ended). */
  forget (worker: string): void {
    this.workers.delete(worker)
  }

  /** ms after which a micro-batch sent to this worker counts as late. */
  lateAfterMs (worker: string): number {
    const own = this.workers.get(worker)
    let base = own != null && own.wall.length > 0 ? median(own.wall) : undefined
    if (base == null) {
      const all = [...this.workers.values()].flatMap(w => w.wall)
      base = all.length > 0 ? median(all) : undefined
    }
    if (base == null) return Number.POSITIVE_INFINITY
    return Math.max(STRAGGLER_MIN_MS, STRAGGLER_FACTOR * base)
  }

  /** The median compute time the worker reported, ms (undefined before its first result). */
  medianComputeMs (worker: string): number | undefined {
    const w = this.workers.get(worker)
    return w != null && w.compute.length > 0 ? median(w.compute) : undefined
  }

  private get (worker: string): WorkerPace {
    let w = this.workers.get(worker)
    if (w == null) {
      w = { window: 1, outstanding: 0, wall: [], compute: [], gaps: [] }
      this.workers.set(worker, w)
    }
    return w
  }
}

interface WorkerPace {
  window: number
  outstanding: number
  wall: number[]
  compute: number[]
  gaps: number[]
  lastSentAt?: number
  lastResultAt?: number
  fullSince?: number
}

function push (xs: number[], x: number): void {
  xs.push(x)
  if (xs.length > PACE_SAMPLES) xs.shift()
}

/** Median of a non-empty list. */
export function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] as number : ((s[m - 1] as number) + (s[m] as number)) / 2
}
