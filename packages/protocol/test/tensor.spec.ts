import assert from 'node:assert/strict'
import { decodeTensor, decodeTensors, encodeTensor, encodeTensors, DTYPE_BYTES } from '../src/index.js'
import type { TensorDType, WireTensor } from '../src/index.js'

function sample (dtype: TensorDType, dims: number[]): WireTensor {
  const n = dims.reduce((a, b) => a * b, 1)
  const data = (() => {
    switch (dtype) {
      case 'float32': return Float32Array.from({ length: n }, (_, i) => i * 0.5 - 3)
      case 'float64': return Float64Array.from({ length: n }, (_, i) => i / 3)
      case 'float16': return Uint16Array.from({ length: n }, (_, i) => 0x3c00 + i) // raw half-precision bits
      case 'int8': return Int8Array.from({ length: n }, (_, i) => i - 64)
      case 'uint8': case 'bool': return Uint8Array.from({ length: n }, (_, i) => dtype === 'bool' ? i % 2 : i & 0xff)
      case 'int16': return Int16Array.from({ length: n }, (_, i) => -i)
      case 'uint16': return Uint16Array.from({ length: n }, (_, i) => i)
      case 'int32': return Int32Array.from({ length: n }, (_, i) => i * -1000)
      case 'uint32': return Uint32Array.from({ length: n }, (_, i) => i * 1000)
      case 'int64': return BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * -(2n ** 40n))
      case 'uint64': return BigUint64Array.from({ length: n }, (_, i) => BigInt(i) * 2n ** 50n)
    }
  })()
  return { name: `t_${dtype}`, dtype, dims, data }
}

describe('tensor wire format', () => {
  it('round-trips every dtype, scalars included, with exact bytes', () => {
    for (const dtype of Object.keys(DTYPE_BYTES) as TensorDType[]) {
      for (const dims of [[], [3], [2, 3, 4]]) {
        const t = sample(dtype, dims)
        const back = decodeTensor(encodeTensor(t))
        assert.equal(back.dtype, dtype, `${dtype} ${JSON.stringify(dims)}`)
        assert.deepEqual(back.dims, dims, `${dtype} dims`)
        assert.equal(back.data.constructor, t.data.constructor, `${dtype} array type`)
        assert.deepEqual(Array.from(back.data as any), Array.from(t.data as any), `${dtype} ${JSON.stringify(dims)} values`)
      }
    }
  })

  it('round-trips several named tensors in order', () => {
    const ts = [sample('float32', [1, 3, 2, 2]), { ...sample('int64', [2]), name: 'shape' }]
    const back = decodeTensors(encodeTensors(ts))
    assert.deepEqual(back.map(t => t.name), ['t_float32', 'shape'])
  })

  it('gives typed errors for bad tensors and bytes', () => {
    assert.throws(() => encodeTensor({ name: 'x', dtype: 'float32', dims: [2, 2], data: new Float32Array(3) }), { name: 'InvalidTensorError' })
    assert.throws(() => encodeTensor({ name: 'x', dtype: 'float32', dims: [-1], data: new Float32Array(0) }), { name: 'InvalidTensorError' })
    assert.throws(() => encodeTensor({ name: 'x', dtype: 'int64', dims: [2], data: new Float32Array(2) as any }), { name: 'InvalidTensorError' })
    assert.throws(() => encodeTensor({ name: 'x', dtype: 'float32', dims: [1024, 1024], data: new Float32Array(1024 * 1024) }, 1000), { name: 'MessageTooLargeError' })
    assert.throws(() => decodeTensor(new Uint8Array([0xff, 0xff, 0xff])), { name: 'InvalidTensorError' })
    // a truncated frame: data shorter than its shape needs
    const good = encodeTensor(sample('float32', [4]))
    assert.throws(() => decodeTensor(good.subarray(0, good.length - 4)), { name: 'InvalidTensorError' })
  })
})
