import { strict as assert } from 'node:assert'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateMlp, LocalSession, maxAbsDiff } from '@fleetmesh/runtime'
import { killChildProcesses, LOOPBACK_GOSSIP_WHITELIST, loopbackListen, removeTempDirs, tempDir, waitUntil } from '@fleetmesh/test-utils'
import { runCli, spawnCli, waitExit } from '@fleetmesh/test-utils/fleet'
import { readNpy, writeNpy } from '../src/npy.js'
import type { WireTensor } from '@fleetmesh/protocol'

/**
 * The whole path through the CLI, with real daemon processes on loopback:
 * authority, swarm key, init + issue for a station and two workers (a
 * station and a scripted vehicle), a data-parallel job submitted with
 * `fleetmesh submit`, outputs compared to a local run, then SIGTERM.
 */
describe('end to end through the CLI: 3 daemons, one data-parallel job', function () {
  this.timeout(180_000)
  afterEach(killChildProcesses)
  after(async () => {
    await killChildProcesses()
    await removeTempDirs()
  })

  async function ok (args: string[], timeoutMs = 60_000): Promise<string> {
    const r = await runCli(args, { timeoutMs })
    assert.equal(r.code, 0, `fleetmesh ${args.join(' ')} exited ${String(r.code)}: ${r.stderr}`)
    return r.stdout
  }

  it('init, issue, start, discover, submit, compare, SIGTERM', async () => {
    const root = await tempDir('fleetmesh-e2e-')
    const auth = join(root, 'auth')
    const swarmKey = join(root, 'swarm.key')
    await ok(['authority', 'init', '--out', auth])
    await ok(['swarm-key', '--out', swarmKey])

    const nodes = [
      { name: 'station', role: 'station', worker: false },
      { name: 'worker-station', role: 'station', worker: true },
      { name: 'worker-vehicle', role: 'vehicle', worker: true }
    ] as const
    const dirs: Record<string, string> = {}
    for (const n of nodes) {
      const dataDir = dirs[n.name] = join(root, n.name)
      const init = JSON.parse(await ok([
        'init', '--data-dir', dataDir, '--role', n.role, '--region', 'u33d',
        '--authority-pub', join(auth, 'authority.pub'), '--swarm-key', swarmKey,
        '--listen', loopbackListen(),
        ...(n.worker ? ['--worker'] : []),
        ...(n.role === 'vehicle' ? ['--set', 'vehicle.scripted=true', '--set', 'vehicle.state=charging'] : []),
        '--set', 'market.bidWindowMs=400', '--set', `gossipIpWhitelist=${LOOPBACK_GOSSIP_WHITELIST.join(',')}`,
        '--json'
      ]))
      assert.match(init.peerId, /^12D3Koo/)
      await ok(['authority', 'issue', '--authority', auth, '--peer', init.peerId, '--role', n.role, '--region', 'u33d', '--days', '1', '--out', join(dataDir, 'certificate')])
      if (!n.worker) {
        // the requester pays its workers: the authority funds it (the daemon publishes <dataDir>/grants/*.grant at start)
        await ok(['authority', 'grant', '--authority', auth, '--account', init.peerId, '--credits', '10000', '--expires', new Date(Date.now() + 86400_000).toISOString(), '--out', join(dataDir, 'grants', 'station.grant')])
      }
    }

    // the station first: the workers bootstrap from its address
    const procs = [spawnCli(['daemon', '--data-dir', dirs.station as string])]
    let stationAddr = ''
    await waitUntil(async () => {
      if (procs[0]?.exitCode != null) throw new Error(`the station daemon exited: ${procs[0].out.stderr}`)
      const r = await runCli(['status', '--data-dir', dirs.station as string, '--json'], { timeoutMs: 20_000 })
      if (r.code !== 0) return false
      stationAddr = JSON.parse(r.stdout).multiaddrs[0]
      return true
    }, { timeoutMs: 30_000, intervalMs: 100, message: 'the station daemon to serve its API' })
    for (const n of nodes.slice(1)) procs.push(spawnCli(['daemon', '--data-dir', dirs[n.name] as string, '--bootstrap', stationAddr]))

    const peerCount = async (name: string): Promise<number> => {
      const r = await runCli(['peers', '--data-dir', dirs[name] as string, '--json'], { timeoutMs: 20_000 })
      return r.code === 0 ? JSON.parse(r.stdout).length : -1
    }
    await waitUntil(async () => {
      for (const p of procs) if (p.exitCode != null) throw new Error(`a daemon exited: ${p.out.stderr}`)
      return await peerCount('station') === 2 && await peerCount('worker-station') >= 1 && await peerCount('worker-vehicle') >= 1
    }, { timeoutMs: 60_000, intervalMs: 300, message: 'the station to see both workers and each worker the station' })

    // a small model and a batch as .npy
    const model = generateMlp({ inputs: 16, hidden: [32, 32], outputs: 4, seed: 7 })
    const modelFile = join(root, 'mlp.onnx')
    await writeFile(modelFile, model)
    const x: WireTensor = { name: 'x', dtype: 'float32', dims: [32, 16], data: Float32Array.from({ length: 32 * 16 }, (_, i) => Math.sin(i * 0.37) * 0.5) }
    const xFile = join(root, 'x.npy')
    await writeFile(xFile, writeNpy({ dtype: x.dtype, shape: x.dims, data: x.data }))
    const out = join(root, 'out')
    const submitted = JSON.parse(await ok(['submit', '--data-dir', dirs.station as string, '--model', modelFile, '--input', `x=${xFile}`, '--mode', 'data', '--shards', '2', '--max-price', '10', '--out', out, '--json'], 120_000))
    assert.deepEqual(submitted.outputs, [join(out, 'y.npy')])

    const y = readNpy(await readFile(join(out, 'y.npy')), 'y.npy')
    const session = await LocalSession.create(model, { intraOpNumThreads: 1 })
    let expected: WireTensor
    try { expected = (await session.run([x]))[0] as WireTensor } finally { await session.release() }
    assert.deepEqual(y.shape, expected.dims)
    const diff = maxAbsDiff({ name: 'y', dtype: y.dtype, dims: y.shape, data: y.data }, expected)
    assert.ok(diff <= 1e-4, `max abs diff ${diff}`)

    const jobs = JSON.parse(await ok(['jobs', '--data-dir', dirs.station as string, '--json']))
    const job = jobs.jobs.find((j: any) => j.jobId === submitted.jobId)
    assert.equal(job?.state, 'done')
    assert.equal(job.microBatches.done, job.microBatches.total)
    assert.ok(job.microBatches.total >= 2, `micro-batches: ${JSON.stringify(job.microBatches)}`)
    assert.ok(job.workers.done >= 1 && job.lastEvent?.type === 'done', JSON.stringify(job))
    const metrics = await (await fetch(`${JSON.parse(await readFile(join(dirs.station as string, 'api.json'), 'utf8')).url}/metrics`, {
      headers: { authorization: `Bearer ${(await readFile(join(dirs.station as string, 'api-token'), 'utf8')).trim()}` }
    })).text()
    assert.match(metrics, /^fleetmesh_jobs_total\{state="done"\} 1$/m)
    assert.match(metrics, /^fleetmesh_bids_total\{side="received"\} [1-9]/m)
    assert.match(metrics, /^fleetmesh_infer_bytes_total\{kind="input",direction="sent"\} [1-9]/m)

    // SIGTERM: each daemon drains, stops, removes api.json and exits 0 within 15 s
    for (const p of procs) p.kill('SIGTERM')
    const exits = await Promise.all(procs.map(async p => waitExit(p, 15_000)))
    exits.forEach((r, i) => {
      const name = nodes[i]?.name as string
      assert.equal(r.code, 0, `${name} exit code (stderr: ${r.stderr})`)
      assert.match(r.stdout, /SIGTERM: shutting down[\s\S]*drained[\s\S]*node stopped[\s\S]*stopped/, `${name} logged its shutdown`)
      assert.ok(!existsSync(join(dirs[name] as string, 'api.json')), `${name}: api.json removed`)
    })
  })
})
