import assert from 'node:assert/strict'
import { encodeTensorHeader, InferMessage, PbTensorList } from '@fleetmesh/protocol'
import { streamPair } from '@libp2p/utils'
import * as varint from 'uint8-varint'
import { emptyCounters, InferChannel } from '../src/infer-channel.js'
import type { WireTensor } from '@fleetmesh/protocol'

/** The framing of the infer protocol over an in-memory stream pair (a codec test: no network). */
describe('infer frames: header + raw tensor bytes', () => {
  const f32 = (name: string, dims: number[], phase: number): WireTensor => ({ name, dtype: 'float32', dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i + phase)) })

  it('carries tensors of several dtypes and sizes, in order, exactly', async () => {
    const [a, b] = await streamPair()
    const out = new InferChannel(a, emptyCounters(), 'input')
    const counters = emptyCounters()
    const inp = new InferChannel(b, counters, 'input')
    const big = f32('big', [3, 1024, 1024], 1) // 12 MiB: many stream chunks
    const odd: WireTensor = { name: 'odd', dtype: 'uint8', dims: [7], data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7]) }
    const i64: WireTensor = { name: 'ids', dtype: 'int64', dims: [2, 2], data: BigInt64Array.from([1n, -2n, 3n, 1n << 40n]) }
    const scalar: WireTensor = { name: 's', dtype: 'float32', dims: [], data: new Float32Array([0.5]) }
    void out.send({ open: { jobId: 'j', leaseId: 'l', modelCid: 'c', kind: 'data', stage: 0, stageCount: 1, source: new Uint8Array(), next: new Uint8Array(), nextAddrs: [], nextLeaseId: '', constants: new Uint8Array(), fromRequester: [], jobItems: 0 } })
    void out.send({ data: { seq: 1, tensors: new Uint8Array(), more: false, items: 3, stageComputeMs: [] } }, [odd, big, i64, scalar])
    void out.send({ data: { seq: 2, tensors: new Uint8Array(), more: false, items: 1, stageComputeMs: [] } }, [odd])
    void out.send({ finish: {} })
    assert.equal((await inp.next())?.open?.leaseId, 'l')
    const f1 = await inp.next()
    assert.equal(f1?.data?.seq, 1)
    assert.deepEqual(f1?.payload?.map(t => [t.name, t.dtype, t.dims.join('x')]), [['odd', 'uint8', '7'], ['big', 'float32', '3x1024x1024'], ['ids', 'int64', '2x2'], ['s', 'float32', '']])
    for (const [i, t] of [odd, big, i64, scalar].entries()) {
      const got = f1?.payload?.[i] as WireTensor
      assert.ok(got.data instanceof t.data.constructor, `${t.name} typed`)
      assert.deepEqual([...(got.data as any)], [...(t.data as any)], `${t.name} bytes`)
    }
    assert.deepEqual([...(((await inp.next())?.payload?.[0] as WireTensor).data as Uint8Array)], [1, 2, 3, 4, 5, 6, 7])
    assert.ok((await inp.next())?.finish != null)
    assert.ok(counters.inputBytesReceived > big.data.byteLength, 'counted')
    await out.close()
    assert.equal(await inp.next(), undefined, 'clean end of stream')
  })

  it('refuses a payload over the limit from its header, before buffering it', async () => {
    const [a, b] = await streamPair()
    const inp = new InferChannel(b, emptyCounters(), 'input', 1024 * 1024)
    // a header that claims a 4 GiB tensor, and no payload at all
    const header = PbTensorList.encode({ tensors: [{ name: 'x', dtype: 1, dims: [1024n, 1024n, 1024n], data: new Uint8Array(0) }] })
    const head = InferMessage.encode({ data: { seq: 0, tensors: header, more: false, items: 1, stageComputeMs: [] } })
    a.send(varint.encode(head.byteLength))
    a.send(head)
    await assert.rejects(inp.next(), { name: 'MessageTooLargeError' })
  }).timeout(5000)

  it('a stream that ends inside a frame is an error, not a short tensor', async () => {
    const [a, b] = await streamPair()
    const inp = new InferChannel(b, emptyCounters(), 'input')
    const t = f32('x', [256], 0)
    const { header } = encodeTensorHeader([t])
    const head = InferMessage.encode({ result: { seq: 0, tensors: header, more: false, computeMs: 1, receipt: new Uint8Array(), stageComputeMs: [] } })
    a.send(varint.encode(head.byteLength))
    a.send(head)
    a.send(new Uint8Array(t.data.buffer, 0, 100))
    await a.close()
    await assert.rejects(inp.next(), { name: 'InvalidTensorError', message: /ended/ })
  })
})
