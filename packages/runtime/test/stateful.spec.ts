import assert from 'node:assert/strict'
import { decoderInitialState, decoderStatePairs, generateDecoder, generateGru, GRU_STATE_PAIRS, gruInitialState, inferStatePairs, LocalSession, maxAbsDiff, partitionModel, runStagesLocally, validateModel, zeroState } from '../src/index.js'
import { patternInput } from './utils/models.js'
import { declaredDims, wholeModel } from './utils/partition.js'
import type { Stage, StatePair } from '../src/index.js'
import type { WireTensor } from '@fleetmesh/protocol'

const ids = (tokens: number[]): WireTensor => ({ name: 'input_ids', dtype: 'int64', dims: [1, tokens.length], data: BigInt64Array.from(tokens.map(BigInt)) })

/** Row `row` of a `[1, seq, width]` float tensor. */
const rowOf = (t: WireTensor, row: number): Float32Array => {
  const width = t.dims[2] as number
  return (t.data as Float32Array).subarray(row * width, (row + 1) * width)
}

const maxRowDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, x, i) => Math.max(m, Math.abs(x - (b[i] as number))), 0)

/** Steps `run` over `steps`, feeding each state output back as its input: returns each step's non-state outputs. */
async function stepWithState (run: (inputs: WireTensor[]) => Promise<WireTensor[]>, pairs: StatePair[], initial: WireTensor[], steps: WireTensor[][]): Promise<WireTensor[][]> {
  let state = initial
  const results: WireTensor[][] = []
  for (const inputs of steps) {
    const out = await run([...inputs, ...state])
    state = pairs.map(p => {
      const t = out.find(o => o.name === p.output)
      assert.ok(t != null, `state output ${p.output} is produced`)
      return { ...t, name: p.input }
    })
    results.push(out.filter(o => !pairs.some(p => p.output === o.name)))
  }
  return results
}

/** Runs a whole model in one session over several steps. */
async function stepWhole (bytes: Uint8Array, pairs: StatePair[], initial: WireTensor[], steps: WireTensor[][]): Promise<WireTensor[][]> {
  const session = await LocalSession.create(bytes)
  try {
    return await stepWithState(async inputs => session.run(inputs), pairs, initial, steps)
  } finally {
    await session.release()
  }
}

