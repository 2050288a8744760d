/**
 * The `p` quantile (0..1) of `values` by the nearest-rank method; NaN for
 * no values. Infinite values count (a message that never arrived makes
 * the p99 infinite, as it should).
 */
export function percentile (values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)))
  return sorted[rank - 1]
}
