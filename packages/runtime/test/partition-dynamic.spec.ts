import assert from 'node:assert/strict'
import onnxProto from 'onnx-proto'
import { broadcastInputModel, generateMlp, LocalSession, partitionModel, runStagesLocally, skipInputModel, validateModel } from '../src/index.js'
import { patternInput, readOcrModel } from './utils/models.js'
import { assertOutputsEqual, assertStagesEqualWhole, checkStructure, declaredDims } from './utils/partition.js'
import type { Stage } from '../src/index.js'
import type { WireTensor } from '@fleetmesh/protocol'

/** Compute nodes of a model (Constant nodes are copied into the stages that read them, not counted). */
function computeNodes (bytes: Uint8Array): number {
  return (onnxProto.onnx.ModelProto.decode(bytes).graph?.node ?? []).filter(n => n.opType !== 'Constant').length
}

/** Inputs of {@link broadcastInputModel} (8 features, 16 hidden, 4 layers) at a batch size. */
function broadcastInputs (batch: number, phase: number): WireTensor[] {
  return [
    patternInput('x', [batch, 8], phase),
    { name: 'scale', dtype: 'float32', dims: [], data: Float32Array.of(0.75 + phase / 10) },
    patternInput('state', [4, batch, 16], phase + 1)
  ]
}

