import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decoderInitialState, decoderStatePairs, generateDecoder } from '@fleetmesh/runtime'
import { delay, forkNode, killChildProcesses, loopbackListen, removeTempDirs, serializeIdentity, tempDir, waitUntil } from '@fleetmesh/test-utils'
import { generateTokens, LocalStatefulSession } from '../src/index.js'
import { collect } from './fixtures/state-models.js'
import { startJobMesh } from './utils/jobs.js'
import type { WorkerNodeConfig } from './fixtures/worker-node.js'
import type { JobMesh } from './utils/jobs.js'
import type { InferenceSession, SessionProgress } from '../src/index.js'
import type { ForkedNode } from '@fleetmesh/test-utils'

const FIXTURE = new URL('./fixtures/worker-node.js', import.meta.url)
// dModel 128: the KV cache grows by 4 KiB a position; a snapshot restored is larger than an open frame's header may carry
const DECODER = { vocab: 96, dModel: 128, heads: 4, layers: 4, seed: 11 }
const PROMPT = [5, 17, 42, 8]
const TOKENS = 64
/** the token after which the victim is killed: 20; with snapshots 40, so each stage's snapshot (2 layers, 2 KiB a position) is over 64 KiB */
const KILL_AT = { replay: 20, snapshot: 40 }
/** how long the drained worker takes to sign its receipt, ms: longer than its release takes to reach the requester */
const SLOW_SIGN_MS = 600

