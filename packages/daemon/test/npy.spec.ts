import { strict as assert } from 'node:assert'
import { readNpy, writeNpy } from '../src/npy.js'
import type { NpyArray } from '../src/npy.js'

/** Files written by numpy 2.4 (`np.save`, and `write_array(version=(2, 0))`). */
const NUMPY = {
  float32: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAPwAAgD8AAMA/AAAAQAAAIEA=',
  int64: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAAAAAAAAP7/////////AwAAAAAAAAA=',
  uint8Scalar: 'k05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoH',
  float64v2: 'k05VTVBZAgB0AAAAeydkZXNjcic6ICc8ZjgnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoNCwpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAAAAAAAAAPA/AAAAAAAAAEAAAAAAAAAIQA=='
}
const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'))

function header (text: string, major = 1): Uint8Array {
  const h = Buffer.from(text.padEnd(118, ' ') + '\n', 'latin1')
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0, h.length & 0xff, h.length >> 8])
  return new Uint8Array(Buffer.concat([pre, h]))
}

describe('npy', () => {
  it('reads files numpy wrote: float32 (2, 3), int64 (3,), a uint8 scalar, float64 in format 2.0', () => {
    const f = readNpy(b64(NUMPY.float32))
    assert.equal(f.dtype, 'float32')
    assert.deepEqual(f.shape, [2, 3])
    assert.deepEqual([...f.data as Float32Array], [0, 0.5, 1, 1.5, 2, 2.5])
    const i = readNpy(b64(NUMPY.int64))
    assert.equal(i.dtype, 'int64')
    assert.deepEqual([...i.data as BigInt64Array], [1n, -2n, 3n])
    const s = readNpy(b64(NUMPY.uint8Scalar))
    assert.deepEqual(s.shape, [])
    assert.deepEqual([...s.data as Uint8Array], [7])
    const d = readNpy(b64(NUMPY.float64v2))
    assert.equal(d.dtype, 'float64')
    assert.deepEqual([...d.data as Float64Array], [0, 1, 2, 3])
  })

  it('writes what numpy writes, byte for byte', () => {
    assert.deepEqual(writeNpy({ dtype: 'float32', shape: [2, 3], data: Float32Array.from([0, 0.5, 1, 1.5, 2, 2.5]) }), b64(NUMPY.float32))
    assert.deepEqual(writeNpy({ dtype: 'int64', shape: [3], data: BigInt64Array.from([1n, -2n, 3n]) }), b64(NUMPY.int64))
    assert.deepEqual(writeNpy({ dtype: 'uint8', shape: [], data: Uint8Array.from([7]) }), b64(NUMPY.uint8Scalar))
  })

  it('round-trips float32, float64, int32, int64, uint8 with 64-byte aligned data', () => {
    const arrays: NpyArray[] = [
      { dtype: 'float32', shape: [4, 2, 3], data: Float32Array.from({ length: 24 }, (_, k) => Math.sin(k)) },
      { dtype: 'float64', shape: [5], data: Float64Array.from([1e-300, -2, 3.5, Math.PI, 0]) },
      { dtype: 'int32', shape: [2, 2], data: Int32Array.from([-2147483648, 0, 1, 2147483647]) },
      { dtype: 'int64', shape: [1, 3], data: BigInt64Array.from([-(2n ** 63n), 0n, 2n ** 63n - 1n]) },
      { dtype: 'uint8', shape: [3, 1], data: Uint8Array.from([0, 128, 255]) }
    ]
    for (const a of arrays) {
      const bytes = writeNpy(a)
      const headerLen = (bytes[8] as number) + ((bytes[9] as number) << 8)
      assert.equal((10 + headerLen) % 64, 0, `${a.dtype}: data starts 64-byte aligned`)
      const back = readNpy(bytes)
      assert.equal(back.dtype, a.dtype, `${a.dtype}: dtype`)
      assert.deepEqual(back.shape, a.shape, `${a.dtype}: shape`)
      assert.deepEqual([...back.data as any], [...a.data as any], `${a.dtype}: data`)
    }
  })

  it('throws NpyError with what is wrong', () => {
    const cases: Array<[Uint8Array, RegExp]> = [
      [new Uint8Array(Buffer.from('not a numpy file at all')), /x\.npy is not a \.npy file/],
      [b64(NUMPY.float32).subarray(0, 60), /header is truncated/],
      [b64(NUMPY.float32).subarray(0, 140), /data is truncated: shape \(2, 3\) of <f4 needs 24 bytes, the file has 12/],
      [header("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }"), /dtype >f4 is not supported \(big-endian/],
      [header("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }"), /dtype <c16 is not supported; use one of float32/],
      [header("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }"), /Fortran-ordered arrays are not supported/],
      [header("{'descr': '<f4', 'shape': (1,), }"), /header is malformed/],
      [header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 9), /format version 9 is not supported/]
    ]
    for (const [bytes, re] of cases) {
      assert.throws(() => readNpy(bytes, 'x.npy'), (err: any) => {
        assert.equal(err.name, 'NpyError', String(re))
        assert.equal(err.code, 'ERR_NPY')
        assert.match(err.message, re)
        return true
      })
    }
    assert.throws(() => writeNpy({ dtype: 'float16', shape: [1], data: new Uint16Array(1) }), { name: 'NpyError', message: /cannot write dtype float16/ })
    assert.throws(() => writeNpy({ dtype: 'float32', shape: [2, 2], data: new Float32Array(3) }), { name: 'NpyError', message: /shape \(2, 2\) has 4 elements but the data has 3/ })
  })
})
