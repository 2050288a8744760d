import assert from 'node:assert/strict'
import { broadcastInputs, checkInputs, chooseMicroBatch, concatBatches, itemsOf, outputBatchAxes, planMicroBatches, resolveBatchAxes, sliceBatch, sliceTensor } from '../src/micro-batch.js'
import type { WireTensor } from '@fleetmesh/protocol'
import type { TensorInfo } from '@fleetmesh/runtime'

const ramp = (name: string, dims: number[]): WireTensor => {
  const n = dims.reduce((a, b) => a * b, 1)
  return { name, dtype: 'float32', dims, data: Float32Array.from({ length: n }, (_, i) => i) }
}

const declared: TensorInfo[] = [
  { name: 'x', dtype: 'float32', shape: ['batch', 4] },
  { name: 'scale', dtype: 'float32', shape: [] },
  { name: 'state', dtype: 'float32', shape: [2, 'batch', 3] }
]

describe('micro-batch planning (pure)', () => {
  it('resolves batch axes: broadcast inputs are null, named axes kept, the rest 0', () => {
    assert.deepEqual(resolveBatchAxes(declared, { broadcast: ['scale'], batchAxes: { state: 1 } }), { x: 0, scale: null, state: 1 })
    assert.deepEqual(resolveBatchAxes(declared), { x: 0, scale: 0, state: 0 })
  })

  it('refuses unknown names, an input both broadcast and batched, and bad axes', () => {
    assert.throws(() => resolveBatchAxes(declared, { broadcast: ['nope'] }), { name: 'JobInputError', message: /broadcast input "nope"/ })
    assert.throws(() => resolveBatchAxes(declared, { batchAxes: { nope: 1 } }), { name: 'JobInputError' })
    assert.throws(() => resolveBatchAxes(declared, { broadcast: ['state'], batchAxes: { state: 1 } }), { name: 'JobInputError', message: /choose one/ })
    assert.throws(() => resolveBatchAxes(declared, { batchAxes: { state: -1 } }), { name: 'JobInputError' })
  })

  it('checks inputs against the model: batch from every batched input, broadcast inputs not counted', () => {
    const axes = resolveBatchAxes(declared, { broadcast: ['scale'], batchAxes: { state: 1 } })
    const inputs = [ramp('x', [5, 4]), { name: 'scale', dtype: 'float32' as const, dims: [], data: new Float32Array([2]) }, ramp('state', [2, 5, 3])]
    assert.equal(checkInputs(inputs, declared, 1e6, axes), 5)
    assert.throws(() => checkInputs([inputs[0] as WireTensor, inputs[1] as WireTensor, ramp('state', [2, 4, 3])], declared, 1e6, axes), { name: 'JobInputError', message: /disagree on the batch/ })
    assert.throws(() => checkInputs([inputs[0] as WireTensor, inputs[1] as WireTensor, ramp('state', [3, 5, 3])], declared, 1e6, axes), { name: 'JobInputError', message: /dimension 0 is 3/ })
    assert.throws(() => checkInputs([inputs[0] as WireTensor, inputs[1] as WireTensor], declared, 1e6, axes), { name: 'JobInputError', message: /"state" is missing/ })
    assert.throws(() => checkInputs(inputs, declared, 10, axes), { name: 'MessageTooLargeError' })
    // a scalar cannot be batched on axis 0
    assert.throws(() => checkInputs(inputs, declared, 1e6, resolveBatchAxes(declared, { batchAxes: { state: 1 } })), { name: 'JobInputError', message: /no batch axis 0/ })
    const allBroadcast = resolveBatchAxes([{ name: 'scale', dtype: 'float32', shape: [] }], { broadcast: ['scale'] })
    assert.throws(() => checkInputs([inputs[1] as WireTensor], [{ name: 'scale', dtype: 'float32', shape: [] }], 1e6, allBroadcast), { name: 'JobInputError', message: /every input is marked broadcast/ })
  })

  it('chooses the micro-batch: fixed model batch, then the user, then the defaults', () => {
    assert.equal(chooseMicroBatch({ batch: 24, mode: 'data', parts: 2, fixed: 4 }), 4)
    assert.throws(() => chooseMicroBatch({ batch: 25, mode: 'data', parts: 2, fixed: 4 }), { name: 'JobInputError' })
    assert.equal(chooseMicroBatch({ batch: 25, mode: 'pipeline', parts: 3, requested: 5 }), 5)
    assert.equal(chooseMicroBatch({ batch: 3, mode: 'pipeline', parts: 3, requested: 5 }), 3)
    assert.throws(() => chooseMicroBatch({ batch: 3, mode: 'data', parts: 1, requested: 0 }), { name: 'JobInputError' })
    assert.equal(chooseMicroBatch({ batch: 64, mode: 'data', parts: 4 }), 4)
    assert.equal(chooseMicroBatch({ batch: 16, mode: 'pipeline', parts: 3 }), 3)
  })

  it('plans ranges with a shorter last micro-batch', () => {
    assert.deepEqual(planMicroBatches(16, 6), [[0, 6], [6, 12], [12, 16]])
    assert.deepEqual(planMicroBatches(5, 5), [[0, 5]])
  })

  it('slices on axis 0 as a view and on another axis as a copy, and concatenation restores the whole', () => {
    const x = ramp('x', [5, 4])
    const s = sliceTensor(x, 0, 1, 3)
    assert.deepEqual(s.dims, [2, 4])
    assert.equal(s.data.buffer, x.data.buffer, 'axis 0 is a view')
    assert.deepEqual([...s.data], [4, 5, 6, 7, 8, 9, 10, 11])
    const st = ramp('state', [2, 5, 3])
    const part = sliceTensor(st, 1, 3, 5)
    assert.deepEqual(part.dims, [2, 2, 3])
    assert.deepEqual([...part.data], [9, 10, 11, 12, 13, 14, 24, 25, 26, 27, 28, 29])
    const ranges = planMicroBatches(5, 2)
    const parts = ranges.map(([a, b]) => [sliceTensor(x, 0, a, b), sliceTensor(st, 1, a, b)])
    const joined = concatBatches(parts, { x: 0, state: 1 })
    assert.deepEqual(joined[0]?.dims, [5, 4])
    assert.deepEqual([...(joined[0] as WireTensor).data], [...x.data])
    assert.deepEqual(joined[1]?.dims, [2, 5, 3])
    assert.deepEqual([...(joined[1] as WireTensor).data], [...st.data])
  })

  it('sliceBatch leaves broadcast inputs out; broadcastInputs picks them', () => {
    const axes = { x: 0, scale: null, state: 1 }
    const inputs = [ramp('x', [5, 4]), { name: 'scale', dtype: 'float32' as const, dims: [], data: new Float32Array([2]) }, ramp('state', [2, 5, 3])]
    assert.deepEqual(sliceBatch(inputs, axes, 0, 2).map(t => t.name), ['x', 'state'])
    assert.deepEqual(broadcastInputs(inputs, axes).map(t => t.name), ['scale'])
    assert.equal(itemsOf(sliceBatch(inputs, axes, 0, 2), axes), 2)
  })

  it('finds output batch axes from the batch symbol, explicit axes first', () => {
    const outputs: TensorInfo[] = [{ name: 'y', dtype: 'float32', shape: ['batch', 4] }, { name: 'state_out', dtype: 'float32', shape: [2, 'batch', 3] }, { name: 'z', dtype: 'float32', shape: [null, 2] }]
    assert.deepEqual(outputBatchAxes(declared, outputs, { x: 0, scale: null, state: 1 }), { y: 0, state_out: 1, z: 0 })
    assert.deepEqual(outputBatchAxes(declared, outputs, { x: 0, scale: null, state: 1 }, { z: 1 }), { y: 0, state_out: 1, z: 1 })
  })

  it('refuses outputs that do not line up', () => {
    assert.throws(() => concatBatches([[ramp('y', [1, 4])], [ramp('y', [1, 5])]]), { name: 'JobInputError' })
  })
})

