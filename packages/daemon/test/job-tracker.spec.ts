import assert from 'node:assert/strict'
import { JobTracker } from '../src/jobs.js'
import type { JobHandle, JobProgress, MeshNode } from '@fleetmesh/peer'

/** A node whose one job replays `before`, waits for `gate`, replays `after` and resolves (the tracker only calls `submit`). */
function replayNode (before: JobProgress[], gate: Promise<void>, after: JobProgress[]): { node: MeshNode, paused: Promise<void>, finished: Promise<void> } {
  const paused = Promise.withResolvers<void>()
  const done = Promise.withResolvers<void>()
  const handle: JobHandle = {
    jobId: 'job-1',
    result: done.promise.then(() => []),
    market: new Promise(() => {}),
    settlement: new Promise(() => {}),
    cancel: () => {},
    async * [Symbol.asyncIterator] () {
      for (const e of before) yield e
      paused.resolve()
      await gate
      for (const e of after) yield e
      done.resolve()
    }
  }
  return { node: { submit: () => handle } as unknown as MeshNode, paused: paused.promise, finished: done.promise }
}

const settle = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

describe('job tracker: micro-batch counts', () => {
  it('a pipeline without microBatch takes its micro-batch count from the probe\'s micro-batch-chosen event', async () => {
    const at = 1
    const gate = Promise.withResolvers<void>()
    const { node, paused, finished } = replayNode([
      { type: 'shard-started', jobId: 'job-1', worker: 'w', seq: 0, items: 1, at },
      { type: 'shard-finished', jobId: 'job-1', worker: 'w', seq: 0, computeMs: 1, at },
      { type: 'micro-batch-chosen', jobId: 'job-1', items: 2, microBatches: 7, bottleneckMsPerItem: 2, hopOverheadMs: 5, at }
    ], gate.promise, [1, 2, 3, 4, 5, 6].flatMap((seq): JobProgress[] => [
      { type: 'shard-started', jobId: 'job-1', worker: 'w', seq, items: seq < 6 ? 2 : 1, at },
      { type: 'shard-finished', jobId: 'job-1', worker: 'w', seq, computeMs: 1, at }
    ]))
    const tracker = new JobTracker(node)
    // 12 items in 2 stages: the rule without a probe says micro-batches of ceil(12 / 4) = 3, so 4 of them
    const view = tracker.submit({ model: 'bafy', inputs: [{ name: 'x', dtype: 'float32', dims: [12, 2], data: new Float32Array(24) }], mode: 'pipeline', stages: 2, maxPrice: 1 })
    assert.equal(view.microBatches.total, 4)
    await paused
    await settle()
    // the probe is back and sized the rest: 1 + ceil(11 / 2) micro-batches, one done
    assert.deepEqual(view.microBatches, { total: 7, done: 1 })
    gate.resolve()
    await finished
    await settle()
    assert.deepEqual(view.microBatches, { total: 7, done: 7 })
  })
})
