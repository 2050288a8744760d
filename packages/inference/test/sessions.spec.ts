import assert from 'node:assert/strict'
import { maxAbsDiff } from '@fleetmesh/runtime'
import { RNN_STATE, rnnCell, rnnInput, stepLocally } from './fixtures/state-models.js'
import { startJobMesh } from './utils/jobs.js'
import type { JobMesh } from './utils/jobs.js'
import type { InferenceSession, SessionProgress } from '../src/index.js'
import type { WireTensor } from '@fleetmesh/protocol'

const HIDDEN = 16

function zeroState (): WireTensor {
  return { name: 'h_in', dtype: 'float32', dims: [1, HIDDEN], data: new Float32Array(HIDDEN) }
}

describe('stateful sessions across the mesh', function () {
  this.timeout(120_000)
  let mesh: JobMesh | undefined
  let session: InferenceSession | undefined
  afterEach(async () => {
    await session?.close().catch(() => {})
    session = undefined
    await mesh?.stop()
    mesh = undefined
  })

  it('a recurrent cell stepped 100 times on one worker equals 100 local steps, and close settles one receipt', async () => {
    mesh = await startJobMesh([{}, {}])
    const model = rnnCell({ hidden: HIDDEN, seed: 3 })
    const inputs = Array.from({ length: 100 }, (_, i) => [rnnInput(i)])
    const expected = await stepLocally(model, RNN_STATE, [zeroState()], inputs)
    session = await mesh.requester.openSession({ model, state: RNN_STATE, maxPrice: 10 })
    const events: SessionProgress[] = []
    session.addEventListener('progress', (e) => { events.push(e.detail) })
    for (const [i, x] of inputs.entries()) {
      const out = await session.step(x)
      assert.equal(out.length, 1, `step ${i}: only the non-state output`)
      const d = maxAbsDiff(out[0] as WireTensor, (expected[i] as WireTensor[])[0] as WireTensor)
      assert.ok(d <= 1e-5, `step ${i}: max abs diff ${d}`)
    }
    assert.equal(session.steps, 100)
    const summary = await session.close()
    assert.deepEqual({ steps: summary.steps, recoveries: summary.recoveries, receipts: summary.receipts }, { steps: 100, recoveries: 0, receipts: 1 })
    assert.equal(events.filter(e => e.type === 'step').length, 100)
    assert.equal(events.at(-1)?.type, 'closed')
  })
})
