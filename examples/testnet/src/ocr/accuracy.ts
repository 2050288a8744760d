import { distance } from 'fastest-levenshtein'

/**
 * Character accuracy of OCR output: `1 − Levenshtein(expected, actual) /
 * max(1, expected.length)`, clamped to 0..1 (1 is a perfect read; every
 * wrong, missing or extra character costs `1 / expected.length`).
 */
export function characterAccuracy (expected: string, actual: string): number {
  const score = 1 - distance(expected, actual) / Math.max(1, expected.length)
  return Math.min(1, Math.max(0, score))
}
