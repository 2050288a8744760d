import assert from 'node:assert/strict'
import onnxProto from 'onnx-proto'
import { dimGroups, resizeAxis, resolveBatchAxes } from '../src/shapes.js'
import type { WireTensor } from '@fleetmesh/protocol'

const { onnx } = onnxProto

function input (name: string, dims?: Array<number | string | null>): onnxProto.onnx.ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: 1, ...(dims == null ? {} : { shape: { dim: dims.map(d => typeof d === 'number' ? { dimValue: d } : d == null ? {} : { dimParam: d }) } }) } }
  })
}

function tensor (name: string, dims: number[]): WireTensor {
  const n = dims.reduce((a, b) => a * b, 1)
  return { name, dtype: 'float32', dims, data: Float32Array.from({ length: n }, (_, i) => i) }
}

describe('shape measuring helpers (pure)', () => {
  it('resizeAxis slices and cyclically extends along any axis, for every typed array', () => {
    const t = tensor('t', [2, 3, 2]) // [[[0,1],[2,3],[4,5]],[[6,7],[8,9],[10,11]]]
    assert.deepEqual([...resizeAxis(t, 1, 1).data as Float32Array], [0, 1, 6, 7])
    assert.deepEqual(resizeAxis(t, 1, 1).dims, [2, 1, 2])
    assert.deepEqual([...resizeAxis(t, 1, 4).data as Float32Array], [0, 1, 2, 3, 4, 5, 0, 1, 6, 7, 8, 9, 10, 11, 6, 7])
    assert.deepEqual([...resizeAxis(t, 0, 3).data as Float32Array], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5])
    assert.deepEqual([...resizeAxis(t, 2, 1).data as Float32Array], [0, 2, 4, 6, 8, 10])
    const ids: WireTensor = { name: 'ids', dtype: 'int64', dims: [2, 2], data: BigInt64Array.of(1n, 2n, 3n, 4n) }
    const r = resizeAxis(ids, 0, 3)
    assert.ok(r.data instanceof BigInt64Array, 'keeps the typed array kind')
    assert.deepEqual([...r.data as BigInt64Array], [1n, 2n, 3n, 4n, 1n, 2n])
    assert.deepEqual([...t.data as Float32Array], Array.from({ length: 12 }, (_, i) => i), 'the source is not changed')
  })

  it('resolveBatchAxes: axis 0 where it is symbolic or no shape is declared, given axes win, broadcast is null', () => {
    const inputs = [input('x', ['batch', 8]), input('scale', []), input('state', [4, 'batch', 16]), input('fixed', [2, 8]), input('free')]
    const sample = new Map([tensor('x', [3, 8]), tensor('scale', []), tensor('state', [4, 3, 16]), tensor('fixed', [2, 8]), tensor('free', [3, 5])].map(t => [t.name, t]))
    assert.deepEqual(Object.fromEntries(resolveBatchAxes(inputs, sample)), { x: 0, scale: null, state: null, fixed: null, free: 0 })
    assert.deepEqual(Object.fromEntries(resolveBatchAxes(inputs, sample, { state: 1, free: null })), { x: 0, scale: null, state: 1, fixed: null, free: null })
    assert.throws(() => resolveBatchAxes(inputs, sample, { nope: 0 }), { name: 'PartitionError' })
    assert.throws(() => resolveBatchAxes(inputs, sample, { x: 2 }), { name: 'PartitionError' })
    assert.throws(() => resolveBatchAxes(inputs, sample, { x: 0.5 }), { name: 'PartitionError' })
  })

  it('dimGroups: the batch takes every batched axis and any axis sharing its dim_param; other symbolic dims group by dim_param', () => {
    const det = dimGroups([input('x', ['N', 3, 'H', 'W'])], [tensor('x', [1, 3, 160, 96])])
    assert.deepEqual(det.map(g => [g.name, g.isBatch, g.sampleSize, g.axes]), [
      ['N', true, 1, [{ input: 'x', axis: 0 }]],
      ['H', false, 160, [{ input: 'x', axis: 2 }]],
      ['W', false, 96, [{ input: 'x', axis: 3 }]]
    ])
    // state's axis 1 shares x's batch dim_param: batched with it even with no batchAxes
    const rnn = dimGroups([input('x', ['batch', 8]), input('scale', []), input('state', [4, 'batch', 16])], [tensor('x', [3, 8]), tensor('scale', []), tensor('state', [4, 3, 16])])
    assert.deepEqual(rnn.map(g => [g.name, g.axes]), [['batch', [{ input: 'x', axis: 0 }, { input: 'state', axis: 1 }]]])
    // two inputs sharing a sequence dim_param vary together; an unnamed symbolic dim gets a name of its own
    const seq = dimGroups([input('ids', ['b', 'seq']), input('mask', ['b', 'seq']), input('extra', [null, 2])], [tensor('ids', [2, 7]), tensor('mask', [2, 7]), tensor('extra', [2, 2])])
    assert.deepEqual(seq.map(g => [g.name, g.axes.length]), [['b', 3], ['seq', 2]])
    // a declared number on the batch axis stays fixed: no batch group
    assert.deepEqual(dimGroups([input('x', [5, 8])], [tensor('x', [5, 8])], { x: 0 }), [])
    // an unnamed batch is called batch, unless the model uses that name for another dim
    assert.deepEqual(dimGroups([input('x', [null, 4])], [tensor('x', [2, 4])]).map(g => g.name), ['batch'])
    const clash = dimGroups([input('x', [null, 'batch'])], [tensor('x', [2, 4])])
    assert.deepEqual(clash.map(g => [g.name, g.isBatch]), [['batch_1', true], ['batch', false]])
  })

  it('dimGroups refuses sample inputs that disagree on a dim with PartitionError', () => {
    assert.throws(() => dimGroups([input('a', ['seq']), input('b', ['seq'])], [tensor('a', [3]), tensor('b', [4])]), (err: any) => {
      assert.equal(err.name, 'PartitionError')
      assert.match(err.message, /"seq": a axis 0 is 3, b axis 0 is 4/)
      return true
    })
  })
})
