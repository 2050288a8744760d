import assert from 'node:assert/strict'
import { readFileSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRuntime, EXCHANGE_RETAIN_BYTES, expandOutputModel, generateMlp, ModelStore } from '../src/index.js'
import { negModel } from './utils/models.js'
import type { Runtime } from '../src/index.js'
import type { WireTensor } from '@fleetmesh/protocol'

const MiB = 1024 * 1024

/** The exchange directory a runner was started with (an argument on its command line). */
function exchangeDirOf (pid: number): string {
  const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
  const dir = args.find(a => a.includes('fleetmesh-runner-'))
  assert.ok(dir != null, `runner ${pid} was started with an exchange directory: ${args.join(' ')}`)
  return dir
}

/** Bytes a file holds allocated (tmpfs pages), from its block count. */
function allocatedBytes (path: string): number {
  return statSync(path).blocks * 512
}

describe('runner output bounded in the runner; exchange pages released', function () {
  this.timeout(180_000)
  let dir: string
  let store: ModelStore
  let runtime: Runtime

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetmesh-runtime-limits-'))
    store = await ModelStore.open(dir)
    runtime = await createRuntime({ store, runners: 1, intraOpNumThreads: 1 })
  })
  afterEach(async () => {
    await runtime?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('a 300 MiB output over maxOutputBytes 64 MiB fails with OutputTooLargeError; the node process never holds it; the same runner serves the next call', async () => {
    const elements = 75 * MiB // float32: 300 MiB
    const attack = await store.put(expandOutputModel({ elements }))
    const mlp = await store.put(generateMlp())
    const x: WireTensor = { name: 'x', dtype: 'float32', dims: [1], data: Float32Array.from([0.5]) }
    const [pid] = runtime.runnerPids()
    const exits: string[] = []
    runtime.on('runner:exit', e => exits.push(e.reason))
    const rssBefore = process.memoryUsage().rss
    await assert.rejects(runtime.run(attack.cid, [x], { maxOutputBytes: 64 * MiB }), (err: any) => {
      assert.equal(err.name, 'OutputTooLargeError')
      assert.equal(err.code, 'ERR_OUTPUT_TOO_LARGE')
      assert.match(err.message, /output "y"/, 'the message names the output')
      assert.match(err.message, new RegExp(`${elements * 4} bytes`), 'and its size')
      assert.equal(err.output, 'y')
      assert.equal(err.size, elements * 4)
      assert.equal(err.limit, 64 * MiB)
      return true
    })
    const grown = process.memoryUsage().rss - rssBefore
    assert.ok(grown < 64 * MiB, `node RSS grew by ${(grown / MiB).toFixed(1)} MiB for a refused ${elements * 4 / MiB} MiB output`)
    const exchange = exchangeDirOf(pid as number)
    assert.ok(allocatedBytes(join(exchange, 'out')) <= EXCHANGE_RETAIN_BYTES, 'the refused output was never written to the exchange')
    const { outputs } = await runtime.run(mlp.cid, [{ name: 'x', dtype: 'float32', dims: [2, 16], data: new Float32Array(32).fill(0.25) }])
    assert.deepEqual(outputs[0]?.dims, [2, 4])
    assert.deepEqual(runtime.runnerPids(), [pid], 'the same runner served the next call')
    assert.deepEqual(exits, [], 'no runner exited')
  })

  it('the runtime-wide maxOutputBytes applies to every call; a call may raise it', async () => {
    await runtime.stop()
    runtime = await createRuntime({ store, runners: 1, intraOpNumThreads: 1, maxOutputBytes: 1024 })
    const model = await store.put(expandOutputModel({ elements: 1024 })) // 4 KiB out
    const x: WireTensor = { name: 'x', dtype: 'float32', dims: [1], data: Float32Array.from([2]) }
    await assert.rejects(runtime.run(model.cid, [x]), { name: 'OutputTooLargeError', code: 'ERR_OUTPUT_TOO_LARGE' })
    const { outputs } = await runtime.run(model.cid, [x], { maxOutputBytes: 4096 })
    assert.equal(outputs[0]?.data.length, 1024)
    assert.ok(Array.from(outputs[0]?.data as Float32Array).every(v => v === 2), 'x expanded')
    await assert.rejects(runtime.run(model.cid, [x], { maxOutputBytes: -1 }), { name: 'RangeError' })
  })

  it('after a 48 MiB call, the exchange files are back to at most EXCHANGE_RETAIN_BYTES of tmpfs; calls keep working', async () => {
    const neg = await store.put(negModel())
    const n = 12 * MiB // float32: 48 MiB in, 48 MiB out
    const x: WireTensor = { name: 'x', dtype: 'float32', dims: [n], data: new Float32Array(n).fill(1.5) }
    const [pid] = runtime.runnerPids()
    const exchange = exchangeDirOf(pid as number)
    const { outputs } = await runtime.run(neg.cid, [x])
    const y = outputs[0]?.data as Float32Array
    assert.equal(y.length, n)
    assert.equal(y[0], -1.5)
    assert.equal(y[n - 1], -1.5)
    for (const file of ['in', 'out']) {
      const path = join(exchange, file)
      assert.ok(statSync(path).size <= EXCHANGE_RETAIN_BYTES, `${file} is ${statSync(path).size} bytes after the call`)
      assert.ok(allocatedBytes(path) <= EXCHANGE_RETAIN_BYTES, `${file} holds ${allocatedBytes(path)} bytes of tmpfs after the call`)
    }
    // a small call after the large one still gets the right answer
    const small = await runtime.run(neg.cid, [{ name: 'x', dtype: 'float32', dims: [3], data: Float32Array.from([1, -2, 3]) }])
    assert.deepEqual(Array.from(small.outputs[0]?.data as Float32Array), [-1, 2, -3])
  })
})
