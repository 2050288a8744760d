/**
 * bench/sessions-profile: one 2-stage greedy generation on the mesh, for a
 * CPU profile of its step path. The requester runs here, the two workers
 * in their own processes (bench/sessions' worker); run this with
 * `node --cpu-prof --cpu-prof-dir=<dir>` and the workers (and their runner
 * processes, which inherit the flags) are started with the same flags, so
 * every process writes its profile when it exits: the workers are told to
 * stop (IPC disconnect), never killed.
 * Run: node bench/dist/sessions-profile.js [--tokens 400] [--layers 4] [--d-model 64] [--heads 4]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createMeshNode, generateTokens } from '@fleetmesh/peer'
import { decoderStatePairs, generateDecoder } from '@fleetmesh/runtime'
import { createFleetKeys, createTestGrant, createTestIdentity, forkNode, loopbackGossip, loopbackListen, serializeIdentity } from '@fleetmesh/test-utils'
import type { MeshNode } from '@fleetmesh/peer'
import type { ForkedNode } from '@fleetmesh/test-utils'
import type { JobsWorkerConfig } from './jobs-worker.js'

const { values } = parseArgs({ options: { tokens: { type: 'string', default: '400' }, layers: { type: 'string', default: '4' }, 'd-model': { type: 'string', default: '64' }, heads: { type: 'string', default: '4' } } })
const TOKENS = Number(values.tokens)
const DECODER = { layers: Number(values.layers), dModel: Number(values['d-model']), heads: Number(values.heads), maxPositions: TOKENS + 8 }
const model = generateDecoder(DECODER)
const pairs = decoderStatePairs(DECODER.layers)
const root = await mkdtemp(join(tmpdir(), 'fleetmesh-bench-sessions-profile-'))
const workers: Array<ForkedNode<{ peerId: string }>> = []
let requester: MeshNode | undefined
try {
  const keys = await createFleetKeys()
  const { privateKey, certificate, peerId } = await createTestIdentity(keys.authority, { role: 'station' })
  const grant = await createTestGrant(keys.authority, peerId.toString())
  keys.grants = () => [grant]
  requester = await createMeshNode({
    role: 'station',
    region: 'u33d',
    privateKey,
    swarmKey: keys.swarmKey,
    trustedAuthorities: [keys.authority.publicKey],
    certificate,
    ledger: { grants: [grant] },
    listen: [loopbackListen()],
    modelStore: { dir: join(root, 'requester') },
    market: { bidWindowMs: 1000 },
    gossip: loopbackGossip()
  })
  const boot = requester.getMultiaddrs().map(String)
  for (let i = 0; i < 2; i++) {
    const file = join(root, `worker-${i}.json`)
    const config: JobsWorkerConfig = { ...serializeIdentity(await createTestIdentity(keys.authority, { role: 'station' }), keys), bootstrap: boot, listen: loopbackListen(), storeDir: join(root, `worker-${i}`), threads: 1 }
    await writeFile(file, JSON.stringify(config))
    workers.push(await forkNode(new URL('./sessions-worker.js', import.meta.url), { args: [file], execArgv: process.execArgv.filter(a => a.startsWith('--cpu-prof')), readyTimeoutMs: 120_000, name: 'sessions worker' }))
  }
  await requester.announced()
  await new Promise(resolve => setTimeout(resolve, 2000))
  const session = await requester.openSession({ model, stages: 2, state: pairs, maxPrice: 10, maxSteps: TOKENS + 1 })
  const started = performance.now()
  let n = 0
  const at = (): string => (performance.timeOrigin + performance.now()).toFixed(2)
  // STEP_TRACE=1 prints when each step leaves and returns (wall clock, ms)
  const stepper = {
    step: async (inputs: Parameters<typeof session.step>[0]) => {
      if (process.env.STEP_TRACE != null) process.stderr.write(`T req0 seq=${session.steps} t=${at()}\n`)
      const out = await session.step(inputs)
      if (process.env.STEP_TRACE != null) process.stderr.write(`T req1 seq=${session.steps - 1} t=${at()}\n`)
      return out
    }
  }
  for await (const token of generateTokens(stepper, { prompt: [1, 2, 3], maxTokens: TOKENS })) n += token >= 0 ? 1 : 0
  const ms = performance.now() - started
  await session.close()
  console.log(JSON.stringify({ bench: 'sessions-profile', tokens: n, ms: Math.round(ms), stepMs: Math.round(ms / n * 100) / 100, decoder: DECODER }))
} finally {
  await Promise.all(workers.map(async w => new Promise<void>(resolve => {
    if (w.child.exitCode != null) { resolve(); return }
    w.child.once('exit', () => { resolve() })
    w.child.disconnect()
  })))
  await requester?.stop()
  await rm(root, { recursive: true, force: true })
}
