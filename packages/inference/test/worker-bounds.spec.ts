import assert from 'node:assert/strict'
import { encodeTensorHeader, INFER_PROTOCOL, InferMessage } from '@fleetmesh/protocol'
import { waitUntil } from '@fleetmesh/test-utils'
import * as varint from 'uint8-varint'
import { ERROR_STREAM_LINGER_MS, FIRST_FRAME_TIMEOUT_MS, LEASE_WAIT_MS, MALFORMED_INFER_BACKOFF_MS, MALFORMED_INFER_STREAM_BUDGET } from '../src/constants.js'
import { emptyCounters, InferChannel } from '../src/infer-channel.js'
import { startJobMesh } from './utils/jobs.js'
import type { JobMesh } from './utils/jobs.js'
import type { MeshNode } from '@fleetmesh/peer'

/** An admitted peer misusing the infer protocol: the worker answers at once, buffers nothing, keeps no session. */
describe('infer streams are bounded at the worker', function () {
  this.timeout(60_000)
  let mesh: JobMesh
  let worker: MeshNode
  before(async () => { mesh = await startJobMesh([{}]); worker = mesh.workers[0] as MeshNode })
  after(async () => { await mesh?.stop() })

  const open = async (): Promise<InferChannel> => {
    const stream = await mesh.requester.libp2p.dialProtocol(worker.peerId, INFER_PROTOCOL)
    return new InferChannel(stream, emptyCounters(), 'input')
  }

  it('a first frame that is not open is refused before its payload is read', async () => {
    const c = await open()
    // a data header announcing 64 MiB that never comes
    const { header } = encodeTensorHeader([{ name: 'x', dtype: 'uint8', dims: [1], data: new Uint8Array(1) }])
    const big = InferMessage.encode({ data: { seq: 0, tensors: header, more: false, items: 1, stageComputeMs: [] } })
    c.stream.send(varint.encode(big.byteLength))
    c.stream.send(big)
    const t = Date.now()
    const answer = await c.next()
    assert.match(String(answer?.error?.message), /first frame of an infer stream must be open/)
    assert.ok(Date.now() - t < FIRST_FRAME_TIMEOUT_MS, 'answered before any timeout')
    assert.equal(await c.next(), undefined, 'and the stream is closed')
  })

  it('opens for leases the worker does not hold leave no session behind', async () => {
    const before = worker.libp2p.services.inference?.sessions()
    // within MAX_INFER_STREAMS (32) at once: beyond it libp2p resets the stream at negotiation
    const answers = await Promise.all(Array.from({ length: 24 }, async (_, i) => {
      const c = await open()
      void c.send({ open: { jobId: 'j', leaseId: `nope-${i}`, modelCid: 'x', kind: i % 2 === 0 ? 'data' : 'feed', stage: 1, stageCount: 2, source: new Uint8Array(), next: new Uint8Array(), nextAddrs: [], nextLeaseId: '', constants: new Uint8Array(), fromRequester: [], jobItems: 0 } })
      const a = await c.next()
      return a?.error
    }))
    assert.ok(answers.every(e => e?.code === 'ERR_SESSION' && /no live lease/.test(e.message)), JSON.stringify(answers.slice(0, 2)))
    assert.equal(worker.libp2p.services.inference?.sessions(), before, 'no sessions were created')
  }).timeout(LEASE_WAIT_MS * 4 + 10_000)

  it('a silent stream is closed after the first-frame timeout', async () => {
    const c = await open()
    const t = Date.now()
    const answer = await c.next()
    const ms = Date.now() - t
    assert.match(String(answer?.error?.message), /no open frame within/)
    assert.ok(ms >= FIRST_FRAME_TIMEOUT_MS - 100 && ms < FIRST_FRAME_TIMEOUT_MS + 3000, `closed after ${ms} ms`)
  })

  it('a refused stream whose remote never closes its side, with 1 MiB sent ahead, ends at the worker within ERROR_STREAM_LINGER_MS (bench/adversary\'s data-before-open flood held 64 such streams and their bytes)', async () => {
    const inferStreams = (): number => worker.libp2p.getConnections(mesh.requester.peerId).reduce((n, c) => n + c.streams.filter(s => s.protocol === INFER_PROTOCOL).length, 0)
    const payload = new Uint8Array(1024 * 1024)
    const { header } = encodeTensorHeader([{ name: 'x', dtype: 'uint8', dims: [payload.byteLength], data: payload }])
    const head = InferMessage.encode({ data: { seq: 0, tensors: header, more: false, items: 1, stageComputeMs: [] } })
    // within the malformed-stream budget (the first test above used one of it): past it the peer is refused, tested below
    const streams = await Promise.all(Array.from({ length: MALFORMED_INFER_STREAM_BUDGET.burst - 1 }, async () => {
      const stream = await mesh.requester.libp2p.dialProtocol(worker.peerId, INFER_PROTOCOL)
      stream.send(varint.encode(head.byteLength))
      stream.send(head)
      stream.send(payload)
      return stream
    }))
    // the attacker reads the answer and keeps its side open
    await new Promise(resolve => setTimeout(resolve, ERROR_STREAM_LINGER_MS + 3000))
    assert.equal(inferStreams(), 0, 'the worker holds none of the refused streams (nor those of the tests above, whose requester never closed its side either)')
    for (const s of streams) s.abort(new Error('test over'))
  })
})

