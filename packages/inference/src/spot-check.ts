/**
 * The spot-check vote, pure: a sampled micro-batch is run by a second
 * worker; two outputs that agree settle it, a disagreement asks a third
 * worker, and the worker whose output disagrees with the two others is in
 * the minority (it is caught). Golem verifies the same way (re-run on a
 * second provider, a third on disagreement).
 */

/** Outcome of {@link judgeSpotCheck}. */
export type SpotCheckVerdict<W extends string = string> =
  /** fewer outputs than wanted yet */
  | { state: 'waiting', want: number }
  /** two outputs agree (the first two, or a majority of three) */
  | { state: 'agreed', workers: W[] }
  /** two outputs disagree: a third worker must run it */
  | { state: 'disputed', want: 3, workers: W[] }
  /** three outputs, one disagrees with two that agree */
  | { state: 'caught', loser: W, witnesses: [W, W], workers: W[] }
  /** three outputs, no two agree */
  | { state: 'no-majority', workers: W[] }

/**
 * Judges the outputs gathered for one sampled micro-batch, in the order
 * they arrived.
 *
 * @param outputs - [worker, output] pairs, at most 3 are read
 * @param close - true when two outputs agree within tolerance
 */
export function judgeSpotCheck<W extends string, T> (outputs: Array<[W, T]>, close: (a: T, b: T) => boolean): SpotCheckVerdict<W> {
  const workers = outputs.map(o => o[0])
  if (outputs.length < 2) return { state: 'waiting', want: 2 }
  const [x, y, z] = outputs as [[W, T], [W, T], [W, T] | undefined]
  const xy = close(x[1], y[1])
  if (z == null) return xy ? { state: 'agreed', workers } : { state: 'disputed', want: 3, workers }
  if (xy) {
    // the third run was asked for a dispute, so x and y agreeing now means z is the odd one out
    return close(x[1], z[1]) ? { state: 'agreed', workers: workers.slice(0, 3) } : { state: 'caught', loser: z[0], witnesses: [x[0], y[0]], workers: workers.slice(0, 3) }
  }
  if (close(y[1], z[1])) return { state: 'caught', loser: x[0], witnesses: [y[0], z[0]], workers: workers.slice(0, 3) }
  if (close(x[1], z[1])) return { state: 'caught', loser: y[0], witnesses: [x[0], z[0]], workers: workers.slice(0, 3) }
  return { state: 'no-majority', workers: workers.slice(0, 3) }
}
