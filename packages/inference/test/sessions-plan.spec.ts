import assert from 'node:assert/strict'
import { checkStepInputs, initialStateFor, planSessionStages } from '../src/index.js'
import type { SessionStageShape } from '../src/index.js'
import type { WireTensor } from '@fleetmesh/protocol'

/** Two decoder layers cut after layer 0; the state inputs are not listed among the graph inputs here (the one-stage case lists them): planning takes either. */
const STAGES: SessionStageShape[] = [
  { index: 0, inputs: ['input_ids', 'past_0'], graphInputs: ['input_ids'], outputs: ['hidden', 'present_0'] },
  { index: 1, inputs: ['hidden', 'past_1'], graphInputs: [], outputs: ['logits', 'present_1'] }
]
const STATE = [{ output: 'present_0', input: 'past_0' }, { output: 'present_1', input: 'past_1' }]

function code (fn: () => unknown): string | undefined {
  try { fn() } catch (err: any) { assert.equal(err.name, 'SessionError'); return err.code }
  return undefined
}

describe('session planning (pure)', () => {
  it('keeps each state pair on its stage and routes the rest', () => {
    const plans = planSessionStages(STAGES, STATE)
    assert.deepEqual(plans, [
      { stage: 0, state: [STATE[0]], fromPrevious: [], fromRequester: ['input_ids'], sends: ['hidden'] },
      { stage: 1, state: [STATE[1]], fromPrevious: ['hidden'], fromRequester: [], sends: ['logits'] }
    ])
  })

  it('one stage that is the whole model: the state inputs are graph inputs there', () => {
    const [plan] = planSessionStages([{ index: 0, inputs: ['x', 'h_in'], graphInputs: ['x', 'h_in'], outputs: ['y', 'h_out'] }], [{ output: 'h_out', input: 'h_in' }])
    assert.deepEqual(plan, { stage: 0, state: [{ output: 'h_out', input: 'h_in' }], fromPrevious: [], fromRequester: ['x'], sends: ['y'] })
  })

  it('a state output the next stage also reads is sent on', () => {
    const stages: SessionStageShape[] = [
      { index: 0, inputs: ['x', 'h_in'], graphInputs: ['x'], outputs: ['h_out'] },
      { index: 1, inputs: ['h_out'], graphInputs: [], outputs: ['y'] }
    ]
    const plans = planSessionStages(stages, [{ output: 'h_out', input: 'h_in' }])
    assert.deepEqual(plans.map(p => p.sends), [['h_out'], ['y']])
  })

  it('refuses pairs that do not fit: unknown tensors, a pair split across stages, two pairs on one input', () => {
    assert.equal(code(() => planSessionStages(STAGES, [{ output: 'present_0', input: 'nope' }])), 'ERR_SESSION_STATE')
    assert.equal(code(() => planSessionStages(STAGES, [{ output: 'nope', input: 'past_0' }])), 'ERR_SESSION_STATE')
    assert.equal(code(() => planSessionStages(STAGES, [{ output: 'present_1', input: 'past_0' }])), 'ERR_SESSION_STATE')
    assert.equal(code(() => planSessionStages(STAGES, [STATE[0] as typeof STATE[0], { output: 'present_1', input: 'past_0' }])), 'ERR_SESSION_STATE')
  })

  it('initial state: the given tensor, else zeros of the declared shape with symbolic dims 0', () => {
    const declared = [{ name: 'past_0', dtype: 'float32', shape: [1, 4, 'past', 8] }, { name: 'h', dtype: 'int64', shape: [2, null] }]
    const given: WireTensor = { name: 'h', dtype: 'int64', dims: [2, 1], data: new BigInt64Array([1n, 2n]) }
    const [kv, h] = initialStateFor([{ output: 'present_0', input: 'past_0' }, { output: 'h_out', input: 'h' }], declared, [given])
    assert.deepEqual([kv?.dims, kv?.data.length, kv?.dtype], [[1, 4, 0, 8], 0, 'float32'])
    assert.equal(h, given)
    assert.equal(code(() => initialStateFor([{ output: 'o', input: 'missing' }], declared)), 'ERR_SESSION_STATE')
    assert.equal(code(() => initialStateFor([{ output: 'o', input: 's' }], [{ name: 's', dtype: 'string', shape: [1] }])), 'ERR_SESSION_STATE')
  })

  it('a step carries exactly the non-state inputs', () => {
    const t = (name: string): WireTensor => ({ name, dtype: 'float32', dims: [1], data: new Float32Array(1) })
    assert.equal(code(() => { checkStepInputs([t('x')], ['x'], STATE) }), undefined)
    assert.equal(code(() => { checkStepInputs([t('x'), t('past_0')], ['x'], STATE) }), 'ERR_SESSION_INPUT')
    assert.equal(code(() => { checkStepInputs([], ['x'], STATE) }), 'ERR_SESSION_INPUT')
    assert.equal(code(() => { checkStepInputs([t('x'), t('x')], ['x'], STATE) }), 'ERR_SESSION_INPUT')
    assert.equal(code(() => { checkStepInputs([t('y')], ['x'], STATE) }), 'ERR_SESSION_INPUT')
  })
})