describe('sessions recover from a worker lost mid-generation', function () {
  this.timeout(240_000)
  let mesh: JobMesh | undefined
  let session: InferenceSession | undefined
  let expected: number[]

  before(async () => {
    const s = await LocalStatefulSession.open(generateDecoder(DECODER), { state: decoderStatePairs(DECODER.layers), initialState: decoderInitialState(DECODER) })
    try { expected = await collect(generateTokens(s, { prompt: PROMPT, maxTokens: TOKENS })) } finally { await s.close() }
  })

  afterEach(async () => {
    await session?.close().catch(() => {})
    session = undefined
    await killChildProcesses()
    await mesh?.stop()
    mesh = undefined
    await removeTempDirs()
  })

  /** A requester, `stages - 1` workers here and one cheap worker in its own process: the stages go one to each. */
  async function meshWithVictim (stages: number): Promise<{ victim: ForkedNode<{ peerId: string }> }> {
    mesh = await startJobMesh(Array.from({ length: stages - 1 }, () => ({ worker: { pricing: { basePricePerUnit: 1, loadFactor: 0 } } })), { market: { bidWindowMs: 1500, leaseTimeoutMs: 2000 } })
    const dir = await tempDir('fleetmesh-session-victim-')
    const config: WorkerNodeConfig = {
      ...serializeIdentity(await mesh.fleet.identity('station', 'u33d'), mesh.fleet),
      bootstrap: mesh.requester.getMultiaddrs().map(String),
      listen: loopbackListen(),
      storeDir: dir,
      basePricePerUnit: 0.2
    }
    const file = join(dir, 'config.json')
    await writeFile(file, JSON.stringify(config))
    const victim = await forkNode<{ peerId: string }>(FIXTURE, { args: [file], execArgv: [], readyTimeoutMs: 120_000, name: 'session worker process' })
    await waitUntil(() => mesh?.requester.libp2p.getConnections().some(c => c.remotePeer.toString() === victim.ready.peerId) === true, { timeoutMs: 20_000, message: 'the victim connects' })
    await delay(1500) // gossip mesh
    return { victim }
  }

  for (const [stages, snapshotEvery] of [[2, 0], [2, 8], [3, 0]] as const) {
    const killAt = snapshotEvery === 0 ? KILL_AT.replay : KILL_AT.snapshot
    it(`${stages} stages, ${snapshotEvery === 0 ? 'recovery by replay' : `snapshots every ${snapshotEvery} steps`}, killed at token ${killAt}: the 64 tokens equal the uninterrupted run`, async () => {
      const { victim } = await meshWithVictim(stages)
      session = await (mesh as JobMesh).requester.openSession({ model: generateDecoder(DECODER), stages, state: decoderStatePairs(DECODER.layers), maxPrice: 10, snapshotEvery })
      const victimStage = session.leases.find(l => l.worker === victim.ready.peerId)?.stage
      assert.ok(victimStage != null, `the victim holds a stage: ${JSON.stringify(session.leases)}`)
      // the replacement joins now: its bid answers the re-offer after the loss
      await (mesh as JobMesh).addWorker()
      const events: SessionProgress[] = []
      session.addEventListener('progress', (e) => { events.push(e.detail) })
      const tokens: number[] = []
      for await (const t of session.generate({ prompt: PROMPT, maxTokens: TOKENS })) {
        tokens.push(t)
        if (tokens.length === killAt) await victim.kill()
      }
      assert.deepEqual(tokens, expected, 'the tokens equal the uninterrupted run')
      const lost = events.filter(e => e.type === 'worker-lost')
      assert.ok(lost.length >= 1 && lost.every(e => e.type === 'worker-lost' && e.worker === victim.ready.peerId), `only the victim was lost: ${JSON.stringify(lost)}`)
      const recovered = events.find(e => e.type === 'recovered')
      assert.ok(recovered?.type === 'recovered', 'a recovered event')
      assert.ok(!recovered.workers.includes(victim.ready.peerId), 'the session runs on a replacement')
      if (snapshotEvery === 0) {
        assert.equal(recovered.fromStep, 0, 'replayed from the start')
        assert.ok(recovered.replayed >= killAt, `replayed ${recovered.replayed} steps`)
      } else {
        assert.ok(recovered.fromStep > 0 && recovered.fromStep % snapshotEvery === 0, `restored from the snapshot after step ${recovered.fromStep}`)
        // killed right after a step that asked for a snapshot: the victim's part of it may die with it, and the one before serves
        assert.ok(recovered.replayed <= snapshotEvery, `replayed ${recovered.replayed} steps`)
      }
      const summary = await session.close()
      assert.equal(summary.steps, TOKENS)
      assert.ok(summary.recoveries >= 1)
      // the replacement and the surviving stages settle; the victim is gone
      assert.equal(summary.receipts, stages, JSON.stringify(summary))
    })
  }

  it('a drained worker hands its stage back mid-generation (paid for its steps): the session continues on another worker with the same tokens', async () => {
    mesh = await startJobMesh([{}, {}, {}])
    session = await mesh.requester.openSession({ model: generateDecoder(DECODER), stages: 2, state: decoderStatePairs(DECODER.layers), maxPrice: 10 })
    const drained = mesh.workers.find(w => w.peerId.toString() === session?.leases[1]?.worker)
    assert.ok(drained != null, 'a worker of this mesh holds stage 1')
    const events: SessionProgress[] = []
    session.addEventListener('progress', (e) => { events.push(e.detail) })
    const tokens: number[] = []
    for await (const t of session.generate({ prompt: PROMPT, maxTokens: TOKENS })) {
      tokens.push(t)
      if (tokens.length === KILL_AT.replay) await drained.libp2p.services.market.drain('driving')
    }
    assert.deepEqual(tokens, expected)
    const lost = events.find(e => e.type === 'worker-lost')
    assert.ok(lost?.type === 'worker-lost' && lost.stage === 1 && lost.worker === drained.peerId.toString(), JSON.stringify(lost))
    assert.ok(!(session.leases.map(l => l.worker)).includes(drained.peerId.toString()), 'the drained worker holds no stage')
    assert.equal((await session.close()).receipts, 3, 'both stages and the drained lease are paid')
    const paid = await mesh.requester.ledger.receipts({ jobId: session.id, worker: drained.peerId.toString() })
    assert.equal(paid.length, 1, 'one receipt for the drained lease')
    assert.ok(paid[0]?.countersigned === true && paid[0].units >= KILL_AT.replay && paid[0].units <= KILL_AT.replay + 1, `paid for the ${KILL_AT.replay} steps it ran: ${paid[0]?.units}`)
  })

  it('a drained worker whose receipt is signed after its release would go is still paid: the release waits for the receipt frame', async () => {
    mesh = await startJobMesh([{}, {}, {}])
    session = await mesh.requester.openSession({ model: generateDecoder(DECODER), stages: 2, state: decoderStatePairs(DECODER.layers), maxPrice: 10 })
    const drained = mesh.workers.find(w => w.peerId.toString() === session?.leases[1]?.worker)
    assert.ok(drained != null, 'a worker of this mesh holds stage 1')
    // the receipt frame is ready only well after the market's release could reach the requester
    const ledger = drained.libp2p.services.ledger
    const sign = ledger.signReceipt.bind(ledger)
    ledger.signReceipt = async (...args) => { await delay(SLOW_SIGN_MS); return sign(...args) }
    const tokens: number[] = []
    for await (const t of session.generate({ prompt: PROMPT, maxTokens: 30 })) {
      tokens.push(t)
      if (tokens.length === KILL_AT.replay) await drained.libp2p.services.market.drain('driving')
    }
    assert.deepEqual(tokens, expected.slice(0, 30))
    assert.equal((await session.close()).receipts, 3, 'both stages and the drained lease are paid')
    const paid = await mesh.requester.ledger.receipts({ jobId: session.id, worker: drained.peerId.toString() })
    assert.equal(paid.length, 1, 'one receipt for the drained lease')
    assert.ok(paid[0]?.countersigned === true && paid[0].units >= KILL_AT.replay, `paid for the steps it ran: ${paid[0]?.units}`)
  })
})
