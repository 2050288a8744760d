import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { outputDigest } from '../src/digest.js'
import type { WireTensor } from '@fleetmesh/protocol'

/** The digest as specified (see digest.ts): `Math.round(x / tolerance) + 0` per float element, as float64, hashed with sha2-256. */
function referenceDigest (tensors: WireTensor[], tolerance = 1e-3): string {
  const h = createHash('sha256')
  h.update(`fleetmesh-output-digest/1 ${tensors.length}\n`)
  for (const t of tensors) {
    h.update(`${t.name}\n${t.dtype}\n${t.dims.join(',')}\n`)
    if (t.dtype !== 'float32' && t.dtype !== 'float64') {
      h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))
      continue
    }
    const q = Float64Array.from(t.data as Float32Array, x => Number.isNaN(x) ? NaN : Math.round(x / tolerance) + 0)
    h.update(new Uint8Array(q.buffer))
  }
  return h.digest('hex')
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('output digests', () => {
  it('keep their format: a fixed tensor list hashes to the digest the first version produced', () => {
    const f32 = new Float32Array([0, -0, 0.0005, -0.0005, 0.0015, -0.0025, 1.2345678, -98765.4321, 3e38, -3e38, Infinity, -Infinity, NaN, 1e-40])
    const f64 = new Float64Array([0.0005, 2.5e-3, -2.5e-3, 1e300, -4.4e12 - 0.0005, 2251799813.685, NaN])
    const f16 = new Uint16Array([0x3c00, 0xbc00, 0x7c00, 0xfc00, 0x7e00, 0x0001, 0x1400])
    const tensors: WireTensor[] = [
      { name: 'a', dtype: 'float32', dims: [14], data: f32 },
      { name: 'b', dtype: 'float64', dims: [7], data: f64 },
      { name: 'c', dtype: 'float16', dims: [7], data: f16 } as unknown as WireTensor,
      { name: 'd', dtype: 'int64', dims: [2], data: new BigInt64Array([1n, -2n]) } as unknown as WireTensor
    ]
    assert.equal(hex(outputDigest(tensors)), '50aca83ae29340a1d70100c6b9a31c5a731f8a72cdfce1e67d719646865ca627')
  })

  it('equal the Math.round definition for any float32 and float64 elements, exact ties, ±0, NaN, ±Infinity and huge magnitudes included', () => {
    const tolerance = fc.constantFrom(1e-3, 1e-2, 0.5, 1, 1e-6)
    // multiples of tolerance/2 hit the rounding ties exactly
    const tie = fc.integer({ min: -2_000_000, max: 2_000_000 }).map(k => (k + 0.5) * 1e-3)
    const f64 = fc.oneof(fc.double(), tie, fc.constantFrom(2 ** 51, -(2 ** 51), 2 ** 51 + 0.5, 2 ** 52, -(2 ** 53), 4.4e15 + 0.5, -4.4e15 - 0.5))
    fc.assert(fc.property(fc.array(f64, { maxLength: 64 }), tolerance, (xs, tol) => {
      const a: WireTensor = { name: 'x', dtype: 'float64', dims: [xs.length], data: Float64Array.from(xs) }
      const b: WireTensor = { name: 'y', dtype: 'float32', dims: [xs.length], data: Float32Array.from(xs) }
      assert.equal(hex(outputDigest([a, b], tol)), referenceDigest([a, b], tol))
    }), { numRuns: 500 })
  })
})