/** A peer that keeps opening malformed infer streams (each may carry up to a read buffer of bytes the worker must receive to drop) is refused. */
describe('malformed infer streams are budgeted per connection', function () {
  this.timeout(60_000)
  let mesh: JobMesh | undefined
  afterEach(async () => { await mesh?.stop(); mesh = undefined })

  it('past MALFORMED_INFER_STREAM_BUDGET data-before-open streams the peer is refused with ERR_INFER_MALFORMED and cut (bench/adversary\'s data-before-open flood)', async () => {
    mesh = await startJobMesh([{}])
    const worker = mesh.workers[0] as MeshNode
    const requester = mesh.requester
    const refusals: Array<{ peerId: { toString: () => string }, code: string }> = []
    worker.addEventListener('peer:refused', (e) => { refusals.push(e.detail) })
    const payload = new Uint8Array(64 * 1024)
    const { header } = encodeTensorHeader([{ name: 'x', dtype: 'uint8', dims: [payload.byteLength], data: payload }])
    const head = InferMessage.encode({ data: { seq: 0, tensors: header, more: false, items: 1, stageComputeMs: [] } })
    const answers: string[] = []
    for (let i = 0; i < MALFORMED_INFER_STREAM_BUDGET.burst + 2 && refusals.length === 0; i++) {
      try {
        const c = new InferChannel(await requester.libp2p.dialProtocol(worker.peerId, INFER_PROTOCOL), emptyCounters(), 'input')
        c.stream.send(varint.encode(head.byteLength))
        c.stream.send(head)
        c.stream.send(payload)
        const a = await c.next()
        answers.push(a?.error?.code ?? 'end')
      } catch (err: any) {
        answers.push(err?.name ?? 'error')
      }
    }
    await waitUntil(() => refusals.length > 0, { timeoutMs: 10_000, message: `the worker to refuse the peer (answers ${answers.join(', ')})` })
    assert.equal(refusals[0]?.code, 'ERR_INFER_MALFORMED')
    assert.equal(refusals[0]?.peerId.toString(), requester.peerId.toString())
    assert.deepEqual(answers.slice(0, MALFORMED_INFER_STREAM_BUDGET.burst), Array(MALFORMED_INFER_STREAM_BUDGET.burst).fill('ERR_INVALID_TENSOR'), 'the streams within the budget are answered')
    await waitUntil(() => worker.libp2p.getConnections(requester.peerId).length === 0, { timeoutMs: 5000, message: 'the peer\'s connections closed' })
    assert.equal(worker.libp2p.services.admission.isRefused(requester.peerId), true, 'kept out for the back-off')
    assert.ok(MALFORMED_INFER_BACKOFF_MS > 0)
  })
})