describe('pipeline stages take any micro-batch size and read only what they need', function () {
  this.timeout(180_000)

  it('PP-OCRv4 rec cut with a sample of batch 5 runs at batch 5, 1 and 4 (and another width) like the whole model', async () => {
    const bytes = await readOcrModel('rec')
    const sample = patternInput('x', [5, 3, 48, 320], 0)
    const runs = [[5, 320], [1, 320], [4, 320], [2, 160]].map(([batch, width]) => ({ label: `batch ${batch} width ${width}`, input: patternInput('x', [batch as number, 3, 48, width as number], batch) }))
    const session = await LocalSession.create(bytes)
    const expected = await Promise.all(runs.map(async r => session.run([r.input]))).finally(async () => { await session.release() })
    for (const K of [2, 3]) {
      const p = await partitionModel(bytes, { stages: K, sampleInputs: [sample] })
      checkStructure(`rec K=${K}`, p, K, ['x'], ['softmax_11.tmp_0'], computeNodes(bytes))
      for (const s of p.stages.slice(1)) {
        for (const [name, dims] of declaredDims(s.bytes, 'inputs')) {
          assert.equal(typeof dims[0], 'string', `rec K=${K}: stage ${s.index} input ${name} keeps a symbolic batch dim (${dims.join(', ')})`)
        }
      }
      for (const [i, r] of runs.entries()) {
        assertOutputsEqual(`rec K=${K} ${r.label}`, await runStagesLocally(p.stages, [r.input]), expected[i] as WireTensor[])
      }
    }
  })

  it('PP-OCRv4 det cut with a 160x160 sample runs on a 960x672 page like the whole model (spatial dims stay symbolic)', async () => {
    const bytes = await readOcrModel('det')
    const p = await partitionModel(bytes, { stages: 2, sampleInputs: [patternInput('x', [1, 3, 160, 160], 0)] })
    checkStructure('det K=2', p, 2, ['x'], ['sigmoid_0.tmp_0'], computeNodes(bytes))
    const second = p.stages[1] as Stage
    for (const [name, dims] of declaredDims(second.bytes, 'inputs')) {
      assert.equal(dims.length, 4, `det: activation ${name} is NCHW`)
      assert.equal(typeof dims[1], 'number', `det: activation ${name} keeps its channel count fixed (${dims.join(', ')})`)
      for (const axis of [0, 2, 3]) assert.equal(typeof dims[axis], 'string', `det: activation ${name} axis ${axis} stays symbolic (${dims.join(', ')})`)
    }
    await assertStagesEqualWhole('det 960x672', bytes, p.stages, [patternInput('x', [1, 3, 960, 672], 1)])
  })

  it('skipInputModel in 3 stages: the last stage reads the graph input x from the requester, not through the stages before', async () => {
    const bytes = skipInputModel()
    const sample = patternInput('x', [6, 16], 0)
    const p = await partitionModel(bytes, { stages: 3, sampleInputs: [sample] })
    checkStructure('skip K=3', p, 3, ['x'], ['y'], computeNodes(bytes))
    const last = p.stages[2] as Stage
    assert.ok(last.graphInputs.includes('x'), `the last stage lists x among its graph inputs (${last.graphInputs.join(', ')})`)
    assert.ok(!(p.stages[1] as Stage).graphInputs.includes('x'), 'the middle stage does not read x')
    assert.ok(!(p.stages[1] as Stage).outputs.includes('x'), 'the middle stage does not carry x')
    for (const batch of [6, 4, 1]) await assertStagesEqualWhole(`skip batch ${batch}`, bytes, p.stages, [patternInput('x', [batch, 16], batch)])
  })

  it('broadcastInputModel in 2 and 3 stages with batchAxes { x: 0, scale: null, state: 1 }: sample batch 4 runs at 4, 3 and 1', async () => {
    const bytes = broadcastInputModel()
    for (const K of [2, 3]) {
      const p = await partitionModel(bytes, { stages: K, sampleInputs: broadcastInputs(4, 0), batchAxes: { x: 0, scale: null, state: 1 } })
      checkStructure(`broadcast K=${K}`, p, K, ['x', 'scale', 'state'], ['y', 'state_out'], computeNodes(bytes))
      for (const s of p.stages.slice(1)) {
        assert.ok(s.graphInputs.includes('scale') && s.graphInputs.includes('state'), `broadcast K=${K}: stage ${s.index} reads scale and state itself (${s.graphInputs.join(', ')})`)
        for (const [name, dims] of declaredDims(s.bytes, 'inputs')) {
          if (name === 'scale') assert.deepEqual(dims, [], 'scale stays a scalar')
          else if (name === 'state') assert.deepEqual([dims[0], typeof dims[1], dims[2]], [4, 'string', 16], `state keeps [layers, batch, hidden] (${dims.join(', ')})`)
          else assert.equal(dims.filter(d => d === 'batch').length + dims.filter(d => typeof d === 'number').length === dims.length && dims.includes('batch'), true, `broadcast K=${K}: activation ${name} has one symbolic dim, the batch, and fixed others (${dims.join(', ')})`)
        }
      }
      for (const batch of [4, 3, 1]) await assertStagesEqualWhole(`broadcast K=${K} batch ${batch}`, bytes, p.stages, broadcastInputs(batch, batch))
    }
  })

  it('a model with a fixed batch size keeps it in every stage', async () => {
    const model = onnxProto.onnx.ModelProto.decode(generateMlp({ hidden: [8, 8, 8] }))
    for (const v of [...(model.graph?.input ?? []), ...(model.graph?.output ?? [])]) {
      const dim0 = v.type?.tensorType?.shape?.dim?.[0] as onnxProto.onnx.TensorShapeProto.Dimension
      dim0.dimParam = ''
      dim0.dimValue = 3
    }
    const bytes = onnxProto.onnx.ModelProto.encode(model).finish()
    const p = await partitionModel(bytes, { stages: 3, sampleInputs: [patternInput('x', [3, 16], 0)] })
    for (const s of p.stages) {
      for (const [name, dims] of [...declaredDims(s.bytes, 'inputs'), ...declaredDims(s.bytes, 'outputs')]) {
        assert.equal(dims[0], 3, `stage ${s.index} tensor ${name} keeps the fixed batch 3 (${dims.join(', ')})`)
      }
    }
    await assertStagesEqualWhole('fixed batch', bytes, p.stages, [patternInput('x', [3, 16], 2)])
  })

  it('an input that declares no shape is batched on axis 0 by default', async () => {
    const model = onnxProto.onnx.ModelProto.decode(generateMlp({ hidden: [8, 8, 8] }))
    const x = model.graph?.input?.[0] as onnxProto.onnx.ValueInfoProto
    x.type = { tensorType: { elemType: 1 } }
    const bytes = onnxProto.onnx.ModelProto.encode(model).finish()
    const p = await partitionModel(bytes, { stages: 3, sampleInputs: [patternInput('x', [4, 16], 0)] })
    assert.deepEqual(p.symbolicDims, [{ name: 'batch', axes: [{ input: 'x', axis: 0 }], sampleSize: 4 }])
    for (const batch of [4, 3, 1]) await assertStagesEqualWhole(`shapeless batch ${batch}`, bytes, p.stages, [patternInput('x', [batch, 16], batch)])
  })

  it('a graph output that is a graph input itself comes from the requester to the last stage, never through a stage', async () => {
    const model = onnxProto.onnx.ModelProto.decode(generateMlp({ hidden: [8, 8] }))
    const graph = model.graph as onnxProto.onnx.GraphProto
    graph.output.push(onnxProto.onnx.ValueInfoProto.create({ name: 'x', type: graph.input[0]?.type }))
    const bytes = onnxProto.onnx.ModelProto.encode(model).finish()
    const p = await partitionModel(bytes, { stages: 2, sampleInputs: [patternInput('x', [3, 16], 0)] })
    checkStructure('identity output', p, 2, ['x'], ['y', 'x'], computeNodes(bytes))
    assert.ok((p.stages[1] as Stage).graphInputs.includes('x'), 'the last stage reads x from the requester')
    await assertStagesEqualWhole('identity output', bytes, p.stages, [patternInput('x', [2, 16], 1)])
  })

  it('refuses sample inputs that disagree on the batch size, with PartitionError', async () => {
    const inputs = broadcastInputs(4, 0)
    inputs[2] = patternInput('state', [4, 3, 16], 0)
    await assert.rejects(partitionModel(broadcastInputModel(), { stages: 2, sampleInputs: inputs }), (err: any) => {
      assert.equal(err.name, 'PartitionError')
      assert.match(err.message, /x axis 0 is 4, state axis 1 is 3/)
      return true
    })
  })

  it('refuses batchAxes that name no graph input or an axis the sample does not have, with PartitionError', async () => {
    const bytes = broadcastInputModel()
    await assert.rejects(partitionModel(bytes, { stages: 2, sampleInputs: broadcastInputs(4, 0), batchAxes: { x: 0, hidden: 0 } }), (err: any) => {
      assert.equal(err.name, 'PartitionError')
      assert.match(err.message, /hidden/)
      return true
    })
    await assert.rejects(partitionModel(bytes, { stages: 2, sampleInputs: broadcastInputs(4, 0), batchAxes: { x: 0, scale: 0, state: 1 } }), (err: any) => {
      assert.equal(err.name, 'PartitionError')
      assert.match(err.message, /scale/)
      return true
    })
  })

  it('runStagesLocally feeds each stage only its activations and listed graph inputs; a missing one is a MissingStageInputError naming stage and input', async () => {
    const bytes = skipInputModel()
    const x = patternInput('x', [2, 16], 0)
    const p = await partitionModel(bytes, { stages: 3, sampleInputs: [x] })
    const [first, middle, last] = p.stages as [Stage, Stage, Stage]
    // the last stage's activations cannot come from the first stage
    await assert.rejects(runStagesLocally([first, last], [x]), (err: any) => {
      assert.equal(err.name, 'MissingStageInputError')
      assert.equal(err.code, 'ERR_MISSING_STAGE_INPUT')
      assert.equal(err.stage, 2)
      assert.ok(last.activations.includes(err.input), `names an activation of stage 2 (${String(err.input)})`)
      assert.match(err.message, /stage 2/)
      return true
    })
    // a graph input the stage does not list is not fed to it, even when the caller has it
    const unlisted: Stage = { ...last, graphInputs: last.graphInputs.filter(i => i !== 'x') }
    await assert.rejects(runStagesLocally([first, middle, unlisted], [x]), (err: any) => {
      assert.equal(err.name, 'MissingStageInputError')
      assert.equal(err.stage, 2)
      assert.equal(err.input, 'x')
      assert.match(err.message, /"x"/)
      return true
    })
    // a graph input the caller did not give
    await assert.rejects(runStagesLocally(p.stages, []), { name: 'MissingStageInputError', stage: 0, input: 'x' })
    assert.ok(validateModel(last.bytes).inputs.some(i => i.name === 'x'), 'the last stage model declares x')
  })
})
