import { strict as assert } from 'node:assert'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateMlp } from '@fleetmesh/runtime'
import { ApiClient } from '../src/client.js'
import { startDaemon } from '../src/daemon.js'
import { writeNpy } from '../src/npy.js'
import { placementMessage, progressFigures, progressLine } from '../src/progress.js'
import { killChildProcesses, removeTempDirs, tempDir, waitUntil } from '@fleetmesh/test-utils'
import { createFleetFiles, runCli, spawnCli, testDaemonConfig, waitExit } from '@fleetmesh/test-utils/fleet'
import type { Daemon } from '../src/daemon.js'
import type { JobView } from '../src/jobs.js'

function view (over: Partial<JobView> = {}): JobView {
  return { jobId: 'j1', mode: 'data', model: 'bafy', state: 'running', submittedAt: 0, updatedAt: 0, reawards: 0, batch: 100, microBatches: { total: 10, done: 0 }, workers: [], events: [], ...over }
}

describe('fleetmesh submit: progress, failures in flag terms, cancel', function () {
  this.timeout(120_000)

  describe('pure parts', () => {
    it('names the flag to change when a job cannot be placed', () => {
      const price = view({ state: 'failed', errorInfo: { name: 'NoBidsError', code: 'ERR_NO_BIDS', reason: 'price', region: 'u33d', maxPricePerUnit: 0.5, lowestAsk: 1 } })
      assert.equal(placementMessage(price, { maxPrice: 0.5 }), 'job j1 not placed: lowest ask 1.0 > --max-price 0.5; raise --max-price')
      const region = view({ state: 'failed', errorInfo: { name: 'NoBidsError', code: 'ERR_NO_BIDS', reason: 'no-workers', region: 'u33e' } })
      assert.equal(placementMessage(region, { maxPrice: 1, region: 'u33e', graceMs: 2000 }), 'job j1 not placed: no worker in region u33e (--region) within the bid window + --grace 2000 ms')
      assert.equal(placementMessage(view({ state: 'failed', errorInfo: { name: 'InferenceError' } }), { maxPrice: 1 }), undefined, 'other failures keep their own message')
    })

    it('progress shows items/s, ETA, workers and re-awards', () => {
      const v = view({
        submittedAt: 0,
        microBatches: { total: 10, done: 4 },
        workers: [{ peerId: 'a', leaseId: 'l1', shard: 0, state: 'leased' }, { peerId: 'b', leaseId: 'l2', shard: 1, state: 'lost' }, { peerId: 'c', leaseId: 'l3', shard: 1, state: 'leased' }],
        events: [{ type: 're-awarded', jobId: 'j1', at: 1 }]
      })
      const f = progressFigures(v, 4000)
      assert.deepEqual(f, { done: 4, total: 10, workers: 2, reawards: 1, itemsPerSecond: 10, etaSeconds: 6 })
      assert.equal(progressLine(v, 4000), 'job j1 running: 4/10 micro-batches, 2 workers, 1 re-awards, 10.0 items/s, ETA 6 s')
    })
  })

  describe('through the CLI', () => {
    let daemon: Daemon
    let dir: string
    let modelFile: string
    let npy: string

    before(async () => {
      const fleet = await createFleetFiles(await tempDir('fleetmesh-daemon-'))
      daemon = await startDaemon(await testDaemonConfig(fleet, 'lonely', 'station'), { log: () => {} })
      dir = await tempDir('fleetmesh-submit-')
      modelFile = join(dir, 'mlp.onnx')
      await writeFile(modelFile, generateMlp({ inputs: 4, hidden: [8], outputs: 2 }))
      npy = join(dir, 'x.npy')
      await writeFile(npy, writeNpy({ dtype: 'float32', shape: [4, 4], data: new Float32Array(16) }))
    })
    afterEach(killChildProcesses)
    after(async () => {
      await killChildProcesses()
      await daemon.stop()
      await removeTempDirs()
    })

    it('with stderr not a terminal, submit prints plain progress lines; Ctrl-C cancels the job on the daemon', async () => {
      // no worker anywhere: the job waits for bids (a long grace keeps it waiting)
      const child = spawnCli(['submit', '--data-dir', daemon.config.dataDir, '--model', modelFile, '--input', `x=${npy}`, '--max-price', '1', '--grace', '60000', '--out', dir])
      await waitUntil(() => /^job \S+ running: 0\/\d+ micro-batches, 0 workers, 0 re-awards, 0\.0 items\/s/m.test(child.out.stderr) || child.exitCode != null, { timeoutMs: 30_000, intervalMs: 100, message: 'a plain progress line' })
      assert.equal(child.exitCode, null, child.out.stderr)
      const jobId = /^job (\S+) running/m.exec(child.out.stderr)?.[1] as string
      child.kill('SIGINT')
      const r = await waitExit(child, 30_000)
      assert.equal(r.code, 1, r.stderr)
      assert.match(r.stderr, new RegExp(`fleetmesh: job ${jobId} cancelled \\(interrupted\\)`))
      const client = new ApiClient({ url: daemon.url, token: daemon.token })
      await waitUntil(async () => (await client.job(jobId)).state === 'cancelled', { timeoutMs: 10_000, intervalMs: 100, message: 'the daemon to cancel the job' })
    })

    it('fleetmesh cancel JOB cancels a running job; a finished or unknown one is an error', async () => {
      const client = new ApiClient({ url: daemon.url, token: daemon.token })
      const { cid } = await client.uploadModel(generateMlp({ inputs: 4, hidden: [8], outputs: 2 }))
      const { jobId } = await client.submit({ model: cid, inputs: [{ name: 'x', dtype: 'float32', dims: [4, 4], data: new Float32Array(16) }], maxPrice: 1, graceMs: 60_000 })
      const r = await runCli(['cancel', jobId, '--data-dir', daemon.config.dataDir])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, `job ${jobId} cancelled\n`)
      assert.equal((await client.job(jobId)).state, 'cancelled')
      const again = await runCli(['cancel', jobId, '--data-dir', daemon.config.dataDir])
      assert.equal(again.code, 1)
      assert.match(again.stderr, /job .* is cancelled; only a running job can be cancelled/)
      const unknown = await runCli(['cancel', 'no-such-job', '--data-dir', daemon.config.dataDir])
      assert.equal(unknown.code, 1)
      assert.match(unknown.stderr, /no job no-such-job on this daemon/)
    })
  })

  describe('an unplaceable job through the CLI against real daemons (a worker asking 1.0)', () => {
    const daemons: Daemon[] = []
    let requester: Daemon
    let dir: string
    let modelFile: string
    let npy: string

    before(async () => {
      const fleet = await createFleetFiles(await tempDir('fleetmesh-daemon-'))
      requester = await startDaemon(await testDaemonConfig(fleet, 'requester', 'station'), { log: () => {} })
      daemons.push(requester)
      const base = await testDaemonConfig(fleet, 'worker', 'station', { bootstrap: requester.node.getMultiaddrs().map(String) })
      daemons.push(await startDaemon({ ...base, worker: { ...base.worker, enabled: true, pricePerUnit: 1, loadFactor: 0 } }, { log: () => {} }))
      await waitUntil(() => requester.node.peers().length === 1, { timeoutMs: 30_000, message: 'the requester to admit the worker' })
      dir = await tempDir('fleetmesh-unplaceable-')
      modelFile = join(dir, 'mlp.onnx')
      await writeFile(modelFile, generateMlp({ inputs: 4, hidden: [8], outputs: 2 }))
      npy = join(dir, 'x.npy')
      await writeFile(npy, writeNpy({ dtype: 'float32', shape: [4, 4], data: new Float32Array(16) }))
    })
    afterEach(killChildProcesses)
    after(async () => {
      await killChildProcesses()
      await Promise.all(daemons.splice(0).map(async d => d.stop()))
      await removeTempDirs()
    })

    // bid window 400 ms + --grace 2000 ms: the bound below only keeps a hang from stalling the suite (the default deadline is 5 min)
    const BOUND_MS = 45_000

    it('submit --max-price 0.5 exits 1 after the bid window + grace, naming --max-price and the lowest ask', async () => {
      const r = await runCli(['submit', '--data-dir', requester.config.dataDir, '--model', modelFile, '--input', `x=${npy}`, '--max-price', '0.5', '--grace', '2000', '--out', dir], { timeoutMs: BOUND_MS })
      assert.equal(r.code, 1, r.stderr)
      assert.match(r.stderr, /not placed: lowest ask 1\.0 > --max-price 0\.5; raise --max-price/)
    })

    it('submit --region with no workers exits 1 naming --region', async () => {
      const r = await runCli(['submit', '--data-dir', requester.config.dataDir, '--model', modelFile, '--input', `x=${npy}`, '--max-price', '5', '--region', 'u33e', '--grace', '2000', '--out', dir], { timeoutMs: BOUND_MS })
      assert.equal(r.code, 1, r.stderr)
      assert.match(r.stderr, /not placed: no worker in region u33e \(--region\)/)
    })
  })
})
