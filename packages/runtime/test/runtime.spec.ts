import assert from 'node:assert/strict'
import { fork, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRuntime, generateDtypeProbe, generateMlp, LocalSession, maxAbsDiff, ModelStore, profile } from '../src/index.js'
import { TensorExchange } from '../src/tensor-channel.js'
import { OCR_MODELS, patternInput, readOcrModel } from './utils/models.js'
import type { Runtime, StoredModel } from '../src/index.js'
import type { WireTensor } from '@fleetmesh/protocol'

describe('isolated runners (onnxruntime in child processes)', function () {
  this.timeout(120_000)
  let dir: string
  let store: ModelStore
  let runtime: Runtime
  const models: Partial<Record<'det' | 'rec' | 'cls', StoredModel>> = {}

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetmesh-runtime-'))
    store = await ModelStore.open(dir)
    for (const name of ['det', 'rec', 'cls'] as const) models[name] = await store.put(await readOcrModel(name))
    runtime = await createRuntime({ store, runners: 2, intraOpNumThreads: 1 })
  })
  after(async () => {
    await runtime?.stop()
    // a runner killed by a test may still be removing files of its own when the suite ends (ENOTEMPTY): retry
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 })
  })

  it('runs each real PP-OCR model in a runner with the same outputs as in-process onnxruntime', async () => {
    for (const name of ['det', 'rec', 'cls'] as const) {
      const bytes = await readOcrModel(name)
      const input = patternInput('x', OCR_MODELS[name].dims)
      const local = await LocalSession.create(bytes, { intraOpNumThreads: 1 })
      const expected = await local.run([input])
      await local.release()
      const { outputs, computeMs } = await runtime.run(models[name]?.cid as string, [input])
      assert.equal(outputs.length, expected.length, name)
      assert.deepEqual(outputs[0]?.dims, expected[0]?.dims, `${name} output shape`)
      assert.ok(maxAbsDiff(outputs[0] as WireTensor, expected[0] as WireTensor) <= 1e-5, `${name} outputs match`)
      assert.ok(computeMs > 0, `${name} compute time measured`)
      assert.ok(runtime.runnerPids().every(pid => pid !== process.pid), 'never in the node process')
    }
  })

  it('carries every dtype, a scalar and several named inputs and outputs exactly', async () => {
    const probe = await store.put(generateDtypeProbe())
    const inputs: WireTensor[] = [
      { name: 'f32', dtype: 'float32', dims: [2, 3], data: Float32Array.from([1.5, -2, 3, 4, 5, 6]) },
      { name: 'i64', dtype: 'int64', dims: [4], data: BigInt64Array.from([1n, -2n, 2n ** 40n, 0n]) },
      { name: 'i32', dtype: 'int32', dims: [2, 2], data: Int32Array.from([7, -8, 9, 10]) },
      { name: 'u8', dtype: 'uint8', dims: [5], data: Uint8Array.from([0, 1, 2, 254, 255]) },
      { name: 'flag', dtype: 'bool', dims: [3], data: Uint8Array.from([1, 0, 1]) },
      { name: 'f16', dtype: 'float16', dims: [2], data: Uint16Array.from([0x3c00, 0xc000]) },
      { name: 'f64', dtype: 'float64', dims: [2], data: Float64Array.from([Math.PI, -Math.E]) },
      { name: 'scalar', dtype: 'float32', dims: [], data: Float32Array.from([42]) }
    ]
    const { outputs } = await runtime.run(probe.cid, inputs)
    assert.deepEqual(outputs.map(o => o.name), inputs.map(i => `${i.name}_out`))
    for (const input of inputs) {
      const out = outputs.find(o => o.name === `${input.name}_out`) as WireTensor
      assert.equal(out.dtype, input.dtype, input.name)
      assert.deepEqual(out.dims, input.dims, input.name)
      const expected = input.name === 'flag' ? [false, true, false] : Array.from(input.data as any)
      assert.deepEqual(Array.from(out.data as any).map(v => input.name === 'flag' ? Boolean(v) : v), expected, `${input.name} values`)
    }
  })

  it('wrong input names, dtypes or shapes give InferenceError and the runner keeps serving', async () => {
    const cid = models.cls?.cid as string
    await assert.rejects(runtime.run(cid, [patternInput('nope', [1, 3, 48, 192])]), { name: 'InferenceError' })
    await assert.rejects(runtime.run(cid, [{ name: 'x', dtype: 'int32', dims: [1, 3, 48, 192], data: new Int32Array(3 * 48 * 192) }]), { name: 'InferenceError' })
    await assert.rejects(runtime.run(cid, [patternInput('x', [1, 5, 48, 192])]), { name: 'InferenceError' })
    await assert.rejects(runtime.run(cid, [{ name: 'x', dtype: 'float32', dims: [1, 3, 48, 192], data: new Float32Array(10) }]), { name: 'InvalidTensorError' })
    await assert.rejects(runtime.run('bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', []), (err: any) => ['ModelNotFoundError', 'InvalidCidError'].includes(err.name))
    const { outputs } = await runtime.run(cid, [patternInput('x', [1, 3, 48, 192])])
    assert.deepEqual(outputs[0]?.dims, [1, 2])
  })

  it('a runner SIGKILLed mid-inference fails that call with RunnerCrashedError; a fresh runner serves the next', async () => {
    const cid = models.rec?.cid as string
    const before = runtime.runnerPids()
    const exits: string[] = []
    runtime.on('runner:exit', e => exits.push(e.reason))
    const call = runtime.run(cid, [patternInput('x', [32, 3, 48, 320])])
    await new Promise(resolve => setTimeout(resolve, 150))
    // kill every runner with SIGKILL, the one busy with the call among them
    for (const pid of before) process.kill(pid, 'SIGKILL')
    await assert.rejects(call, { name: 'RunnerCrashedError', code: 'ERR_RUNNER_CRASHED' })
    // the idle runner was killed too: the next call goes out once its exit is seen (else it may land on it as it dies)
    for (let waited = 0; exits.length < before.length && waited < 10_000; waited += 20) await new Promise(resolve => setTimeout(resolve, 20))
    const { outputs } = await runtime.run(models.cls?.cid as string, [patternInput('x', [1, 3, 48, 192])])
    assert.deepEqual(outputs[0]?.dims, [1, 2])
    const after = runtime.runnerPids()
    assert.equal(after.length, 2, 'the pool is back to two runners')
    assert.ok(after.every(pid => !before.includes(pid)), 'both runners were replaced')
    assert.ok(exits.includes('crash'))
  })

  it('a call stuck past its timeout fails with RunnerTimeoutError; its runner is replaced and the next call works', async () => {
    const cid = models.rec?.cid as string
    const before = runtime.runnerPids()
    await assert.rejects(runtime.run(cid, [patternInput('x', [32, 3, 48, 320])], { timeoutMs: 20 }), { name: 'RunnerTimeoutError', code: 'ERR_RUNNER_TIMEOUT' })
    const { outputs } = await runtime.run(cid, [patternInput('x', [1, 3, 48, 160])])
    assert.equal(outputs[0]?.dims[0], 1)
    const after = runtime.runnerPids()
    assert.equal(after.length, 2)
    assert.equal(after.filter(pid => !before.includes(pid)).length, 1, 'exactly one runner was replaced')
  })

  it('profiles throughput and latency of a model on this node', async () => {
    const mlp = await store.put(generateMlp({ hidden: [64, 64] }))
    const p = await profile(runtime, mlp.cid, [{ name: 'x', dtype: 'float32', dims: [8, 16], data: new Float32Array(128).fill(0.1) }], { iterations: 10 })
    assert.equal(p.batch, 8)
    assert.equal(p.iterations, 10)
    assert.ok(p.itemsPerSecond > 0 && Number.isFinite(p.itemsPerSecond))
    assert.ok(p.latencyMsP50 > 0 && p.latencyMsP99 >= p.latencyMsP50)
  })

  it('calls made while a fresh runner is still starting queue behind each other: every one is answered', async () => {
    const fresh = await createRuntime({ store, runners: 1, intraOpNumThreads: 1 })
    try {
      const a = await store.put(generateMlp({ hidden: [8], seed: 11 }))
      const b = await store.put(generateMlp({ hidden: [16], seed: 12 }))
      const x: WireTensor = { name: 'x', dtype: 'float32', dims: [2, 16], data: new Float32Array(32).fill(0.5) }
      // all at once, before the runner has reported ready
      const results = await Promise.all([fresh.load(a.cid), fresh.load(b.cid), fresh.run(a.cid, [x]), fresh.run(b.cid, [x])])
      assert.equal((results[2] as { outputs: WireTensor[] }).outputs[0]?.dims[0], 2)
      assert.equal((results[3] as { outputs: WireTensor[] }).outputs[0]?.dims[0], 2)
    } finally {
      await fresh.stop()
    }
  })

  it('runnerExecArgv reaches each runner; stop lets an idle runner exit cleanly (its --cpu-prof profile is written) and removes its exchange directory', async () => {
    const profiles = await mkdtemp(join(tmpdir(), 'fleetmesh-runner-prof-'))
    const profiled = await createRuntime({ store, runners: 1, intraOpNumThreads: 1, runnerExecArgv: ['--cpu-prof', `--cpu-prof-dir=${profiles}`] })
    try {
      const [pid] = profiled.runnerPids()
      const exchange = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').find(a => a.includes('fleetmesh-runner-')) as string
      const { outputs } = await profiled.run(models.cls?.cid as string, [patternInput('x', [1, 3, 48, 192])])
      assert.deepEqual(outputs[0]?.dims, [1, 2])
      const exits: string[] = []
      profiled.on('runner:exit', e => exits.push(`${e.reason} ${e.code} ${e.signal}`))
      await profiled.stop()
      assert.deepEqual(exits, ['stop 0 null'], 'the runner exited by itself, code 0')
      assert.ok((await readdir(profiles)).some(f => f.endsWith('.cpuprofile')), 'the runner wrote its CPU profile')
      assert.equal(existsSync(exchange), false, 'its exchange directory is gone')
    } finally {
      await profiled.stop()
      await rm(profiles, { recursive: true, force: true })
    }
  })

  for (const state of ['idle', 'busy'] as const) {
    it(`a node SIGKILLed with ${state === 'idle' ? 'an idle' : 'a busy'} runner: the runner exits by itself, without an unhandled socket error, and removes its exchange directory`, async () => {
      const fixture = new URL('./fixtures/node-with-runner.js', import.meta.url)
      const storeDir = await mkdtemp(join(tmpdir(), 'fleetmesh-killed-node-'))
      const node = spawn(process.execPath, [fixture.pathname, storeDir, state], { stdio: ['ignore', 'pipe', 'pipe'] })
      let stderr = ''
      node.stderr.on('data', (d: Buffer) => { stderr += d.toString() }) // the runner inherits this pipe
      let runnerPid = 0
      try {
        const line = await new Promise<string>((resolve, reject) => {
          let out = ''
          node.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('\n')) resolve(out.split('\n')[0] as string) })
          node.once('exit', code => { reject(new Error(`node exited (${code}) before its runner was up: ${stderr}`)) })
        })
        const { runnerPid: pid, exchange } = JSON.parse(line) as { runnerPid: number, exchange: string }
        runnerPid = pid
        assert.ok(existsSync(exchange), 'the exchange directory exists while the node runs')
        node.kill('SIGKILL')
        const alive = (): boolean => { try { process.kill(pid, 0); return true } catch { return false } }
        const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
        for (let waited = 0; alive() && waited < 30_000; waited += 50) await sleep(50)
        for (let waited = 0; existsSync(exchange) && waited < 2_000; waited += 50) await sleep(50)
        assert.equal(alive(), false, 'the runner exited')
        assert.equal(existsSync(exchange), false, 'its exchange directory is gone')
        assert.doesNotMatch(stderr, /Unhandled 'error' event|ECONNRESET/, 'the runner saw its node go without crashing')
      } finally {
        node.kill('SIGKILL')
        if (runnerPid !== 0) { try { process.kill(runnerPid, 'SIGKILL') } catch {} }
        await rm(storeDir, { recursive: true, force: true })
      }
    })
  }
  it('a node SIGKILLed together with its runner leaves its exchange directory, which the next runtime to start removes (a live node\'s is kept)', async () => {
    const fixture = new URL('./fixtures/node-with-runner.js', import.meta.url)
    const storeDir = await mkdtemp(join(tmpdir(), 'fleetmesh-killed-group-'))
    const node = spawn(process.execPath, [fixture.pathname, storeDir, 'idle'], { stdio: ['ignore', 'pipe', 'ignore'] })
    const live = TensorExchange.create()
    let runnerPid = 0
    let second: Runtime | undefined
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = ''
        node.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('\n')) resolve(out.split('\n')[0] as string) })
        node.once('exit', code => { reject(new Error(`node exited (${code}) before its runner was up`)) })
      })
      const { runnerPid: pid, exchange } = JSON.parse(line) as { runnerPid: number, exchange: string }
      runnerPid = pid
      // both at once, as a SIGKILL of their process group or cgroup does: neither is left to remove the directory
      process.kill(pid, 'SIGKILL')
      node.kill('SIGKILL')
      await new Promise(resolve => node.once('exit', resolve))
      await new Promise(resolve => setTimeout(resolve, 100))
      assert.ok(existsSync(exchange), 'the directory outlived both')
      second = await createRuntime({ store: await ModelStore.open(storeDir), runners: 1, intraOpNumThreads: 1 })
      assert.equal(existsSync(exchange), false, 'the next runtime removed the dead node\'s directory')
      assert.ok(existsSync(live.dir), 'the directory of a live process is kept')
    } finally {
      node.kill('SIGKILL')
      if (runnerPid !== 0) { try { process.kill(runnerPid, 'SIGKILL') } catch {} }
      await second?.stop()
      live.remove()
      await rm(storeDir, { recursive: true, force: true })
    }
  })

  it('a runner whose node goes away before it is ready exits cleanly (no unhandled EPIPE) and removes its exchange directory', async () => {
    for (let i = 0; i < 3; i++) {
      const exchange = TensorExchange.create()
      const child = fork(new URL('../src/runner-process.js', import.meta.url), [exchange.dir, JSON.stringify({ maxSessions: 1, intraOpNumThreads: 1 })], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc', 'pipe'] })
      let stderr = ''
      child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
      const exited = new Promise<number | null>(resolve => child.once('exit', code => { resolve(code) }))
      // the node is gone at once: the runner's ready message finds the channel closed
      child.disconnect()
      assert.equal(await exited, 0, `run ${i}: the runner exits cleanly: ${stderr}`)
      assert.doesNotMatch(stderr, /EPIPE|Unhandled 'error' event/, `run ${i}`)
      assert.equal(existsSync(exchange.dir), false, `run ${i}: its exchange directory is gone`)
    }
  })
})
