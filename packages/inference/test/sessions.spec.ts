import assert from 'node:assert/strict'
import { decoderInitialState, decoderStatePairs, generateDecoder, generateGru, GRU_STATE_PAIRS, gruInitialState, maxAbsDiff } from '@fleetmesh/runtime'
import { generateTokens, LocalStatefulSession } from '../src/index.js'
import { collect, gruChunk, stepLocally } from './fixtures/state-models.js'
import { startJobMesh } from './utils/jobs.js'
import type { JobMesh } from './utils/jobs.js'
import type { InferenceSession, SamplerSpec, SessionProgress } from '../src/index.js'
import type { WireTensor } from '@fleetmesh/protocol'

const DECODER = { vocab: 96, dModel: 32, heads: 4, layers: 4, seed: 11 }
const PROMPT = [5, 17, 42, 8]

/** Greedy tokens of the decoder generated in this process: the reference. */
async function localTokens (maxTokens: number, sampler?: SamplerSpec): Promise<number[]> {
  const s = await LocalStatefulSession.open(generateDecoder(DECODER), { state: decoderStatePairs(DECODER.layers), initialState: decoderInitialState(DECODER) })
  try { return await collect(generateTokens(s, { prompt: PROMPT, maxTokens, sampler })) } finally { await s.close() }
}

describe('stateful sessions across the mesh', function () {
  this.timeout(180_000)
  let mesh: JobMesh | undefined
  let sessions: InferenceSession[] = []
  afterEach(async () => {
    await Promise.all(sessions.map(async s => s.close().catch(() => {})))
    sessions = []
    await mesh?.stop()
    mesh = undefined
  })

  it('a GRU stepped 100 times through the mesh equals 100 local steps, the state never crosses the network, and close settles one receipt', async () => {
    mesh = await startJobMesh([{}, {}])
    const gru = { hidden: 32, seed: 3 }
    const model = generateGru(gru)
    const inputs = Array.from({ length: 100 }, (_, i) => [gruChunk(i)])
    const expected = await stepLocally(model, [...GRU_STATE_PAIRS], gruInitialState(gru), inputs)
    const session = await mesh.requester.openSession({ model, state: [...GRU_STATE_PAIRS], maxPrice: 10 })
    sessions.push(session)
    const events: SessionProgress[] = []
    session.addEventListener('progress', (e) => { events.push(e.detail) })
    const counters = mesh.requester.libp2p.services.inference?.counters
    const before = { ...counters }
    for (const [i, x] of inputs.entries()) {
      const out = await session.step(x)
      assert.deepEqual(out.map(t => t.name), ['y'], `step ${i}: only the non-state output`)
      const d = maxAbsDiff(out[0] as WireTensor, (expected[i] as WireTensor[])[0] as WireTensor)
      assert.ok(d <= 1e-5, `step ${i}: max abs diff ${d}`)
    }
    // per step: 32 input bytes out and 128 output bytes back, plus frame headers; the 128-byte state would double the results
    const sent = (counters?.inputBytesSent ?? 0) - (before.inputBytesSent ?? 0)
    const received = (counters?.resultBytesReceived ?? 0) - (before.resultBytesReceived ?? 0)
    assert.ok(sent < 100 * (32 + 100), `input bytes sent ${sent}`)
    assert.ok(received < 100 * (128 + 100), `result bytes received ${received}`)
    assert.equal(session.steps, 100)
    const summary = await session.close()
    assert.deepEqual({ steps: summary.steps, recoveries: summary.recoveries, receipts: summary.receipts }, { steps: 100, recoveries: 0, receipts: 1 })
    assert.equal(events.filter(e => e.type === 'step').length, 100)
    assert.equal(events.at(-1)?.type, 'closed')
    const receipts = await mesh.requester.ledger.receipts({ requester: mesh.requester.peerId.toString() })
    const mine = receipts.filter(r => r.jobId === session.id)
    assert.equal(mine.length, 1)
    assert.equal(mine[0]?.units, 100, 'units = steps served')
  })

  it('a decoder generates 64 tokens through 2 and 3 stages equal to local generation, token for token: greedy and seeded top-k', async () => {
    mesh = await startJobMesh([{}, {}, {}])
    const samplers: SamplerSpec[] = [{ kind: 'greedy' }, { kind: 'top-k', k: 8, seed: 42, temperature: 0.9 }]
    assert.notDeepEqual(await localTokens(64, samplers[0]), await localTokens(64, samplers[1]), 'the sampled run is not the greedy one')
    for (const sampler of samplers) {
      const expected = await localTokens(64, sampler)
      assert.equal(expected.length, 64)
      for (const stages of [2, 3]) {
        const what = `${sampler.kind}, ${stages} stages`
        const session = await mesh.requester.openSession({ model: generateDecoder(DECODER), stages, state: decoderStatePairs(DECODER.layers), maxPrice: 10 })
        sessions.push(session)
        assert.equal(session.leases.length, stages, what)
        assert.equal(new Set(session.leases.map(l => l.worker)).size, stages, `${what}: one worker per stage`)
        const counters = mesh.requester.libp2p.services.inference?.counters
        const before = counters?.resultBytesReceived ?? 0
        const tokens = await collect(session.generate({ prompt: PROMPT, maxTokens: 64, sampler }))
        assert.deepEqual(tokens, expected, what)
        // only the logits come back: 384 bytes a position (vocab 96), 4 positions for the prompt; the KV cache (1 KiB a position, growing) never does
        const received = (counters?.resultBytesReceived ?? 0) - before
        assert.ok(received < (64 + 3) * (384 + 128), `${what}: result bytes received ${received}`)
        const summary = await session.close()
        assert.equal(summary.steps, 64, what)
        assert.equal(summary.receipts, stages, `${what}: one receipt per stage lease`)
      }
    }
  })
})
