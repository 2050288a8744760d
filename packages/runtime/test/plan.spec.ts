import assert from 'node:assert/strict'
import { planStages } from '../src/index.js'
import type { PlacementPeer } from '../src/index.js'

const stages = [
  { index: 0, flops: 4e9, paramBytes: 10e6, outputBytes: 1e6 },
  { index: 1, flops: 1e9, paramBytes: 40e6, outputBytes: 0.5e6 },
  { index: 2, flops: 2e9, paramBytes: 5e6, outputBytes: 0 }
]

describe('stage placement (planStages)', () => {
  it('gives the heaviest stage to the fastest peer and respects memory budgets', () => {
    const peers: PlacementPeer[] = [
      { id: 'fast-small', memoryBytes: 60e6, flopsPerSecond: 40e9 },
      { id: 'slow-big', memoryBytes: 500e6, flopsPerSecond: 5e9 },
      { id: 'mid', memoryBytes: 200e6, flopsPerSecond: 20e9 },
      { id: 'tiny', memoryBytes: 1e6, flopsPerSecond: 100e9 }
    ]
    const plan = planStages(stages, peers, { defaultRttMs: 1 })
    const byStage = plan.placements.map(p => p.peer)
    assert.equal(byStage[0], 'fast-small', 'stage 0 (4 GFLOP) on the fastest peer that holds it')
    assert.ok(!byStage.includes('tiny'), 'a peer without memory for any stage gets none')
    assert.equal(new Set(byStage).size, 3, 'one stage per peer')
    for (const p of plan.placements) {
      const peer = peers.find(q => q.id === p.peer) as PlacementPeer
      assert.ok(peer.memoryBytes >= p.memoryBytes, `stage ${p.stage} fits on ${p.peer}`)
    }
    assert.equal(plan.bottleneckMs, Math.max(...plan.placements.map(p => p.computeMs + p.transferMs)))
  })

  it('between equally fast peers, prefers the chain with the smallest RTT (nearby peers)', () => {
    const peers: PlacementPeer[] = [
      { id: 'a', memoryBytes: 1e9, flopsPerSecond: 10e9, rttMs: { b: 2, c: 80, d: 80 } },
      { id: 'b', memoryBytes: 1e9, flopsPerSecond: 10e9, rttMs: { c: 3, d: 90 } },
      { id: 'c', memoryBytes: 1e9, flopsPerSecond: 10e9, rttMs: { d: 70 } },
      { id: 'd', memoryBytes: 1e9, flopsPerSecond: 10e9 }
    ]
    const equal = stages.map(s => ({ ...s, flops: 1e9, outputBytes: 1000 }))
    const plan = planStages(equal, peers)
    assert.deepEqual(plan.placements.map(p => p.peer).sort(), ['a', 'b', 'c'], 'the far peer d is left out')
    assert.equal(plan.chainRttMs, 5)
  })

  it('is deterministic and refuses plans that cannot fit', () => {
    const peers: PlacementPeer[] = [
      { id: 'x', memoryBytes: 1e9, flopsPerSecond: 1e9 },
      { id: 'y', memoryBytes: 1e9, flopsPerSecond: 1e9 },
      { id: 'z', memoryBytes: 1e9, flopsPerSecond: 1e9 }
    ]
    assert.deepEqual(planStages(stages, peers), planStages(stages, [...peers].reverse()))
    assert.throws(() => planStages(stages, peers.slice(0, 2)), { name: 'PlacementError' })
    assert.throws(() => planStages(stages, peers.map(p => ({ ...p, memoryBytes: 1e6 }))), { name: 'PlacementError' })
  })
})
