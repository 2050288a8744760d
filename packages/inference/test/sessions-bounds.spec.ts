import assert from 'node:assert/strict'
import { decoderInitialState, decoderStatePairs, generateDecoder, generateGru, GRU_STATE_PAIRS, gruInitialState, maxAbsDiff } from '@fleetmesh/runtime'
import { waitUntil } from '@fleetmesh/test-utils'
import { generateTokens, LocalStatefulSession } from '../src/index.js'
import { collect, gruChunk, stepLocally } from './fixtures/state-models.js'
import { startJobMesh } from './utils/jobs.js'
import type { JobMesh } from './utils/jobs.js'
import type { InferenceSession, SessionProgress } from '../src/index.js'
import type { MeshNode } from '@fleetmesh/peer'
import type { WireTensor } from '@fleetmesh/protocol'

const GRU = { hidden: 32, seed: 5 }
const DECODER = { vocab: 96, dModel: 32, heads: 4, layers: 4, seed: 11 }

/** A worker that always asks `price` credits per unit (no load factor), so the auction's choice is known. */
function priced (price: number, inference: Record<string, unknown> = {}): Record<string, unknown> {
  return { worker: { pricing: { basePricePerUnit: price, loadFactor: 0 } }, inference }
}

function follow (session: InferenceSession): SessionProgress[] {
  const events: SessionProgress[] = []
  session.addEventListener('progress', (e) => { events.push(e.detail) })
  return events
}

function ids (tokens: number[]): WireTensor {
  return { name: 'input_ids', dtype: 'int64', dims: [1, tokens.length], data: BigInt64Array.from(tokens.map(BigInt)) }
}

