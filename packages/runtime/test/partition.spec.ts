import assert from 'node:assert/strict'
import onnxProto from 'onnx-proto'
import { generateConvNet, generateMlp, maxAbsDiff, partitionModel, runStagesLocally, validateModel } from '../src/index.js'
import { OCR_MODELS, patternInput, readOcrModel } from './utils/models.js'
import { checkStructure, wholeModel } from './utils/partition.js'
import type { WireTensor } from '@fleetmesh/protocol'

describe('pipeline partitioning of ONNX graphs', function () {
  this.timeout(180_000)

  for (const name of ['det', 'rec', 'cls'] as const) {
    it(`PP-OCR ${name}: K = 2, 3, 4 stages run in a chain equal the whole model (max abs diff <= 1e-4)`, async () => {
      const bytes = await readOcrModel(name)
      const info = validateModel(bytes)
      const computeNodes = info.nodeCount - countConstants(bytes)
      const input = patternInput(info.inputs[0]?.name as string, OCR_MODELS[name].dims, 1)
      const expected = await wholeModel(bytes, [input])
      for (const K of [2, 3, 4]) {
        const p = await partitionModel(bytes, { stages: K, sampleInputs: [input] })
        checkStructure(`${name} K=${K}`, p, K, info.inputs.map(i => i.name), info.outputs.map(o => o.name), computeNodes)
        assert.equal(p.costMetric, 'flops')
        assert.ok(p.bottleneckShare < 0.75, `${name} K=${K} is balanced: bottleneck ${p.bottleneckShare.toFixed(2)}`)
        const got = await runStagesLocally(p.stages, [input])
        for (const e of expected) {
          const g = got.find(t => t.name === e.name) as WireTensor
          const d = maxAbsDiff(g, e)
          assert.ok(d <= 1e-4, `${name} K=${K} output ${e.name}: max abs diff ${d}`)
        }
        // a second input through the same stages: the cut holds for other data too
        const other = patternInput(input.name, input.dims, 2.5)
        const e2 = await wholeModel(bytes, [other])
        const g2 = await runStagesLocally(p.stages, [other])
        assert.ok(maxAbsDiff(g2[0] as WireTensor, e2[0] as WireTensor) <= 1e-4, `${name} K=${K} second input`)
      }
    })
  }

  it('property: random MLPs cut into random stage counts equal the whole model, one activation per cut', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const depth = 1 + (seed % 5)
      const hidden = Array.from({ length: depth }, (_, i) => 8 + ((seed * 7 + i * 13) % 40))
      const bytes = generateMlp({ seed, hidden, inputs: 12, outputs: 3 })
      const nodes = validateModel(bytes).nodeCount
      const K = 1 + (seed % Math.min(6, nodes))
      const x: WireTensor = { name: 'x', dtype: 'float32', dims: [5, 12], data: Float32Array.from({ length: 60 }, (_, i) => Math.cos(i + seed)) }
      const p = await partitionModel(bytes, { stages: K, sampleInputs: [x] })
      checkStructure(`mlp seed ${seed}`, p, K, ['x'], ['y'], nodes)
      for (const s of p.stages.slice(0, -1)) assert.equal(s.outputs.length, 1, `mlp seed ${seed}: a chain has one activation per cut`)
      const d = maxAbsDiff((await runStagesLocally(p.stages, [x]))[0] as WireTensor, (await wholeModel(bytes, [x]))[0] as WireTensor)
      assert.ok(d <= 1e-4, `mlp seed ${seed} depth ${depth} K=${K}: diff ${d}`)
    }
  })

  it('property: conv nets of configurable depth (with skip connections) cut correctly and prefer cuts between blocks', async () => {
    for (const [depth, K, channels] of [[2, 2, 4], [3, 3, 8], [4, 2, 8], [6, 4, 6], [8, 5, 4]] as const) {
      const bytes = generateConvNet({ depth, channels, size: 16, seed: depth })
      const nodes = validateModel(bytes).nodeCount
      const x: WireTensor = { name: 'x', dtype: 'float32', dims: [2, 3, 16, 16], data: Float32Array.from({ length: 2 * 3 * 256 }, (_, i) => Math.sin(i * 0.1)) }
      const p = await partitionModel(bytes, { stages: K, sampleInputs: [x] })
      checkStructure(`convnet depth ${depth}`, p, K, ['x'], ['logits'], nodes)
      const d = maxAbsDiff((await runStagesLocally(p.stages, [x]))[0] as WireTensor, (await wholeModel(bytes, [x]))[0] as WireTensor)
      assert.ok(d <= 1e-4, `convnet depth ${depth} K=${K}: diff ${d}`)
      for (const s of p.stages) {
        assert.ok(s.flops > 0, 'FLOPs estimated per stage')
        assert.ok(s.index === K - 1 || s.outputBytes > 0, 'crossing bytes reported per cut')
      }
      // inside a residual block two tensors cross (the block input and the branch);
      // between blocks one does: with enough blocks per stage the cheaper cut is chosen
      if (depth >= 2 * K) {
        for (const s of p.stages.slice(0, -1)) assert.equal(s.outputs.length, 1, `convnet depth ${depth} K=${K}: stage ${s.index} cut between blocks (${s.outputs.join(', ')})`)
      }
    }
  })

  it('refuses impossible stage counts with PartitionError', async () => {
    const bytes = generateMlp({ hidden: [8] })
    await assert.rejects(partitionModel(bytes, { stages: 0 }), { name: 'PartitionError' })
    await assert.rejects(partitionModel(bytes, { stages: 100 }), { name: 'PartitionError' })
    await assert.rejects(partitionModel(bytes, { stages: 1.5 }), { name: 'PartitionError' })
    // dynamic batch and no sample inputs: tensor types cannot be known for the cut
    await assert.rejects(partitionModel(bytes, { stages: 2 }), { name: 'PartitionError' })
  })
})

/** Constant nodes are copied into the stages that read them, not assigned to one stage. */
function countConstants (bytes: Uint8Array): number {
  return (onnxProto.onnx.ModelProto.decode(bytes).graph?.node ?? []).filter(n => n.opType === 'Constant').length
}
