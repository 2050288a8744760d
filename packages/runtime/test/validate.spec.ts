import assert from 'node:assert/strict'
import onnxProto from 'onnx-proto'
import { broadcastInputModel, createRuntime, expandOutputModel, generateConvNet, generateDtypeProbe, generateMlp, ModelStore, skipInputModel, validateModel } from '../src/index.js'
import { readOcrModel } from './utils/models.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const { onnx } = onnxProto

/** Rewrites a generated MLP with `edit` applied to its decoded ModelProto. */
function tamper (edit: (m: onnxProto.onnx.ModelProto) => void): Uint8Array {
  const m = onnx.ModelProto.decode(generateMlp())
  edit(m)
  return onnx.ModelProto.encode(m).finish()
}

describe('safe loading (validation before onnxruntime)', function () {
  this.timeout(30_000)

  it('describes the three real PP-OCR models', async () => {
    for (const name of ['det', 'rec', 'cls'] as const) {
      const info = validateModel(await readOcrModel(name))
      assert.equal(info.inputs.length, 1, name)
      assert.equal(info.inputs[0]?.dtype, 'float32', name)
      assert.equal(info.inputs[0]?.shape[1], 3, `${name} takes 3-channel images`)
      assert.ok(info.nodeCount > 400, `${name} has ${info.nodeCount} nodes`)
      assert.ok(info.opTypes.includes(':Conv'), name)
      assert.equal(info.opsets[''] != null, true)
    }
  })

  it('refuses an initializer with external data (path escape) before it reaches onnxruntime', async () => {
    const evil = tamper(m => {
      const w = m.graph?.initializer?.[0] as onnxProto.onnx.TensorProto
      w.rawData = new Uint8Array(0)
      w.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL
      w.externalData = [onnx.StringStringEntryProto.create({ key: 'location', value: '../../etc/passwd' })]
    })
    assert.throws(() => validateModel(evil), (err: any) => {
      assert.equal(err.name, 'ExternalDataError')
      assert.equal(err.code, 'ERR_EXTERNAL_DATA')
      assert.match(err.message, /\.\.\/\.\.\/etc\/passwd/)
      return true
    })
    // also hidden in a Constant node's attribute, with only an external_data entry
    const hidden = tamper(m => {
      m.graph?.node?.unshift(onnx.NodeProto.create({
        opType: 'Constant',
        output: ['c'],
        attribute: [{ name: 'value', type: 4, t: { name: 'c', dims: [1], dataType: 1, externalData: [{ key: 'location', value: '/etc/shadow' }] } }]
      }))
    })
    assert.throws(() => validateModel(hidden), { name: 'ExternalDataError' })
  })

  it('refuses a custom-domain operator and model-local functions', () => {
    const custom = tamper(m => {
      const n = m.graph?.node?.[0] as onnxProto.onnx.NodeProto
      n.domain = 'com.evil'
      n.opType = 'ExecShell'
    })
    assert.throws(() => validateModel(custom), { name: 'ForbiddenOperatorError', code: 'ERR_FORBIDDEN_OPERATOR' })
    const withFunction = tamper(m => { m.functions = [onnx.FunctionProto.create({ name: 'f', domain: 'local' })] })
    assert.throws(() => validateModel(withFunction), { name: 'ForbiddenOperatorError' })
    // com.microsoft is allowed by default; a narrower allow-list refuses it
    const ms = tamper(m => { (m.graph?.node?.[2] as onnxProto.onnx.NodeProto).domain = 'com.microsoft' })
    assert.doesNotThrow(() => validateModel(ms))
    assert.throws(() => validateModel(ms, { allowedDomains: [''] }), { name: 'ForbiddenOperatorError' })
  })

  it('refuses models over the size, node-count and initializer limits', () => {
    const big = generateMlp({ hidden: [64, 64, 64, 64] })
    assert.throws(() => validateModel(big, { maxBytes: 1000 }), { name: 'ModelTooLargeError' })
    assert.throws(() => validateModel(big, { maxNodes: 5 }), { name: 'ModelTooLargeError' })
    assert.throws(() => validateModel(big, { maxInitializers: 3 }), { name: 'ModelTooLargeError' })
    assert.throws(() => validateModel(big, { maxInitializerBytes: 1024 }), { name: 'ModelTooLargeError' })
  })

  it('refuses an initializer whose raw_data is shorter or longer than its dims and dtype say, naming it', () => {
    // w0 of the default MLP is float32 [16, 32]: 2048 bytes
    for (const [label, bytes] of [['shorter', 2044], ['longer', 2052], ['far longer (size understated by its dims)', 4 * 1024 * 1024], ['empty with no typed data', 0]] as const) {
      const bad = tamper(m => { (m.graph?.initializer?.[0] as onnxProto.onnx.TensorProto).rawData = new Uint8Array(bytes) })
      assert.throws(() => validateModel(bad), (err: any) => {
        assert.equal(err.name, 'InvalidModelError', `${label}: ${err.name} ${err.message}`)
        assert.equal(err.code, 'ERR_INVALID_MODEL')
        assert.match(err.message, /tensor "w0"/, `${label}: names the initializer`)
        assert.match(err.message, /\[16, 32\] of float32/, `${label}: says what it declares`)
        return true
      })
    }
    // dims understated: [1] declared over the real 2048 bytes
    const understated = tamper(m => { (m.graph?.initializer?.[0] as onnxProto.onnx.TensorProto).dims = [1] })
    assert.throws(() => validateModel(understated), { name: 'InvalidModelError', message: /tensor "w0" .* holds 2048 bytes of raw_data, \[1\] of float32 needs 4/ })
  })

  it('checks typed-field element counts when there is no raw_data; the same values in the right count pass', () => {
    const asFloats = (count: number): Uint8Array => tamper(m => {
      const w = m.graph?.initializer?.[0] as onnxProto.onnx.TensorProto
      w.rawData = new Uint8Array(0)
      w.floatData = Array.from({ length: count }, (_, i) => i / count)
    })
    assert.doesNotThrow(() => validateModel(asFloats(16 * 32)))
    assert.throws(() => validateModel(asFloats(16 * 32 - 1)), { name: 'InvalidModelError', message: /tensor "w0" .* holds 511 entries in float_data and no raw_data, \[16, 32\] of float32 needs 512/ })
    assert.throws(() => validateModel(asFloats(16 * 32 + 1)), { name: 'InvalidModelError', message: /tensor "w0"/ })
    // an int64 shape initializer stored in int64_data
    const shape = (values: number[]): Uint8Array => {
      const m = onnx.ModelProto.decode(expandOutputModel({ elements: 8 }))
      const t = m.graph?.initializer?.[0] as onnxProto.onnx.TensorProto
      t.rawData = new Uint8Array(0)
      t.int64Data = values
      return onnx.ModelProto.encode(m).finish()
    }
    assert.doesNotThrow(() => validateModel(shape([8])))
    assert.throws(() => validateModel(shape([8, 8])), { name: 'InvalidModelError', message: /tensor "shape" .* int64_data/ })
  })

  it('checks the value tensor of a Constant node the same way', () => {
    const constant = (rawBytes: number): Uint8Array => tamper(m => {
      m.graph?.node?.unshift(onnx.NodeProto.create({
        opType: 'Constant',
        output: ['c'],
        attribute: [{ name: 'value', type: 4, t: { name: 'c', dims: [4], dataType: 1, rawData: new Uint8Array(rawBytes) } }]
      }))
    })
    assert.doesNotThrow(() => validateModel(constant(16)))
    assert.throws(() => validateModel(constant(1 << 20)), { name: 'InvalidModelError', message: /tensor "c" in attribute "value"/ })
  })

  it('accepts every generated model and counts initializer bytes from their data', () => {
    for (const [label, bytes] of [['mlp', generateMlp()], ['convnet', generateConvNet()], ['dtype probe', generateDtypeProbe()], ['skip input', skipInputModel()], ['broadcast input', broadcastInputModel()], ['expand output', expandOutputModel({ elements: 1024 })]] as const) {
      assert.doesNotThrow(() => validateModel(bytes), label)
    }
    // 16x32 + 32 + 32x32 + 32 + 32x4 + 4 float32 weights
    assert.equal(validateModel(generateMlp()).initializerBytes, (16 * 32 + 32 + 32 * 32 + 32 + 32 * 4 + 4) * 4)
  })

  it('refuses truncated and garbage bytes with InvalidModelError', async () => {
    const rec = await readOcrModel('cls')
    for (const [label, bytes] of [['garbage', Uint8Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) & 0xff)], ['truncated', rec.subarray(0, 1000)], ['empty', new Uint8Array(0)], ['text', new TextEncoder().encode('not a model')]] as const) {
      assert.throws(() => validateModel(bytes), (err: any) => {
        assert.equal(err.name, 'InvalidModelError', `${label}: ${err.name} ${err.message}`)
        return true
      })
    }
  })

  it('the store refuses malicious models, so a runner never loads one, and keeps serving', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetmesh-store-'))
    const store = await ModelStore.open(dir)
    const runtime = await createRuntime({ store })
    try {
      const evil = tamper(m => { (m.graph?.initializer?.[0] as onnxProto.onnx.TensorProto).externalData = [onnx.StringStringEntryProto.create({ key: 'location', value: '../../etc/passwd' })] })
      await assert.rejects(store.put(evil), { name: 'ExternalDataError' })
      assert.equal(store.list().length, 0, 'nothing stored')
      const good = await store.put(generateMlp())
      const { outputs } = await runtime.run(good.cid, [{ name: 'x', dtype: 'float32', dims: [1, 16], data: new Float32Array(16).fill(0.5) }])
      assert.deepEqual(outputs[0]?.dims, [1, 4])
    } finally {
      await runtime.stop()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