describe('session bounds and failures', function () {
  this.timeout(120_000)
  let mesh: JobMesh | undefined
  let sessions: InferenceSession[] = []
  afterEach(async () => {
    await Promise.all(sessions.map(async s => s.close().catch(() => {})))
    sessions = []
    await mesh?.stop()
    mesh = undefined
  })

  it('a worker at its most sessions does not bid on the next one (NoBid BUSY): another worker serves it, nothing is handed back', async () => {
    mesh = await startJobMesh([priced(0.5, { maxSessions: 1 }), priced(2)])
    const [busy, spare] = mesh.workers as [MeshNode, MeshNode]
    const model = generateGru(GRU)
    // both bids before the award (minBids 2): the first bid alone would end the window, and under load it can be the dear one's
    const a = await mesh.requester.openSession({ model, state: [...GRU_STATE_PAIRS], maxPrice: 10, minBids: 2 })
    sessions.push(a)
    assert.equal(a.leases[0]?.worker, busy.peerId.toString(), 'the cheap worker serves the first session')
    const skipped: Array<{ jobId: string, code?: string, reason?: string }> = []
    busy.libp2p.services.market.addEventListener('bid', (e) => { if (e.detail.side === 'skipped') skipped.push(e.detail) })
    const refusals: Array<{ worker: string, code: string }> = []
    mesh.requester.libp2p.services.market.addEventListener('refusal', (e) => { refusals.push(e.detail) })
    const b = await mesh.requester.openSession({ model, state: [...GRU_STATE_PAIRS], maxPrice: 10 })
    sessions.push(b)
    const events = follow(b)
    assert.equal(b.leases[0]?.worker, spare.peerId.toString(), 'the second session runs on the other worker')
    assert.ok(skipped.some(x => x.jobId === b.id && x.code === 'BUSY' && /maxSessions 1/.test(x.reason ?? '')), `the full worker skipped the offer as BUSY: ${JSON.stringify(skipped)}`)
    assert.ok(refusals.some(r => r.worker === busy.peerId.toString() && r.code === 'BUSY'), `and told the requester: ${JSON.stringify(refusals)}`)
    assert.equal(busy.libp2p.services.inference?.sessionStages().stages, 1, 'the cheap worker holds one session')
    const expected = await stepLocally(model, [...GRU_STATE_PAIRS], gruInitialState(GRU), [[gruChunk(0)], [gruChunk(1)]])
    for (const s of [a, b]) {
      for (const i of [0, 1]) {
        const [y] = await s.step([gruChunk(i)])
        assert.ok(maxAbsDiff(y as WireTensor, (expected[i] as WireTensor[])[0] as WireTensor) <= 1e-5, `session ${s.id} step ${i}`)
      }
    }
    assert.equal(events.filter(e => e.type === 'worker-lost').length, 0, 'no stage was handed back')
  })

  it('two sessions offered at once to a worker with room for one: it bids on both, but the second award is declined BUSY (its first lease counts before its stream opens), never over-committed', async () => {
    mesh = await startJobMesh([priced(0.5, { maxSessions: 1 }), priced(2)])
    const [busy, spare] = mesh.workers as [MeshNode, MeshNode]
    // stored first: the two sessions then share its CID
    const model = (await (mesh.requester.libp2p.services.models as NonNullable<MeshNode['libp2p']['services']['models']>).add(generateGru(GRU))).cid
    const declined: Array<{ jobId: string, reason?: string }> = []
    const ended: Array<{ state: string, reason?: string }> = []
    mesh.requester.libp2p.services.market.addEventListener('lease', (e) => {
      if (e.detail.worker !== busy.peerId.toString()) return
      if (e.detail.state === 'declined') declined.push(e.detail)
      if (e.detail.state === 'released' || e.detail.state === 'lost') ended.push(e.detail)
    })
    // each award waits for both workers' bids (or the window): with the first bid ending the window, two offers whose spare's bids came first went both to the spare
    const opening = [mesh.requester.openSession({ model, state: [...GRU_STATE_PAIRS], maxPrice: 10, minBids: 2 }), mesh.requester.openSession({ model, state: [...GRU_STATE_PAIRS], maxPrice: 10, minBids: 2 })]
    const events: SessionProgress[] = []
    const opened = await Promise.allSettled(opening)
    for (const r of opened) if (r.status === 'fulfilled') { sessions.push(r.value); r.value.addEventListener('progress', (e) => { events.push(e.detail) }) }
    const [a, b] = opened.map(r => { assert.equal(r.status, 'fulfilled', `both sessions open: ${r.status === 'rejected' ? String(r.reason?.message) : ''}`); return (r as PromiseFulfilledResult<InferenceSession>).value })
    const workers = [a, b].map(s => s?.leases[0]?.worker).sort()
    assert.deepEqual(workers, [busy.peerId.toString(), spare.peerId.toString()].sort(), 'one session on each worker')
    assert.deepEqual(ended, [], 'no lease of the full worker was handed back (a stage refused at its stream, ERR_SESSION_LIMIT)')
    assert.ok(declined.some(d => /BUSY/.test(d.reason ?? '') && /maxSessions 1/.test(d.reason ?? '')), `the full worker declined the second award as BUSY: ${JSON.stringify(declined)}`)
    assert.equal(busy.libp2p.services.inference?.sessionStages().stages, 1, 'the cheap worker holds one session stage')
    for (const s of [a, b] as InferenceSession[]) {
      const [y] = await s.step([gruChunk(0)])
      assert.ok(y != null, `session ${s.id} steps`)
    }
    assert.equal(events.filter(e => e.type === 'worker-lost').length, 0, 'no stage was refused at its stream and handed back')
  })

  it('leases stay alive while a stage of tens of MB is fetched, verified and loaded (hashed as it arrives, validated, loaded in the runner process): a lease of 1 s outlives the open', async () => {
    // a tight lease, well under the open and first step (~2 s on a quiet machine, longer under load): 750 ms of silence past a
    // heartbeat interval ends it (600 ms expired under a loaded machine's scheduling, with the stage load off the loop)
    const timings = { leaseTimeoutMs: 1000, heartbeatIntervalMs: 250 }
    mesh = await startJobMesh([{ market: timings }], { market: { bidWindowMs: 400, ...timings } })
    const big = { vocab: 96, dModel: 384, heads: 6, layers: 8, seed: 3 }
    const model = generateDecoder(big)
    assert.ok(model.byteLength > 40e6, `a model of tens of MB: ${model.byteLength} bytes`)
    const ended: Array<{ side: string, state: string, reason?: string }> = []
    for (const node of [mesh.requester, ...mesh.workers]) {
      node.libp2p.services.market.addEventListener('lease', (e) => { if (['lost', 'released', 'expired'].includes(e.detail.state)) ended.push(e.detail) })
    }
    const t0 = Date.now()
    const session = await mesh.requester.openSession({ model, state: decoderStatePairs(big.layers), maxPrice: 10 })
    sessions.push(session)
    const [logits] = await session.step([ids([5, 17, 42])])
    console.log(`      open and first step: ${Date.now() - t0} ms (for the record)`)
    assert.ok(logits != null, 'the first step ran')
    assert.deepEqual(ended.map(e => `${e.side} ${e.state}: ${e.reason ?? ''}`), [], 'no lease ended while the stage loaded')
  })

  it('steps called at once run one at a time, in call order (one step in flight per session)', async () => {
    mesh = await startJobMesh([{}])
    const model = generateGru(GRU)
    const inputs = Array.from({ length: 12 }, (_, i) => [gruChunk(i)])
    const expected = await stepLocally(model, [...GRU_STATE_PAIRS], gruInitialState(GRU), inputs)
    const session = await mesh.requester.openSession({ model, state: [...GRU_STATE_PAIRS], maxPrice: 10 })
    sessions.push(session)
    const outs = await Promise.all(inputs.map(async x => session.step(x)))
    for (const [i, out] of outs.entries()) assert.ok(maxAbsDiff(out[0] as WireTensor, (expected[i] as WireTensor[])[0] as WireTensor) <= 1e-5, `step ${i}`)
  })

  it('a worker refuses a second step while one runs, or one out of order (one step in flight per session)', async () => {
    mesh = await startJobMesh([{}])
    const session = await mesh.requester.openSession({ model: generateGru(GRU), state: [...GRU_STATE_PAIRS], maxPrice: 10 })
    sessions.push(session)
    await session.step([gruChunk(0)])
    // a requester that misbehaves: step 1 twice on the stage's control stream, back to back
    const control = (session as any).channels[0]
    for (let i = 0; i < 2; i++) void control.send({ data: { seq: 1, tensors: new Uint8Array(), more: false, items: 1 } }, [gruChunk(1)])
    // the stage runs the first, refuses the second (busy, or out of order once the first is done) and the session's own step 1: the session fails with that refusal
    let err: any
    for (let i = 1; i < 4 && err == null; i++) err = await session.step([gruChunk(i)]).then(() => undefined, (e: any) => e)
    assert.equal(err?.name, 'SessionError', String(err?.stack))
    assert.ok(['ERR_SESSION_BUSY', 'ERR_SESSION_STEP'].includes(err.code), `${err.code}: ${err.message}`)
    assert.equal(err.stage, 0)
  })

  it('a session that would outlive the fleet\'s longest job is refused before anything is leased', async () => {
    mesh = await startJobMesh([{}])
    const err = await mesh.requester.openSession({ model: generateGru(GRU), state: [...GRU_STATE_PAIRS], maxPrice: 10, deadline: Date.now() + 2 * 60 * 60_000 }).then(() => undefined, (e: any) => e)
    assert.equal(err?.name, 'InvalidJobError', String(err?.stack))
    assert.match(err.message, /deadline/)
    assert.equal((mesh.workers[0] as MeshNode).libp2p.services.inference?.sessionStages().stages, 0)
  })

  it('aborting the session\'s signal fails its steps with ERR_SESSION_CLOSED and cancels its leases, as for a cancelled job', async () => {
    mesh = await startJobMesh([{}])
    const abort = new AbortController()
    const session = await mesh.requester.openSession({ model: generateGru(GRU), state: [...GRU_STATE_PAIRS], maxPrice: 10, signal: abort.signal })
    sessions.push(session)
    await session.step([gruChunk(0)])
    abort.abort(new Error('the user went away'))
    const err = await session.step([gruChunk(1)]).then(() => undefined, (e: any) => e)
    assert.equal(err?.code, 'ERR_SESSION_CLOSED', String(err?.stack))
    assert.match(err.message, /the user went away/)
    const summary = await session.close()
    assert.deepEqual([summary.steps, summary.receipts], [1, 0])
    await waitUntil(() => (mesh?.workers[0] as MeshNode).libp2p.services.inference?.sessionStages().stages === 0, { timeoutMs: 10_000, message: 'the worker frees the stage' })
  })

  it('the only worker at its most sessions: openSession fails with NoBidsError reason busy, naming the session limit', async () => {
    mesh = await startJobMesh([priced(1, { maxSessions: 1 })], { market: { bidWindowMs: 400 } })
    const model = generateGru(GRU)
    sessions.push(await mesh.requester.openSession({ model, state: [...GRU_STATE_PAIRS], maxPrice: 10 }))
    const err = await mesh.requester.openSession({ model, state: [...GRU_STATE_PAIRS], maxPrice: 10 }).then(() => undefined, (e: any) => e)
    assert.equal(err?.name, 'NoBidsError', String(err?.stack))
    assert.equal(err.reason, 'busy', err.message)
    assert.ok(err.refusals.some((r: any) => r.worker === (mesh?.workers[0] as MeshNode).peerId.toString() && r.code === 'BUSY' && /maxSessions 1/.test(r.message)), JSON.stringify(err.refusals))
  })

  it('a session commits stages x maxSteps x maxPrice at its award, frees it at close, and step maxSteps fails with ERR_SESSION_STEPS', async () => {
    mesh = await startJobMesh([{}])
    const ledger = mesh.requester.ledger
    const session = await mesh.requester.openSession({ model: generateGru(GRU), state: [...GRU_STATE_PAIRS], maxPrice: 10, maxSteps: 3 })
    sessions.push(session)
    assert.deepEqual(ledger.commitments().filter(c => c.jobId === session.id).map(c => c.maxCost), [30], 'the maximum cost is set aside')
    for (const i of [0, 1, 2]) await session.step([gruChunk(i)])
    const err = await session.step([gruChunk(3)]).then(() => undefined, (e: any) => e)
    assert.equal(err?.code, 'ERR_SESSION_STEPS', String(err?.stack))
    assert.match(err.message, /maxSteps/)
    const summary = await session.close()
    assert.deepEqual([summary.steps, summary.receipts], [3, 1])
    assert.deepEqual(ledger.commitments().filter(c => c.jobId === session.id), [], 'the commitment ends at close')
  })

  it('a requester whose funds do not cover the session\'s maximum cost cannot open it (NoBidsError reason funds)', async () => {
    // the test fleet grants every device 1,000,000 credits: 200,000 steps at 10 credits is 2,000,000
    mesh = await startJobMesh([{}])
    const err = await mesh.requester.openSession({ model: generateGru(GRU), state: [...GRU_STATE_PAIRS], maxPrice: 10, maxSteps: 200_000 }).then(() => undefined, (e: any) => e)
    assert.equal(err?.name, 'NoBidsError', String(err?.stack))
    assert.equal(err.reason, 'funds', err.message)
    assert.match(err.message, /2000000 credits/)
    assert.equal((mesh.workers[0] as MeshNode).libp2p.services.inference?.sessionStages().stages, 0, 'nothing was leased')
    assert.deepEqual(mesh.requester.ledger.commitments(), [], 'nothing stays set aside')
  })

  it('an idle session stage is freed by its worker (and paid for its steps); the next step rebuilds the state on another worker', async () => {
    mesh = await startJobMesh([priced(0.5, { sessionIdleTimeoutMs: 1500 }), priced(2)])
    const [idle, spare] = mesh.workers as [MeshNode, MeshNode]
    const model = generateGru(GRU)
    const inputs = [0, 1, 2, 3].map(i => [gruChunk(i)])
    const expected = await stepLocally(model, [...GRU_STATE_PAIRS], gruInitialState(GRU), inputs)
    // both bids before the award (minBids 2), so the cheap worker takes the session whichever bid comes first
    const session = await mesh.requester.openSession({ model, state: [...GRU_STATE_PAIRS], maxPrice: 10, minBids: 2 })
    sessions.push(session)
    const events = follow(session)
    assert.equal(session.leases[0]?.worker, idle.peerId.toString())
    for (const x of inputs.slice(0, 3)) await session.step(x)
    assert.ok((idle.libp2p.services.inference?.sessionStages().stateBytes ?? 0) > 0, 'the worker holds the state')
    await waitUntil(() => idle.libp2p.services.inference?.sessionStages().stages === 0, { timeoutMs: 20_000, message: 'the idle stage is freed' })
    assert.equal(idle.libp2p.services.inference?.sessionStages().stateBytes, 0, 'and its state')
    await waitUntil(() => events.some(e => e.type === 'worker-lost'), { timeoutMs: 10_000, message: 'the requester hears it' })
    const lost = events.find(e => e.type === 'worker-lost')
    assert.ok(lost?.type === 'worker-lost' && lost.code === 'ERR_SESSION_IDLE' && lost.worker === idle.peerId.toString(), JSON.stringify(lost))
    const [y] = await session.step(inputs[3] as WireTensor[])
    assert.ok(maxAbsDiff(y as WireTensor, (expected[3] as WireTensor[])[0] as WireTensor) <= 1e-5, 'step 3 after the rebuild equals the local run')
    assert.equal(session.leases[0]?.worker, spare.peerId.toString())
    const recovered = events.find(e => e.type === 'recovered')
    assert.ok(recovered?.type === 'recovered' && recovered.replayed === 3, JSON.stringify(recovered))
    const summary = await session.close()
    assert.equal(summary.receipts, 2, 'the freed lease and the replacement are both paid')
    const paid = await mesh.requester.ledger.receipts({ jobId: session.id, worker: idle.peerId.toString() })
    assert.deepEqual(paid.map(r => [r.units, r.countersigned]), [[3, true]], 'the idle worker is paid for the 3 steps it ran')
  })

  it('a stage state over the worker\'s limit fails the step with ERR_SESSION_STATE_TOO_LARGE', async () => {
    // the KV cache of this decoder grows by 4 layers x 2 x 4 heads x 8 x 4 bytes = 1 KiB per position
    mesh = await startJobMesh([priced(1, { maxSessionStateBytes: 10_000 })])
    const session = await mesh.requester.openSession({ model: generateDecoder(DECODER), state: decoderStatePairs(DECODER.layers), initialState: decoderInitialState(DECODER), maxPrice: 10 })
    sessions.push(session)
    await session.step([ids([1, 2, 3, 4])])
    let err: any
    for (let i = 0; i < 12 && err == null; i++) err = await session.step([ids([7])]).then(() => undefined, (e: any) => e)
    assert.equal(err?.name, 'SessionError', String(err?.stack))
    assert.equal(err.code, 'ERR_SESSION_STATE_TOO_LARGE', err.message)
    assert.equal(err.stage, 0)
    assert.equal(session.steps, 6, 'the state fits up to 9 positions: the prompt of 4 and 5 more')
  })

  it('a stage that cannot run a step fails it fast with SessionError naming the stage, the worker and the cause', async () => {
    // stage 0 sends activations of the wrong shape: stage 1's run fails in onnxruntime
    const reshape = (outputs: WireTensor[], where: { stage: number, kind: string }): WireTensor[] => where.kind === 'session' && where.stage === 0
      ? outputs.map(t => ({ ...t, dims: [...t.dims.slice(0, -1), (t.dims.at(-1) as number) / 2, 2] }))
      : outputs
    mesh = await startJobMesh([{ inference: { tamperOutputs: reshape } }, { inference: { tamperOutputs: reshape } }])
    const session = await mesh.requester.openSession({ model: generateDecoder(DECODER), stages: 2, state: decoderStatePairs(DECODER.layers), maxPrice: 10 })
    sessions.push(session)
    const started = Date.now()
    const err = await session.step([ids([1, 2, 3])]).then(() => undefined, (e: any) => e)
    console.log(`      time to the stage error: ${Date.now() - started} ms`)
    assert.equal(err?.name, 'SessionError', String(err?.stack))
    assert.equal(err.code, 'ERR_SESSION_STAGE_FAILED', err.message)
    assert.equal(err.stage, 1)
    assert.equal(err.worker, session.leases[1]?.worker)
    assert.equal(err.cause?.name !== 'SessionError' && err.cause?.site?.stage, 1, `the worker's own error is the cause: ${err.cause?.name} ${err.cause?.code}`)
    assert.match(err.message, /stage 1/)
    // the session stays failed with that error
    const again = await session.step([ids([1])]).then(() => undefined, (e: any) => e)
    assert.equal(again, err)
  })
  it('the replay log stays within maxReplaySteps: a snapshot restarts it, and a recovery replays only the steps since', async () => {
    mesh = await startJobMesh([{}, {}])
    const model = generateDecoder(DECODER)
    const pairs = decoderStatePairs(DECODER.layers)
    const local = await LocalStatefulSession.open(model, { state: pairs, initialState: decoderInitialState(DECODER) })
    const expected = await collect(generateTokens(local, { prompt: [5, 17, 42], maxTokens: 30 })).finally(async () => { await local.close() })
    const session = await mesh.requester.openSession({ model, state: pairs, maxPrice: 10, maxReplaySteps: 8 })
    sessions.push(session)
    const events = follow(session)
    const first = mesh.workers.find(w => w.peerId.toString() === session.leases[0]?.worker) as MeshNode
    const tokens: number[] = []
    for await (const t of session.generate({ prompt: [5, 17, 42], maxTokens: 30 })) {
      tokens.push(t)
      assert.ok((session as any).log.length <= 8, `token ${tokens.length}: the log holds ${(session as any).log.length} steps`)
      if (tokens.length === 25) await first.libp2p.services.market.drain('driving')
    }
    assert.deepEqual(tokens, expected, 'the tokens equal the uninterrupted run')
    const recovered = events.find(e => e.type === 'recovered')
    assert.ok(recovered?.type === 'recovered' && recovered.fromStep > 0 && recovered.replayed <= 8, `restored from a snapshot, not replayed from the start: ${JSON.stringify(recovered)}`)
  })

  it('a replay log that no snapshot can restart (a state over the worker\'s frame limit) fails the step that would overfill it with ERR_SESSION_REPLAY_LIMIT', async () => {
    // the KV cache grows by 1 KiB a position: from the second step on it is over the worker's 1500-byte frame limit, so no snapshot is sent
    mesh = await startJobMesh([priced(1, { maxInputBytes: 1500 })])
    const session = await mesh.requester.openSession({ model: generateDecoder(DECODER), state: decoderStatePairs(DECODER.layers), initialState: decoderInitialState(DECODER), maxPrice: 10, maxReplaySteps: 4 })
    sessions.push(session)
    let err: any
    for (let i = 0; i < 8 && err == null; i++) err = await session.step([ids([7])]).then(() => undefined, (e: any) => e)
    assert.equal(err?.name, 'SessionError', String(err?.stack))
    assert.equal(err.code, 'ERR_SESSION_REPLAY_LIMIT', err.message)
    assert.match(err.message, /maxReplaySteps/)
    assert.equal(session.steps, 4, 'the log held its most, 4 steps')
  })
})