describe('stateful test models and partitions that keep state in one stage', function () {
  this.timeout(180_000)

  it('the decoder declares its conventions and runs from an empty KV cache (past = 0)', async () => {
    const bytes = generateDecoder()
    assert.deepEqual(generateDecoder(), bytes, 'the same options give the same bytes')
    const info = validateModel(bytes)
    assert.deepEqual(info.inputs.find(i => i.name === 'input_ids'), { name: 'input_ids', dtype: 'int64', shape: [1, 'seq'] })
    assert.deepEqual(info.inputs.find(i => i.name === 'past_key_3')?.shape, [1, 4, 'past', 16])
    assert.deepEqual(info.outputs.find(o => o.name === 'logits')?.shape, [1, 'seq', 256])
    assert.deepEqual(zeroState(bytes, decoderStatePairs()), decoderInitialState(), 'zeros of the declared state shapes, symbolic dims 0, are the decoder\'s initial state')
    const out = await wholeModel(bytes, [ids([5, 6, 7]), ...decoderInitialState()])
    assert.deepEqual(out.find(t => t.name === 'logits')?.dims, [1, 3, 256])
    assert.deepEqual(out.find(t => t.name === 'present_value_2')?.dims, [1, 4, 3, 16])
  })

  it('the decoder stepped with its KV cache gives the logits of one run over the whole sequence (≤ 1e-5)', async () => {
    const bytes = generateDecoder({ activation: 'relu', layers: 3 })
    const tokens = [17, 3, 250, 9, 101, 42, 7, 88]
    const full = (await wholeModel(bytes, [ids(tokens), ...decoderInitialState({ layers: 3 })])).find(t => t.name === 'logits') as WireTensor
    const steps = [[ids(tokens.slice(0, 5))], ...tokens.slice(5).map(t => [ids([t])])]
    const stepped = await stepWhole(bytes, decoderStatePairs(3), decoderInitialState({ layers: 3 }), steps)
    const rows = stepped.flatMap(out => {
      const logits = out.find(t => t.name === 'logits') as WireTensor
      return Array.from({ length: logits.dims[1] as number }, (_, r) => rowOf(logits, r))
    })
    assert.equal(rows.length, tokens.length)
    for (const [i, row] of rows.entries()) assert.ok(maxRowDiff(row, rowOf(full, i)) <= 1e-5, `position ${i}: stepped logits equal the full run's (diff ${maxRowDiff(row, rowOf(full, i))})`)
  })

  for (const K of [2, 3]) {
    it(`the decoder cut into ${K} stages keeps each layer's KV cache in its stage; stepped with state fed back it equals the whole model (≤ 1e-5)`, async () => {
      const bytes = generateDecoder()
      const pairs = decoderStatePairs()
      const p = await partitionModel(bytes, { stages: K, state: pairs })
      assert.equal(p.stages.length, K)
      assert.deepEqual(p.stages.flatMap(s => s.state).map(x => x.output).sort(), pairs.map(x => x.output).sort(), 'every pair is kept by exactly one stage')
      for (const s of p.stages) {
        const info = validateModel(s.bytes)
        assert.deepEqual(info.inputs.map(i => i.name), s.inputs, `stage ${s.index} declares its inputs`)
        assert.deepEqual(info.outputs.map(o => o.name), s.outputs, `stage ${s.index} declares its outputs`)
        assert.deepEqual(s.inputs, [...s.activations, ...s.graphInputs], `stage ${s.index}: activations, then graph inputs`)
        assert.deepEqual(s.graphInputs.filter(n => n.startsWith('past_')).sort(), s.state.map(x => x.input).sort(), `stage ${s.index} reads exactly the state inputs it keeps`)
        assert.ok(s.state.length > 0, `stage ${s.index} keeps some state`)
        for (const x of s.state) assert.ok(s.outputs.includes(x.output), `stage ${s.index} outputs its state ${x.output}`)
        const next = p.stages[s.index + 1]
        if (next != null) {
          for (const a of next.activations) assert.ok(!/^(past|present)_/.test(a.replace(/__fm\d+$/, '')), `no KV tensor (${a}) crosses the cut after stage ${s.index}`)
          for (const [name, dims] of declaredDims(next.bytes, 'inputs')) {
            if (next.activations.includes(name)) assert.equal(dims[1], 'seq', `stage ${next.index} activation ${name} keeps seq symbolic (${dims.join(', ')})`)
          }
        }
        for (const [name, dims] of declaredDims(s.bytes, 'inputs')) {
          if (name.startsWith('past_')) assert.deepEqual(dims, [1, 4, 'past', 16], `stage ${s.index} state input ${name} keeps past symbolic`)
        }
      }
      const sent = (s: Stage): string[] => s.graphInputs.filter(n => !s.state.some(x => x.input === n))
      assert.deepEqual(sent(p.stages[0] as Stage), ['input_ids'], 'stage 0 reads the new tokens')
      for (const s of p.stages.slice(1)) assert.deepEqual(sent(s), [], `stage ${s.index} needs nothing from the requester but its activations`)
      const steps = [[ids([1, 2, 3, 4])], [ids([200])], [ids([31])], [ids([7, 8])]]
      const expected = await stepWhole(bytes, pairs, decoderInitialState(), steps)
      const got = await stepWithState(async inputs => runStagesLocally(p.stages, inputs), pairs, decoderInitialState(), steps)
      for (const [i, out] of got.entries()) {
        const e = expected[i]?.find(t => t.name === 'logits') as WireTensor
        const g = out.find(t => t.name === 'logits') as WireTensor
        assert.ok(maxAbsDiff(g, e) <= 1e-5, `step ${i}: staged logits equal the whole model's (diff ${maxAbsDiff(g, e)})`)
      }
    })
  }

  it('the GRU in 2 stages keeps h_out → h_in in the GRU\'s stage; streamed in chunks it equals the whole model', async () => {
    const bytes = generateGru()
    const pairs = [...GRU_STATE_PAIRS]
    const p = await partitionModel(bytes, { stages: 2, state: pairs })
    const keeper = p.stages.find(s => s.state.length > 0) as Stage
    assert.deepEqual(keeper.state, pairs)
    assert.ok(keeper.inputs.includes('h_in') && keeper.outputs.includes('h_out'))
    for (const s of p.stages) if (s !== keeper) assert.ok(!s.inputs.includes('h_in') && !s.outputs.includes('h_out'), `stage ${s.index} never sees the state`)
    const steps = [3, 1, 5].map((n, i) => [patternInput('x', [1, n, 8], i)])
    const expected = await stepWhole(bytes, pairs, gruInitialState(), steps)
    const got = await stepWithState(async inputs => runStagesLocally(p.stages, inputs), pairs, gruInitialState(), steps)
    for (const [i, out] of got.entries()) {
      const d = maxAbsDiff(out.find(t => t.name === 'y') as WireTensor, expected[i]?.find(t => t.name === 'y') as WireTensor)
      assert.ok(d <= 1e-5, `chunk ${i}: y equals the whole model's (diff ${d})`)
    }
  })

  it('inferStatePairs finds the decoder\'s and the GRU\'s pairs from their names', () => {
    assert.deepEqual(inferStatePairs(validateModel(generateDecoder({ layers: 2 }))), decoderStatePairs(2))
    assert.deepEqual(inferStatePairs(validateModel(generateGru())), GRU_STATE_PAIRS)
    const hf = { inputs: [{ name: 'input_ids' }, { name: 'past_key_values.0.key' }], outputs: [{ name: 'logits' }, { name: 'present.0.key' }, { name: 'present.1.key' }] }
    assert.deepEqual(inferStatePairs(hf), [{ output: 'present.0.key', input: 'past_key_values.0.key' }], 'an output without its input is no pair')
  })

  it('refuses state pairs that do not fit the model, and a stage count the pairs leave no room for', async () => {
    const bytes = generateDecoder({ layers: 1 })
    await assert.rejects(partitionModel(bytes, { stages: 2, state: [{ output: 'present_key_9', input: 'past_key_0' }] }), (err: any) => err.name === 'StateError' && /present_key_9/.test(err.message))
    await assert.rejects(partitionModel(bytes, { stages: 2, state: [{ output: 'logits', input: 'past_key_0' }] }), (err: any) => err.name === 'PartitionError' && /at most 1 stages/.test(err.message))
  })
})
