import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRuntime, decoderInitialState, decoderStatePairs, generateDecoder, LocalSession, MAX_RUNNER_STATES, maxAbsDiff, ModelStore } from '../src/index.js'
import type { Runtime, StoredModel } from '../src/index.js'
import type { WireTensor } from '@fleetmesh/protocol'

const DECODER = { vocab: 64, dModel: 32, heads: 4, layers: 2, seed: 3 }
const pairs = decoderStatePairs(DECODER.layers)
const ids = (tokens: number[]): WireTensor => ({ name: 'input_ids', dtype: 'int64', dims: [1, tokens.length], data: BigInt64Array.from(tokens.map(BigInt)) })
const STEPS = [[5, 6, 7], [9], [11], [2], [40], [3]]

/** The decoder's logits stepped in this process, the KV cache passed in and out of every call. */
async function expectedLogits (bytes: Uint8Array): Promise<WireTensor[]> {
  const s = await LocalSession.create(bytes, { intraOpNumThreads: 1 })
  try {
    let state = decoderInitialState(DECODER)
    const logits: WireTensor[] = []
    for (const step of STEPS) {
      const out = await s.run([ids(step), ...state])
      logits.push(out.find(t => t.name === 'logits') as WireTensor)
      state = pairs.map(p => ({ ...(out.find(t => t.name === p.output) as WireTensor), name: p.input }))
    }
    return logits
  } finally {
    await s.release()
  }
}

describe('stateful calls: the state stays in the runner between calls', function () {
  this.timeout(120_000)
  let dir: string
  let runtime: Runtime
  let model: StoredModel
  let expected: WireTensor[]

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetmesh-runner-state-'))
    const store = await ModelStore.open(dir)
    const bytes = generateDecoder(DECODER)
    model = await store.put(bytes)
    expected = await expectedLogits(bytes)
    runtime = await createRuntime({ store, runners: 2, intraOpNumThreads: 1 })
  })
  after(async () => {
    await runtime?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('two sessions stepped in turn on a pool of two runners give the logits of passing the state each call; the state never comes back unless asked', async () => {
    const keys = ['a', 'b']
    for (const [i, step] of STEPS.entries()) {
      for (const key of keys) {
        const given = i === 0 ? decoderInitialState(DECODER) : []
        const last = i === STEPS.length - 1
        const r = await runtime.run(model.cid, [ids(step), ...given], { state: { key, pairs, returnOutputs: last ? pairs.map(p => p.output) : [] } })
        const logits = r.outputs.find(t => t.name === 'logits') as WireTensor
        assert.ok(maxAbsDiff(logits, expected[i] as WireTensor) <= 1e-5, `session ${key} step ${i}: logits`)
        const past = STEPS.slice(0, i + 1).reduce((n, s) => n + s.length, 0)
        assert.equal(r.stateBytes, DECODER.layers * 2 * past * DECODER.dModel * 4, `session ${key} step ${i}: the runner keeps ${past} positions`)
        assert.deepEqual(r.outputs.map(t => t.name), last ? ['logits', ...pairs.map(p => p.output)] : ['logits'], `session ${key} step ${i}: outputs`)
      }
    }
  })

  it('a dropped state, or one whose runner was replaced, fails the next call that does not give it with RunnerCrashedError; giving it again works', async () => {
    const step = async (key: string, given: WireTensor[]): Promise<unknown> => runtime.run(model.cid, [ids([1]), ...given], { state: { key, pairs } }).then(() => undefined, (e: any) => e)
    assert.equal(await step('c', decoderInitialState(DECODER)), undefined)
    runtime.dropState('c')
    const dropped: any = await step('c', [])
    assert.equal(dropped?.name, 'RunnerCrashedError', String(dropped?.stack))
    assert.match(dropped.message, /no state "past_key_0" kept for c/)

    assert.equal(await step('d', decoderInitialState(DECODER)), undefined)
    const started = once(runtime, 'runner:start')
    for (const pid of runtime.runnerPids()) process.kill(pid, 'SIGKILL')
    await started
    const lost: any = await step('d', [])
    assert.equal(lost?.name, 'RunnerCrashedError', String(lost?.stack))
    assert.equal(await step('d', decoderInitialState(DECODER)), undefined, 'the state given again')
    assert.equal(await step('d', []), undefined, 'and kept again')
  })
  it(`a runner keeps at most MAX_RUNNER_STATES (${MAX_RUNNER_STATES}) states: the least recently used is dropped first`, async () => {
    // one runner, so every key lands on it
    const dir1 = await mkdtemp(join(tmpdir(), 'fleetmesh-runner-states-'))
    const store = await ModelStore.open(dir1)
    const stored = await store.put(generateDecoder(DECODER))
    const one = await createRuntime({ store, runners: 1, intraOpNumThreads: 1 })
    try {
      const run = async (key: string, given: WireTensor[]): Promise<any> => one.run(stored.cid, [ids([1]), ...given], { state: { key, pairs } }).then(() => undefined, (e: any) => e)
      for (let k = 0; k <= MAX_RUNNER_STATES; k++) assert.equal(await run(`s${k}`, decoderInitialState(DECODER)), undefined, `state s${k} kept`)
      assert.equal((await run('s0', []))?.name, 'RunnerCrashedError', 'the oldest state was dropped')
      assert.equal(await run(`s${MAX_RUNNER_STATES}`, []), undefined, 'the newest is kept')
      assert.equal(await run('s1', []), undefined, 'and the one after the oldest')
    } finally {
      await one.stop()
      await rm(dir1, { recursive: true, force: true })
    }
  })
})
