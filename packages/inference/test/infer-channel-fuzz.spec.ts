import assert from 'node:assert/strict'
import { encodeTensorHeader, INFER_PROTOCOL, InferMessage } from '@fleetmesh/protocol'
import { generateMlp } from '@fleetmesh/runtime'
import { streamPair } from '@libp2p/utils'
import fc from 'fast-check'
import * as varint from 'uint8-varint'
import { FIRST_FRAME_TIMEOUT_MS, LEASE_WAIT_MS } from '../src/constants.js'
import { emptyCounters, InferChannel } from '../src/infer-channel.js'
import { pattern, startJobMesh } from './utils/jobs.js'
import type { JobMesh } from './utils/jobs.js'
import type { MeshNode } from '@fleetmesh/peer'

/** Runs per property: bounded in `npm test`; `npm run fuzz` sets FUZZ_RUNS for a long run. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 100)

/** A refusal is a typed fleetmesh error: a stable ERR_ code and a class name. */
function assertTyped (err: any): void {
  assert.ok(typeof err?.code === 'string' && /^ERR_[A-Z_]+$/.test(err.code) && typeof err.name === 'string' && err.name !== 'Error', `untyped ${err?.name}: ${err?.message}`)
}

function frame (head: Uint8Array): Uint8Array {
  const prefix = varint.encode(head.byteLength)
  const out = new Uint8Array(prefix.byteLength + head.byteLength)
  out.set(prefix, 0)
  out.set(head, prefix.byteLength)
  return out
}

/** Byte strings an attacker would send: random bytes, random headers behind a good length prefix, data frames with random tensor headers and payloads. */
const wire = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }),
  fc.uint8Array({ maxLength: 300 }).map(frame),
  fc.tuple(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 0xffffffff }), fc.uint8Array({ maxLength: 2000 }), fc.boolean()).map(([tensors, seq, payload, result]) => {
    const head = InferMessage.encode(result ? { result: { seq, tensors, computeMs: 1, more: false, receipt: new Uint8Array(), stageComputeMs: [] } } : { data: { seq, tensors, more: false, items: 1, stageComputeMs: [] } })
    return Uint8Array.from([...frame(head), ...payload])
  }),
  fc.tuple(fc.array(fc.record({ name: fc.string({ maxLength: 8 }), dtype: fc.constantFrom('float32', 'uint8', 'int64'), dims: fc.array(fc.integer({ min: 0, max: 16 }), { maxLength: 3 }) }), { maxLength: 3 }), fc.integer({ min: -64, max: 64 })).map(([specs, skew]) => {
    // a well-formed header whose payload is short or long by `skew` bytes
    const tensors = specs.map(s => {
      const n = s.dims.reduce((a, b) => a * b, 1)
      return { name: s.name, dtype: s.dtype, dims: s.dims, data: s.dtype === 'float32' ? new Float32Array(n) : s.dtype === 'int64' ? new BigInt64Array(n) : new Uint8Array(n) }
    })
    const { header, payloadBytes } = encodeTensorHeader(tensors as any)
    const head = InferMessage.encode({ data: { seq: 0, tensors: header, more: false, items: 1, stageComputeMs: [] } })
    return Uint8Array.from([...frame(head), ...new Uint8Array(Math.max(0, payloadBytes + skew))])
  })
)

/** Splits bytes into chunks at the given cut points. */
function cut (bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map(c => c % (bytes.byteLength + 1)))].sort((a, b) => a - b)
  const out: Uint8Array[] = []
  let at = 0
  for (const p of [...points, bytes.byteLength]) {
    if (p > at) out.push(bytes.subarray(at, p))
    at = Math.max(at, p)
  }
  return out
}

describe('fuzz: infer frames', function () {
  this.timeout(120_000 + RUNS * 200)

  it('a frame header that does not decode is an InvalidTensorError (fuzz seed -1607523031: bytes 01 04, a one-byte header holding an end-group tag)', async () => {
    const [a, b] = await streamPair()
    const reader = new InferChannel(b, emptyCounters(), 'input')
    a.send(Uint8Array.from([1, 4, 18, 2, 32, 1]))
    await a.close()
    await assert.rejects(reader.next(), { name: 'InvalidTensorError', code: 'ERR_INVALID_TENSOR' })
  })

  it('InferChannel.next over random bytes in random chunks returns frames or throws a typed error, and ends', async () => {
    await fc.assert(fc.asyncProperty(fc.array(wire, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), async (pieces, cuts, mustOpen) => {
      const [a, b] = await streamPair()
      const reader = new InferChannel(b, emptyCounters(), 'input', 64 * 1024)
      const bytes = Uint8Array.from(pieces.flatMap(p => [...p]))
      for (const chunk of cut(bytes, cuts)) a.send(chunk)
      await a.close()
      let frames = 0
      try {
        for (let first = true; ; first = false) {
          const m = await reader.next({ mustOpen: mustOpen && first })
          if (m == null) break
          frames++
          assert.ok(frames <= bytes.byteLength, 'every frame takes at least one byte')
        }
      } catch (err) {
        assertTyped(err)
      }
      b.abort(new Error('done'))
    }), { numRuns: RUNS })
  })
})

