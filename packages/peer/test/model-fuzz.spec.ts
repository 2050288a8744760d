import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MODEL_PROTOCOL, ModelHeader, ModelRequest } from '@fleetmesh/protocol'
import { generateMlp, modelCid } from '@fleetmesh/runtime'
import { createTestMesh, waitUntil } from '@fleetmesh/test-utils'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import { MODEL_REQUEST_TIMEOUT_MS } from '../src/constants.js'
import { lengthPrefixed, readPrefixed } from '../src/model-wire.js'
import type { MeshNode } from '../src/index.js'
import type { TestMesh } from '@fleetmesh/test-utils'
import type { Stream } from '@libp2p/interface'

/** Runs per property: bounded in `npm test`; `npm run fuzz` sets FUZZ_RUNS for a long run. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 100)

/** A refusal is a typed fleetmesh error: a stable ERR_ code and a class name, not a bare Error or RangeError. */
function assertTyped (err: any): void {
  assert.ok(typeof err?.code === 'string' && /^ERR_[A-Z_]+$/.test(err.code) && typeof err.name === 'string' && !['Error', 'RangeError', 'TypeError'].includes(err.name), `untyped ${err?.name}: ${err?.message}`)
}

async function * chunked (pieces: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of pieces) yield p
}

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

/** What a lying provider (or a confused requester) sends: random bytes, random messages behind a good prefix, a good header with a random body. */
const wire = fc.oneof(
  fc.uint8Array({ maxLength: 2000 }),
  fc.uint8Array({ maxLength: 200 }).map(lengthPrefixed),
  fc.tuple(fc.string({ maxLength: 20 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.uint8Array({ maxLength: 2000 })).map(([status, size, body]) => Uint8Array.from([...lengthPrefixed(ModelHeader.encode({ status, size })), ...body])),
  fc.tuple(fc.nat(4000), fc.uint8Array({ maxLength: 4000 })).map(([size, body]) => Uint8Array.from([...lengthPrefixed(ModelHeader.encode({ status: '', size: BigInt(size) })), ...body]))
)

describe('fuzz: /fleetmesh/model framing and handlers', function () {
  const STREAMS = Math.max(10, Math.round(RUNS / 10))
  this.timeout(120_000 + STREAMS * 3000)
  let fleet: TestMesh
  let dirs: string[]
  let provider: MeshNode
  let liar: MeshNode
  let fetcher: MeshNode
  let liarSends: Uint8Array[] = []
  const model = generateMlp({ hidden: [8] })
  const cid = modelCid(model)

  before(async () => {
    fleet = await createTestMesh()
    dirs = await Promise.all([0, 1].map(async () => mkdtemp(join(tmpdir(), 'fleetmesh-model-fuzz-'))))
    provider = await fleet.add('station', 'u33d', { modelStore: { dir: dirs[0] as string } })
    await provider.addModel(model)
    liar = await fleet.add('station', 'u33d')
    // an admitted insider that reads the request and answers with whatever the property gives it
    await liar.libp2p.unhandle(MODEL_PROTOCOL)
    await liar.libp2p.handle(MODEL_PROTOCOL, async (stream: Stream) => {
      try {
        const source = stream[Symbol.asyncIterator]()
        await readPrefixed(source, 1024)
        void source.return?.()
        for (const p of liarSends) stream.send(p)
        await stream.close()
      } catch (err: any) {
        stream.abort(err)
      }
    })
    fetcher = await fleet.add('vehicle', 'u33d', { modelStore: { dir: dirs[1] as string } })
    await fetcher.connect(provider.getMultiaddrs()[0] as any)
    await fetcher.connect(liar.getMultiaddrs()[0] as any)
  })
  after(async () => {
    await fleet?.stop()
    await Promise.all((dirs ?? []).map(async d => rm(d, { recursive: true, force: true })))
  })

  it('readPrefixed over random chunked bytes returns a message within the limit, undefined, or a ModelProtocolError', async () => {
    await fc.assert(fc.asyncProperty(wire, fc.array(fc.nat(), { maxLength: 6 }), fc.integer({ min: 0, max: 3000 }), async (bytes, cuts, maxBytes) => {
      try {
        const got = await readPrefixed(chunked(cut(bytes, cuts)), maxBytes)
        if (got != null) assert.ok(got.message.byteLength <= maxBytes, `a message of ${got.message.byteLength} bytes passed the limit of ${maxBytes}`)
      } catch (err: any) {
        assert.equal(err?.code, 'ERR_MODEL_PROTOCOL', `${err?.name}: ${err?.message}`)
      }
    }), { numRuns: RUNS * 5 })
  })

  it('a provider header that does not decode is a ModelProtocolError (fuzz seed -300659973: the provider answers 01 00, a one-byte header with field number 0)', async () => {
    liarSends = [Uint8Array.from([1, 0])]
    await assert.rejects(fetcher.fetchModel(cid, { from: liar.peerId, timeoutMs: 5000 }), { name: 'ModelProtocolError', code: 'ERR_MODEL_PROTOCOL' })
  })

  it('a provider answering with random bytes: the fetch fails with a typed error within its timeout and stores nothing', async () => {
    await fc.assert(fc.asyncProperty(wire, fc.array(fc.nat(), { maxLength: 4 }), async (bytes, cuts) => {
      liarSends = cut(bytes, cuts)
      await fetcher.fetchModel(cid, { from: liar.peerId, timeoutMs: 5000 }).then(() => { assert.fail('random bytes were stored as the model') }, assertTyped)
      assert.equal(fetcher.modelStore?.has(cid), false, 'nothing stored')
    }), { numRuns: STREAMS })
  })

  it('a requester that never sends its request: the provider closes the stream after MODEL_REQUEST_TIMEOUT_MS (found by bench/adversary\'s idle-stream flood)', async () => {
    const stream = await fetcher.libp2p.dialProtocol(provider.peerId, MODEL_PROTOCOL)
    const started = Date.now()
    const ended = (async () => {
      try { for await (const chunk of stream) assert.ok(chunk != null) } catch {}
      return Date.now() - started
    })()
    const bound = setTimeout(() => { stream.abort(new Error('fuzz: the provider held a silent stream')) }, MODEL_REQUEST_TIMEOUT_MS + 10_000)
    const ms = await ended
    clearTimeout(bound)
    assert.ok(ms < MODEL_REQUEST_TIMEOUT_MS + 10_000, `the provider held the silent stream for ${ms} ms`)
    assert.ok(ms >= MODEL_REQUEST_TIMEOUT_MS - 200, `closed after ${ms} ms, not before the timeout`)
    await waitUntil(() => modelStreams(provider) === 0, { timeoutMs: 5000, message: 'the provider to drop the stream' })
  })

  it('a requester sending random bytes: the provider answers with a status or ends the stream, and still serves the model', async () => {
    await fc.assert(fc.asyncProperty(wire, fc.boolean(), async (bytes, close) => {
      const stream = await fetcher.libp2p.dialProtocol(provider.peerId, MODEL_PROTOCOL)
      // read from the start: a stream's data and end that arrive before anyone reads are not replayed to a later reader
      const received = new Uint8ArrayList()
      const reading = (async () => {
        try {
          for await (const chunk of stream) received.append(chunk)
        } catch {}
      })()
      if (bytes.byteLength > 0) stream.send(bytes)
      if (close) await stream.close({ signal: AbortSignal.timeout(2000) }).catch(() => {})
      const signal = AbortSignal.timeout(close ? 10_000 : 500)
      const timer = (): void => { stream.abort(new Error('fuzz: read time is up')) }
      signal.addEventListener('abort', timer, { once: true })
      await reading
      signal.removeEventListener('abort', timer)
      if (close) assert.ok(!signal.aborted, 'a closed request stream is answered or ended')
      const head = received.byteLength > 0 ? await readPrefixed(chunked([received.subarray()]), 1024).catch(() => undefined) : undefined
      if (head != null) {
        const { status } = ModelHeader.decode(head.message)
        assert.ok(status === '' || /^ERR_[A-Z_]+$/.test(status), `status ${status}`)
        if (status === '') assert.equal(ModelRequest.decode(lengthPrefixedBody(bytes) ?? new Uint8Array()).cid, cid, 'only the stored model is served')
      }
      stream.abort(new Error('fuzz: done'))
      // the provider keeps no stream behind
      await waitUntil(() => modelStreams(provider) === 0, { timeoutMs: 5000, message: `the provider to close its model streams (${modelStreams(provider)} open)` })
    }), { numRuns: STREAMS })
    // still serving
    const fresh = await fleet.add('vehicle', 'u33d', { modelStore: { dir: await mkdtemp(join(tmpdir(), 'fleetmesh-model-fuzz-')).then(d => { dirs.push(d); return d }) } })
    await fresh.connect(provider.getMultiaddrs()[0] as any)
    assert.equal((await fresh.fetchModel(cid, { from: provider.peerId, timeoutMs: 10_000 })).cid, cid)
  })
})

/** /fleetmesh/model streams a node holds open now. */
function modelStreams (node: MeshNode): number {
  return node.libp2p.getConnections().reduce((n, c) => n + c.streams.filter(st => st.protocol === MODEL_PROTOCOL && st.status !== 'closed' && st.status !== 'aborted' && st.status !== 'reset').length, 0)
}

/** The body of a single-byte-prefixed message, if `bytes` starts with one. */
function lengthPrefixedBody (bytes: Uint8Array): Uint8Array | undefined {
  const n = bytes[0]
  if (n == null || n >= 0x80 || bytes.byteLength < 1 + n) return undefined
  return bytes.subarray(1, 1 + n)
}
