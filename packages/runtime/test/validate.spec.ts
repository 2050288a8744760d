import assert from 'node:assert/strict'
import onnxProto from 'onnx-proto'
import { generateMlp, validateModel, ModelStore, createRuntime } from '../src/index.js'
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
