import assert from 'node:assert/strict'
import { MAX_IN_FLIGHT, STRAGGLER_FACTOR, STRAGGLER_MIN_MS } from '../src/constants.js'
import { Pace } from '../src/pace.js'
import { planPipelineFeeds, StageJoin } from '../src/pipeline-plan.js'
import { judgeSpotCheck } from '../src/spot-check.js'

describe('spot-check vote (pure)', () => {
  const eq = (a: number, b: number): boolean => Math.abs(a - b) < 1e-6
  it('waits for two, agrees, disputes, then catches the odd one out of three', () => {
    assert.equal(judgeSpotCheck([['a', 1]], eq).state, 'waiting')
    assert.deepEqual(judgeSpotCheck([['a', 1], ['b', 1]], eq), { state: 'agreed', workers: ['a', 'b'] })
    assert.equal(judgeSpotCheck([['a', 1], ['b', 2]], eq).state, 'disputed')
    assert.deepEqual(judgeSpotCheck([['a', 1], ['b', 2], ['c', 2]], eq), { state: 'caught', loser: 'a', witnesses: ['b', 'c'], workers: ['a', 'b', 'c'] })
    assert.deepEqual(judgeSpotCheck([['a', 1], ['b', 2], ['c', 1]], eq), { state: 'caught', loser: 'b', witnesses: ['a', 'c'], workers: ['a', 'b', 'c'] })
    assert.equal(judgeSpotCheck([['a', 1], ['b', 2], ['c', 3]], eq).state, 'no-majority')
  })
})

describe('pipeline routing (pure)', () => {
  const stages = [
    { index: 0, inputs: ['x', 'scale'], graphInputs: ['x', 'scale'], outputs: ['h1'] },
    { index: 1, inputs: ['h1', 'state'], graphInputs: ['state'], outputs: ['h2'] },
    { index: 2, inputs: ['h2', 'x', 'scale'], graphInputs: ['x', 'scale'], outputs: ['y'] }
  ]
  it('sends activations from the stage before and graph inputs from the requester, batched per micro-batch, broadcast once', () => {
    const feeds = planPipelineFeeds(stages, { x: 0, scale: null, state: 1 })
    assert.deepEqual(feeds, [
      { stage: 0, fromPrevious: [], batched: ['x'], broadcast: ['scale'] },
      { stage: 1, fromPrevious: ['h1'], batched: ['state'], broadcast: [] },
      { stage: 2, fromPrevious: ['h2'], batched: ['x'], broadcast: ['scale'] }
    ])
  })
  it('refuses a stage input no one provides', () => {
    assert.throws(() => planPipelineFeeds([stages[0] as any, { index: 1, inputs: ['h9'], graphInputs: [], outputs: ['y'] }], { x: 0, scale: null }), { name: 'InferenceError', message: /"h9"/ })
    assert.throws(() => planPipelineFeeds(stages, { x: 0, scale: null }), { name: 'InferenceError', message: /"state"/ })
  })
  it('joins parts by seq in any order, bounded', () => {
    const join = new StageJoin<string>(['previous', 'requester'], 2)
    assert.equal(join.add(1, 'requester', 'r1'), undefined)
    assert.equal(join.add(0, 'previous', 'p0'), undefined)
    assert.deepEqual([...(join.add(1, 'previous', 'p1') as Map<string, string>)], [['requester', 'r1'], ['previous', 'p1']])
    assert.equal(join.size, 1)
    assert.equal(join.add(2, 'requester', 'r2'), undefined)
    assert.throws(() => join.add(3, 'requester', 'r3'), { name: 'InferenceError', message: /more than 2/ })
    assert.throws(() => join.add(0, 'previous', 'again'), { name: 'InferenceError', message: /twice/ })
    assert.throws(() => join.add(0, 'elsewhere', 'x'), { name: 'InferenceError' })
    const single = new StageJoin<string>(['previous'], 1)
    assert.deepEqual([...(single.add(5, 'previous', 'p5') as Map<string, string>)], [['previous', 'p5']])
  })
})

describe('pace of data-parallel workers (pure)', () => {
  /** Simulates a worker with a window that computes `computeMs` per micro-batch behind a round trip of `rttMs`; returns its window after `n` results. */
  function simulate (computeMs: number, rttMs: number, n: number): number {
    const pace = new Pace()
    let now = 0
    let busyUntil = 0
    const out: Array<{ sentAt: number, doneAt: number }> = []
    const fill = (): void => {
      while (out.length < pace.window('w')) {
        pace.sent('w', now)
        const start = Math.max(now + rttMs / 2, busyUntil)
        busyUntil = start + computeMs
        out.push({ sentAt: now, doneAt: busyUntil + rttMs / 2 })
      }
      pace.full('w', now)
    }
    fill()
    for (let i = 0; i < n; i++) {
      out.sort((a, b) => a.doneAt - b.doneAt)
      const r = out.shift() as { sentAt: number, doneAt: number }
      now = r.doneAt
      pace.result('w', now - r.sentAt, computeMs, now)
      fill()
    }
    return pace.window('w')
  }

  it('starts at one micro-batch and stays there for a worker that keeps up', () => {
    assert.equal(new Pace().window('w'), 1)
    assert.equal(simulate(100, 2, 30), 1)
  })

  it('grows the window while the round trip leaves the worker idle, up to the maximum', () => {
    const w = simulate(10, 20, 40)
    assert.ok(w >= 3, `window ${w}`)
    assert.ok(w <= MAX_IN_FLIGHT)
    assert.equal(simulate(1, 200, 60), MAX_IN_FLIGHT)
  })

  it('counts a micro-batch late after k × the worker\'s median send-to-result time, others\' median before its first result', () => {
    const pace = new Pace()
    assert.equal(pace.lateAfterMs('a'), Number.POSITIVE_INFINITY)
    pace.sent('a', 0); pace.result('a', 500, 450, 500)
    pace.sent('a', 500); pace.result('a', 700, 650, 1200)
    assert.equal(pace.lateAfterMs('a'), STRAGGLER_FACTOR * 600)
    assert.equal(pace.lateAfterMs('b'), STRAGGLER_FACTOR * 600)
    pace.sent('c', 0); pace.result('c', 10, 9, 10)
    assert.equal(pace.lateAfterMs('c'), STRAGGLER_MIN_MS)
  })
})
