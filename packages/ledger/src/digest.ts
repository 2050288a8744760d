import { createHash } from 'node:crypto'
import { InvalidConfigError } from '@fleetmesh/protocol'
import { OUTPUT_TOLERANCE } from './constants.js'
import type { WireTensor } from '@fleetmesh/protocol'

/**
 * Output digests that honest float noise does not change.
 *
 * Every float element is rounded to the nearest multiple of `tolerance`
 * (`q = round(x / tolerance)`) and the integers are hashed, with each
 * tensor's name, dtype and shape; integer and bool tensors are hashed as
 * raw bytes. Two outputs whose elements all round to the same grid point
 * get the same digest; outputs that differ by more than `tolerance` in
 * any element never do.
 *
 * Known limit (every quantiser has it): an element lying within the noise
 * of a grid boundary (`x / tolerance ≈ k + 0.5`) can round to different
 * points on two honest workers. The chance is about `2 · noise /
 * tolerance` per element, so choose `tolerance` well above the expected
 * noise times the element count, and let the requester compare the actual
 * outputs with {@link tensorsClose} (the verification helper does) — a
 * digest mismatch then only counts when the outputs are really apart.
 */

function halfToFloat (h: number): number {
  const s = (h & 0x8000) !== 0 ? -1 : 1
  const e = (h >> 10) & 0x1f
  const f = h & 0x3ff
  if (e === 0) return s * f * 2 ** -24
  if (e === 31) return f === 0 ? s * Infinity : NaN
  return s * (1 + f / 1024) * 2 ** (e - 15)
}

function floatAt (t: WireTensor, i: number): number {
  return t.dtype === 'float16' ? halfToFloat(t.data[i] as number) : t.data[i] as number
}

const isFloat = (t: WireTensor): boolean => t.dtype === 'float32' || t.dtype === 'float64' || t.dtype === 'float16'

/**
 * sha2-256 of the tensors quantised to `tolerance` (32 bytes).
 *
 * @param tolerance - grid step for float elements, > 0 @default OUTPUT_TOLERANCE (1e-3)
 * @throws InvalidConfigError if tolerance is not a positive finite number
 */
export function outputDigest (tensors: WireTensor[], tolerance = OUTPUT_TOLERANCE): Uint8Array {
  if (!(Number.isFinite(tolerance) && tolerance > 0)) throw new InvalidConfigError(`tolerance ${tolerance} is not a positive number`)
  const h = createHash('sha256')
  h.update(`fleetmesh-output-digest/1 ${tensors.length}\n`)
  for (const t of tensors) {
    h.update(`${t.name}\n${t.dtype}\n${t.dims.join(',')}\n`)
    if (!isFloat(t)) {
      h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))
      continue
    }
    const q = new Float64Array(Math.min(t.data.length, 65536))
    for (let o = 0; o < t.data.length; o += q.length) {
      const n = Math.min(q.length, t.data.length - o)
      for (let i = 0; i < n; i++) {
        const x = floatAt(t, o + i)
        // NaN hashes as NaN (one bit pattern), ±Infinity as itself; -0 rounds to 0
        q[i] = Number.isNaN(x) ? NaN : Math.round(x / tolerance) + 0
      }
      h.update(new Uint8Array(q.buffer, 0, n * 8))
    }
  }
  return new Uint8Array(h.digest())
}

/**
 * True if two tensor lists have the same names, dtypes and shapes and every
 * float element differs by at most `tolerance` (other dtypes: equal).
 */
export function tensorsClose (a: WireTensor[], b: WireTensor[], tolerance = OUTPUT_TOLERANCE): boolean {
  if (a.length !== b.length) return false
  for (let k = 0; k < a.length; k++) {
    const x = a[k] as WireTensor
    const y = b[k] as WireTensor
    if (x.name !== y.name || x.dtype !== y.dtype || x.dims.join(',') !== y.dims.join(',') || x.data.length !== y.data.length) return false
    for (let i = 0; i < x.data.length; i++) {
      if (isFloat(x)) {
        const u = floatAt(x, i)
        const v = floatAt(y, i)
        if (Number.isNaN(u) || Number.isNaN(v)) { if (Number.isNaN(u) !== Number.isNaN(v)) return false; continue }
        if (u !== v && !(Math.abs(u - v) <= tolerance)) return false
      } else if (x.data[i] !== y.data[i]) {
        return false
      }
    }
  }
  return true
}

/** sha2-256 of arbitrary input bytes (the usual input digest of a receipt). */
export function inputDigest (...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}
