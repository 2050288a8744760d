import assert from 'node:assert/strict'
import { decoderInitialState, decoderStatePairs, generateDecoder, generateGru, GRU_STATE_PAIRS, LocalSession, maxAbsDiff } from '@fleetmesh/runtime'
import { createSampler, generateTokens, LocalStatefulSession } from '../src/index.js'
import type { GenerateInit, Stepper } from '../src/index.js'
import type { WireTensor } from '@fleetmesh/protocol'

const ids = (tokens: number[]): WireTensor => ({ name: 'input_ids', dtype: 'int64', dims: [1, tokens.length], data: BigInt64Array.from(tokens.map(BigInt)) })

async function collect (tokens: AsyncIterable<number>): Promise<number[]> {
  const out: number[] = []
  for await (const t of tokens) out.push(t)
  return out
}

/** A float32 `[1, n, features]` sequence from a fixed pattern. */
function sequence (n: number, features: number): WireTensor {
  return { name: 'x', dtype: 'float32', dims: [1, n, features], data: Float32Array.from({ length: n * features }, (_, i) => Math.sin(i * 0.61) * 0.8) }
}

describe('local stateful sessions and token generation', function () {
  this.timeout(180_000)
  const sessions: Array<{ close: () => Promise<unknown> }> = []
  const open = async (model: Uint8Array, init: Parameters<typeof LocalStatefulSession.open>[1]): Promise<LocalStatefulSession> => {
    const s = await LocalStatefulSession.open(model, init)
    sessions.push(s)
    return s
  }
  afterEach(async () => { await Promise.all(sessions.splice(0).map(async s => s.close())) })

  it('greedy 64 tokens of the decoder with its KV cache equal a full-sequence re-run without cache (argmax of logits each time)', async () => {
    const model = generateDecoder()
    const session = await open(model, { state: decoderStatePairs() })
    const prompt = [11, 42, 7]
    const generated = await collect(generateTokens(session, { prompt, maxTokens: 64 }))
    assert.equal(generated.length, 64)
    assert.equal(session.steps, 64, 'one step per token generated')
    assert.ok(new Set(generated).size >= 8, `the model does not collapse onto a few tokens (${generated.join(',')})`)

    // the reference: every token from one run over the whole sequence so far, from an empty cache
    const whole = await LocalSession.create(model)
    try {
      const sequenceSoFar = [...prompt]
      const greedy = createSampler({ kind: 'greedy' })
      for (const [i, token] of generated.entries()) {
        const out = await whole.run([ids(sequenceSoFar), ...decoderInitialState()])
        const logits = out.find(t => t.name === 'logits') as WireTensor
        const expected = greedy.next((logits.data as Float32Array).subarray((sequenceSoFar.length - 1) * 256))
        assert.equal(token, expected, `token ${i}: the cached step picks what the full re-run picks`)
        sequenceSoFar.push(expected)
      }
    } finally {
      await whole.release()
    }
  })

  it('seeded top-k generation is reproducible, and another seed generates another sequence', async () => {
    const model = generateDecoder({ layers: 2 })
    const run = async (seed: number): Promise<number[]> => {
      const session = await open(model, { state: decoderStatePairs(2) })
      return collect(generateTokens(session, { prompt: [1, 2, 3], maxTokens: 32, sampler: { kind: 'top-k', k: 20, seed, temperature: 1.5 } }))
    }
    const first = await run(5)
    assert.deepEqual(await run(5), first, 'the same seed generates the same tokens')
    assert.notDeepEqual(await run(6), first, 'another seed generates other tokens')
  })

  it('stops after the stop token (yielding it) and generates nothing for maxTokens 0', async () => {
    const model = generateDecoder({ layers: 1 })
    const all = await collect(generateTokens(await open(model, { state: decoderStatePairs(1) }), { prompt: [9], maxTokens: 16 }))
    const stop = all[5] as number
    const firstStop = all.indexOf(stop)
    const stopped = await collect(generateTokens(await open(model, { state: decoderStatePairs(1) }), { prompt: [9], maxTokens: 16, stopToken: stop }))
    assert.deepEqual(stopped, all.slice(0, firstStop + 1))
    assert.deepEqual(await collect(generateTokens(await open(model, { state: decoderStatePairs(1) }), { prompt: [9], maxTokens: 0 })), [])
  })

  it('the GRU stepped 100 times, one feature vector at a time, equals one run over the concatenated sequence (≤ 1e-5)', async () => {
    const model = generateGru()
    const whole = await LocalSession.create(model)
    let expected: WireTensor[]
    try {
      expected = await whole.run([sequence(100, 8), { name: 'h_in', dtype: 'float32', dims: [1, 1, 32], data: new Float32Array(32) }])
    } finally {
      await whole.release()
    }
    const y = expected.find(t => t.name === 'y') as WireTensor
    const session = await open(model, { state: [...GRU_STATE_PAIRS] })
    const all = sequence(100, 8).data as Float32Array
    for (let i = 0; i < 100; i++) {
      const out = await session.step([{ name: 'x', dtype: 'float32', dims: [1, 1, 8], data: all.slice(i * 8, (i + 1) * 8) }])
      assert.deepEqual(out.map(t => t.name), ['y'], 'the state output is not returned')
      const row = { name: 'y', dtype: 'float32' as const, dims: [1, 1, 32], data: (y.data as Float32Array).slice(i * 32, (i + 1) * 32) }
      const d = maxAbsDiff(out[0] as WireTensor, row)
      assert.ok(d <= 1e-5, `step ${i}: y equals row ${i} of the whole run (diff ${d})`)
    }
    const d = maxAbsDiff({ ...(session.currentState[0] as WireTensor), name: 'h_out' }, expected.find(t => t.name === 'h_out') as WireTensor)
    assert.ok(d <= 1e-5, `the state after 100 steps is the whole run's h_out (diff ${d})`)
  })

  it('refuses a state input passed in, bad pairs, bad prompts, a missing logits output, and steps after close', async () => {
    const model = generateDecoder({ layers: 1 })
    const session = await open(model, { state: decoderStatePairs(1) })
    await assert.rejects(session.step([ids([1]), ...decoderInitialState({ layers: 1 })]), (err: any) => err.name === 'StateError' && /past_key_0/.test(err.message))
    await assert.rejects(LocalStatefulSession.open(model, { state: [{ output: 'nope', input: 'past_key_0' }] }), (err: any) => err.name === 'StateError')
    await assert.rejects(LocalStatefulSession.open(model, { state: decoderStatePairs(1), initialState: [] }), (err: any) => err.name === 'StateError' && /initialState/.test(err.message))
    const bad: Array<Partial<GenerateInit>> = [{ prompt: [], maxTokens: 1 }, { prompt: [-1], maxTokens: 1 }, { prompt: [1], maxTokens: -1 }, { prompt: [1], maxTokens: 1, logitsName: 'scores' }]
    for (const init of bad) {
      await assert.rejects(collect(generateTokens(session, init as GenerateInit)), (err: any) => err.name === 'GenerationError' && err.code === 'ERR_GENERATION', `refuses ${JSON.stringify(init)}`)
    }
    await session.close()
    await assert.rejects(session.step([ids([1])]), (err: any) => err.name === 'SessionClosedError')
  })

  it('generateTokens drives any stepper: the first step carries the prompt, each later one only the last token', async () => {
    const sent: number[][] = []
    const stepper: Stepper = {
      step: async inputs => {
        const tokens = Array.from(inputs[0]?.data as BigInt64Array, Number)
        sent.push(tokens)
        const logits = new Float32Array(2 * 10)
        logits[10 + ((tokens.at(-1) as number) + 1) % 10] = 1 // the last row favours last token + 1
        return [{ name: 'logits', dtype: 'float32', dims: [1, 2, 10], data: logits }]
      }
    }
    assert.deepEqual(await collect(generateTokens(stepper, { prompt: [4, 5], maxTokens: 3 })), [6, 7, 8])
    assert.deepEqual(sent, [[4, 5], [6], [7]])
  })
})