describe('pipeline micro-batch size from measured costs (pure)', () => {
  it('uses single items when the per-hop overhead is negligible and grows them as overhead dominates', async () => {
    const { choosePipelineMicroBatch } = await import('../src/micro-batch.js')
    assert.equal(choosePipelineMicroBatch({ batch: 24, stages: 3, bottleneckMsPerItem: 100, hopOverheadMs: 0.1 }), 1)
    const m = choosePipelineMicroBatch({ batch: 24, stages: 3, bottleneckMsPerItem: 1, hopOverheadMs: 10 })
    assert.ok(m >= 4 && m <= 12, `micro-batch ${m}`)
    assert.equal(choosePipelineMicroBatch({ batch: 5, stages: 2, bottleneckMsPerItem: 0, hopOverheadMs: 5 }), 5, 'pure overhead: one micro-batch')
    assert.equal(choosePipelineMicroBatch({ batch: 1, stages: 4, bottleneckMsPerItem: 3, hopOverheadMs: 3 }), 1)
  })

  it('caps the pipeline micro-batch at maxItems (the size the offer announced)', async () => {
    const { choosePipelineMicroBatch } = await import('../src/micro-batch.js')
    assert.equal(choosePipelineMicroBatch({ batch: 5, stages: 2, bottleneckMsPerItem: 0, hopOverheadMs: 5, maxItems: 2 }), 2)
    assert.equal(choosePipelineMicroBatch({ batch: 24, stages: 3, bottleneckMsPerItem: 100, hopOverheadMs: 0.1, maxItems: 4 }), 1)
    assert.equal(choosePipelineMicroBatch({ batch: 3, stages: 2, bottleneckMsPerItem: 0, hopOverheadMs: 5, maxItems: 0 }), 1, 'never below one item')
  })

  it('derives the pipeline timing from a probe: slowest stage per item, the rest of the trip shared by K + 1 hops', async () => {
    const { choosePipelineMicroBatch, pipelineTimingFromProbe } = await import('../src/micro-batch.js')
    const t = pipelineTimingFromProbe({ items: 2, latencyMs: 100, stageComputeMs: [20, 40, 10] }, 30, 3, 8)
    assert.deepEqual(t, { batch: 30, stages: 3, bottleneckMsPerItem: 20, hopOverheadMs: 7.5, maxItems: 8 })
    // a trip faster than the reported compute (clocks, rounding) means no overhead, never a negative one
    assert.equal(pipelineTimingFromProbe({ items: 1, latencyMs: 5, stageComputeMs: [4, 4] }, 10, 2).hopOverheadMs, 0)
    // values that are not times are ignored
    assert.equal(pipelineTimingFromProbe({ items: 1, latencyMs: 50, stageComputeMs: [Number.NaN, -3, 12] }, 10, 3).bottleneckMsPerItem, 12)
    // compute-bound stages: one item per micro-batch; overhead-bound: the largest allowed
    assert.equal(choosePipelineMicroBatch(pipelineTimingFromProbe({ items: 1, latencyMs: 310, stageComputeMs: [150, 150] }, 15, 2, 4)), 1)
    assert.equal(choosePipelineMicroBatch(pipelineTimingFromProbe({ items: 1, latencyMs: 60, stageComputeMs: [0.1, 0.1] }, 15, 2, 4)), 4)
  })
})