/** An admitted peer sending random frames on the infer protocol: the worker answers with a typed error or closes, keeps no session, and keeps serving. */
describe('fuzz: the infer stream handler', function () {
  const STREAMS = Math.max(10, Math.round(RUNS / 10))
  this.timeout(120_000 + STREAMS * (LEASE_WAIT_MS + FIRST_FRAME_TIMEOUT_MS))
  let mesh: JobMesh
  let worker: MeshNode

  // the fuzzing peer breaks the framing on purpose, stream after stream: the worker must not refuse it for that here
  before(async () => { mesh = await startJobMesh([{ inference: { malformedStreamBudget: { perSecond: 1000, burst: 1_000_000 } } }]); worker = mesh.workers[0] as MeshNode })
  after(async () => { await mesh?.stop() })

  it('random frames on real infer streams: each ends with a typed error frame or a close within the first-frame and lease waits; no session; a job still runs', async () => {
    const uncaught: unknown[] = []
    const onUncaught = (err: unknown): void => { uncaught.push(err) }
    process.on('uncaughtException', onUncaught)
    process.on('unhandledRejection', onUncaught)
    try {
      await fc.assert(fc.asyncProperty(fc.array(wire, { minLength: 1, maxLength: 3 }), fc.boolean(), async (pieces, end) => {
        const stream = await mesh.requester.libp2p.dialProtocol(worker.peerId, INFER_PROTOCOL)
        const reader = new InferChannel(stream, emptyCounters(), 'input')
        const started = Date.now()
        // read from the start: a stream's data and end that arrive before anyone reads are not replayed to a later reader
        const reading = (async () => {
          let last: any
          try {
            for (let m = await reader.next(); m != null; m = await reader.next()) {
              assert.ok(m.error != null, `the worker answered random frames with ${Object.keys(m).filter(k => (m as any)[k] != null).join(', ')}, not an error`)
              last = m.error
            }
          } catch (err: any) {
            if (err?.code === 'ERR_ASSERTION') throw err
            // the worker reset the stream (its write failed after the error): a libp2p stream error, not a frame
            assert.ok(typeof err?.name === 'string', String(err))
          }
          return last
        })()
        for (const p of pieces) if (p.byteLength > 0) stream.send(p)
        if (end) await stream.close({ signal: AbortSignal.timeout(1000) }).catch(() => {})
        const bound = setTimeout(() => { stream.abort(new Error('fuzz: the worker did not end the stream')) }, FIRST_FRAME_TIMEOUT_MS + LEASE_WAIT_MS + 10_000)
        const error = await reading.finally(() => { clearTimeout(bound) })
        if (error != null) {
          assert.match(String(error.code), /^ERR_[A-Z_]+$/, `error frame code ${error.code}`)
          assert.ok(!['Error', 'RangeError', 'TypeError', 'SyntaxError'].includes(String(error.name)), `the worker's error is a typed one, not ${error.name}: ${error.message}`)
        }
        const ms = Date.now() - started
        assert.ok(ms < FIRST_FRAME_TIMEOUT_MS + LEASE_WAIT_MS + 10_000, `the stream ended after ${ms} ms`)
        stream.abort(new Error('done'))
        assert.equal(worker.libp2p.services.inference?.sessions(), 0, 'no session was created')
      }), { numRuns: STREAMS })
    } finally {
      process.off('uncaughtException', onUncaught)
      process.off('unhandledRejection', onUncaught)
    }
    assert.deepEqual(uncaught, [], 'no uncaught error')
    const mlp = generateMlp({ hidden: [8] })
    const outputs = await mesh.requester.submit({ model: mlp, inputs: [pattern('x', [4, 16], 0)], maxPrice: 10, deadline: Date.now() + 60_000 }).result
    assert.deepEqual(outputs[0]?.dims, [4, 4], 'the worker still runs a job')
  })
})
