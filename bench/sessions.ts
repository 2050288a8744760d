/**
 * bench/sessions: stateful sessions on the mesh (a GPT-style decoder whose
 * KV cache stays on the workers), each figure measured in this run against
 * the same generation done locally in this process:
 *  - tokens/s of greedy generation (64 tokens) through 2 and 3 stages ÷
 *    local tokens/s (`figures.tokensPerSecOverLocal`, 2 stages, goal >= 0.7;
 *    `figures.tokensPerSecOverLocal3Stages`), both sides warm and side by
 *    side: the local onnxruntime session and the stages' runner sessions
 *    have run a whole generation first, then local and mesh runs alternate
 *    (`--rounds`, default 3) and the figure is the median of the rounds'
 *    ratios; a round whose stages landed on a worker that had not run that
 *    stage before is not counted (`warm: false`). The same after the
 *    prompt's step: `steadyTokensPerSecOverLocal`;
 *  - per-step latency p50, mesh (1, 2, 3 stages) and local; the difference
 *    over the hops of a step (requester → stage 0 → … → last stage →
 *    requester: stages + 1) is `figures.stepOverheadMsPerHop` (2 stages;
 *    goal <= 2 ms), and the slope of step p50 over the stage count is
 *    `figures.stepMsPerExtraStage`; one decode step through a runner
 *    process against in-process onnxruntime is `figures.runnerCallOverheadMs`
 *    (the runner's share of that);
 *  - bytes per step on the wire (requester and workers' infer counters)
 *    against shipping the whole KV cache in and out each step;
 *  - a stage's step at 128 positions with its KV cache passed through the
 *    runner's exchange each call against kept in the runner
 *    (`figures.stageStepStatePassedMs` / `stageStepStateKeptMs`);
 *  - recovery: the worker of stage 1 killed (SIGKILL) at token 20 of 64;
 *    from the kill to the `recovered` event (a replacement leased, every
 *    stage reset, the 20 steps replayed) is `figures.recoveryMs` (goal
 *    <= 2 s + the replay's compute), and the tokens must equal the
 *    uninterrupted run's.
 * Workers are processes with 1 onnxruntime thread each; the local run uses
 * 1 thread too. The headline `figures.tokensPerSecOverLocal` is measured
 * on a decoder of a real model's size (by default DistilGPT-2's
 * transformer: 6 layers × d768, 12 heads, with a toy vocabulary of 256;
 * named in `figures.tokensPerSecOverLocalModel`), 2 stages. The other
 * runs use a tiny decoder (a step computes in a fraction of a ms, so its
 * ratio, `figures.tinyTokensPerSecOverLocal`, measures the per-step
 * network cost, as do the per-hop overheads).
 * Run: npm run bench:sessions -- [--tokens 64] [--layers 4] [--d-model 64] [--heads 4]
 *   [--real-tokens 64] [--real-layers 6] [--real-d-model 768] [--real-heads 12] [--rounds 3]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createMeshNode, generateTokens } from '@fleetmesh/peer'
import { createRuntime, decoderInitialState, decoderStatePairs, generateDecoder, LocalSession, ModelStore } from '@fleetmesh/runtime'
import { createFleetKeys, createTestGrant, createTestIdentity, forkNode, killChildProcesses, loopbackGossip, loopbackListen, serializeIdentity } from '@fleetmesh/test-utils'
import type { InferCounters, InferenceSession, MeshNode, SessionProgress } from '@fleetmesh/peer'
import type { WireTensor } from '@fleetmesh/protocol'
import type { ForkedNode } from '@fleetmesh/test-utils'
import type { SessionsWorkerConfig } from './sessions-worker.js'

const { values } = parseArgs({
  options: {
    tokens: { type: 'string', default: '64' },
    layers: { type: 'string', default: '4' },
    'd-model': { type: 'string', default: '64' },
    heads: { type: 'string', default: '4' },
    'real-tokens': { type: 'string', default: '64' },
    rounds: { type: 'string', default: '3' },
    'real-layers': { type: 'string', default: '6' },
    'real-d-model': { type: 'string', default: '768' },
    'real-heads': { type: 'string', default: '12' }
  }
})
const TOKENS = Number(values.tokens)
const DECODER = { layers: Number(values.layers), dModel: Number(values['d-model']), heads: Number(values.heads) }
/** the decoder the headline ratio is measured on: by default DistilGPT-2's transformer (6 layers × d768, 12 heads; a toy vocabulary of 256, so the weights are its blocks' ~42 M parameters) */
const REAL = { layers: Number(values['real-layers']), dModel: Number(values['real-d-model']), heads: Number(values['real-heads']) }
const REAL_TOKENS = Number(values['real-tokens'])
const ROUNDS = Number(values.rounds)
/** The median (of an even count, the mean of the middle two). */
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[m] as number : ((s[m - 1] as number) + (s[m] as number)) / 2
}
/** Mean step ms of the first and of the second half of the steps after the first. */
const halves = (ms: number[]): { early: number, late: number } => {
  const rest = ms.slice(1)
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
  return { early: round(mean(rest.slice(0, Math.floor(rest.length / 2))), 2), late: round(mean(rest.slice(Math.floor(rest.length / 2))), 2) }
}
const PROMPT = [1, 2, 3]
const KILL_AT = Math.min(20, Math.floor(TOKENS / 2))
const note = (msg: string): void => { if (process.env.BENCH_TRACE != null) console.error(new Date().toISOString(), msg) }
const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.max(0, Math.ceil(p / 100 * xs.length) - 1))] as number

/** A stepper that times each step, ms. */
function timed (stepper: { step: (inputs: WireTensor[]) => Promise<WireTensor[]> }, onStep?: (n: number) => Promise<void> | void): { step: (inputs: WireTensor[]) => Promise<WireTensor[]>, ms: number[] } {
  const ms: number[] = []
  return {
    ms,
    step: async (inputs) => {
      await onStep?.(ms.length)
      const t = performance.now()
      const out = await stepper.step(inputs)
      ms.push(performance.now() - t)
      return out
    }
  }
}

async function generate (stepper: { step: (inputs: WireTensor[]) => Promise<WireTensor[]> }, tokens = TOKENS): Promise<{ tokens: number[], seconds: number }> {
  const t = performance.now()
  const out: number[] = []
  for await (const token of generateTokens(stepper, { prompt: PROMPT, maxTokens: tokens })) out.push(token)
  return { tokens: out, seconds: (performance.now() - t) / 1000 }
}

/** Bytes of the whole KV cache in and out of one step at past length `past` (what a worker without state would be sent and send back). */
function wholeStateBytes (decoder: { layers: number, dModel: number }, past: number): number {
  const perPosition = decoder.layers * 2 * decoder.dModel * 4 // keys and values: heads × headDim = dModel floats per layer and position
  return past * perPosition + (past + 1) * perPosition
}

const sum = (c: Partial<InferCounters>): number => (c.inputBytesSent ?? 0) + (c.activationBytesSent ?? 0) + (c.resultBytesSent ?? 0)

type Stepper = { step: (inputs: WireTensor[]) => Promise<WireTensor[]> }

/**
 * A decoder run locally in this process (1 onnxruntime thread), the
 * reference its mesh runs are divided by: one onnxruntime session, warmed
 * by a whole generation, whose `fresh()` steppers each start a generation
 * from the initial state (the session stays warm from run to run, as the
 * stages' runner sessions do).
 */
interface Measured {
  decoder: { layers: number, dModel: number, heads: number }
  model: Uint8Array
  pairs: ReturnType<typeof decoderStatePairs>
  tokens: number
  /** a warm run: its tokens are the reference */
  run: { tokens: number[], seconds: number }
  stepP50: number
  stepP99: number
  fresh: () => Stepper
  close: () => Promise<void>
}

async function measureLocal (decoder: { layers: number, dModel: number, heads: number }, tokens: number): Promise<Measured> {
  const model = generateDecoder(decoder)
  const pairs = decoderStatePairs(decoder.layers)
  const session = await LocalSession.create(model, { intraOpNumThreads: 1 })
  const initial = decoderInitialState(decoder)
  const fresh = (): Stepper => {
    let state = initial
    return {
      step: async (inputs) => {
        const out = await session.run([...inputs, ...state])
        state = pairs.map(p => ({ ...(out.find(o => o.name === p.output) as WireTensor), name: p.input }))
        return out.filter(o => !pairs.some(p => p.output === o.name))
      }
    }
  }
  await generate(fresh(), tokens) // warm: the session's first runs
  const stepper = timed(fresh())
  const run = await generate(stepper, tokens)
  return { decoder, model, pairs, tokens, run, stepP50: pct(stepper.ms, 50), stepP99: pct(stepper.ms, 99), fresh, close: async () => { await session.release() } }
}

const loadBefore = loadavg()[0] as number

note('local')
const tiny = await measureLocal(DECODER, TOKENS)
const model = tiny.model
const pairs = tiny.pairs
const localRun = tiny.run
const localStepP50 = tiny.stepP50
note('local, realistic decoder')
const real = await measureLocal(REAL, REAL_TOKENS)

const root = await mkdtemp(join(tmpdir(), 'fleetmesh-bench-sessions-'))
let requester: MeshNode | undefined
const open: InferenceSession[] = []
try {
  note('runner call')
  // one decode step (1 new token, a KV cache of 16 positions) through a runner process against in-process onnxruntime: the runner's share of a stage's cost
  const store = await ModelStore.open(join(root, 'runner-store'))
  const stored = await store.put(model)
  const runtime = await createRuntime({ store, runners: 1, intraOpNumThreads: 1 })
  const past = decoderInitialState(DECODER).map(t => ({ ...t, dims: [1, DECODER.heads, 16, DECODER.dModel / DECODER.heads], data: new Float32Array(16 * DECODER.dModel) }))
  const feed: WireTensor[] = [{ name: 'input_ids', dtype: 'int64', dims: [1, 1], data: BigInt64Array.of(5n) }, ...past]
  const inProcess = await LocalSession.create(model, { intraOpNumThreads: 1 })
  const runnerMs: number[] = []
  const inProcessMs: number[] = []
  for (let i = 0; i < 105; i++) {
    let t = performance.now()
    await runtime.run(stored.cid, feed)
    if (i >= 5) runnerMs.push(performance.now() - t)
    t = performance.now()
    await inProcess.run(feed)
    if (i >= 5) inProcessMs.push(performance.now() - t)
  }
  await inProcess.release()
  const runnerCall = { runnerMsP50: round(pct(runnerMs, 50), 2), inProcessMsP50: round(pct(inProcessMs, 50), 2), overheadMsP50: round(pct(runnerMs, 50) - pct(inProcessMs, 50), 2) }

  note('state in the runner')
  // one stage of the realistic decoder cut in 2 (half its layers), stepped from a KV cache of STATE_PAST positions:
  // the state passed through the runner's exchange each call (in and out, as workers did before) against kept in the runner (RunOptions.state)
  const STATE_PAST = 128
  const half = { ...REAL, layers: Math.max(1, Math.floor(REAL.layers / 2)) }
  const halfStored = await store.put(generateDecoder(half))
  const halfPairs = decoderStatePairs(half.layers)
  const startState = decoderInitialState(half).map(t => ({ ...t, dims: [1, half.heads, STATE_PAST, half.dModel / half.heads], data: new Float32Array(STATE_PAST * half.dModel) }))
  const token: WireTensor = { name: 'input_ids', dtype: 'int64', dims: [1, 1], data: BigInt64Array.of(5n) }
  const passedMs: number[] = []
  const keptMs: number[] = []
  const computeMs: number[] = []
  let passed: WireTensor[] = startState
  for (let i = 0; i < 25; i++) {
    const t = performance.now()
    const r = await runtime.run(halfStored.cid, [token, ...passed])
    if (i >= 5) { passedMs.push(performance.now() - t); computeMs.push(r.computeMs) }
    passed = halfPairs.map(p => ({ ...(r.outputs.find(o => o.name === p.output) as WireTensor), name: p.input }))
  }
  for (let i = 0; i < 25; i++) {
    const t = performance.now()
    await runtime.run(halfStored.cid, i === 0 ? [token, ...startState] : [token], { state: { key: 'bench', pairs: halfPairs } })
    if (i >= 5) keptMs.push(performance.now() - t)
  }
  await runtime.stop()
  const stateInRunner = {
    stage: `generateDecoder ${half.layers} layers x d${half.dModel} (one stage of the realistic decoder in 2)`,
    pastPositions: `${STATE_PAST}..${STATE_PAST + 25}`,
    stateBytesEachWay: STATE_PAST * half.layers * 2 * half.dModel * 4,
    statePassedMsP50: round(pct(passedMs, 50), 2),
    stateKeptMsP50: round(pct(keptMs, 50), 2),
    computeMsP50: round(pct(computeMs, 50), 2)
  }

  const keys = await createFleetKeys()
  const { authority, swarmKey } = keys
  const { privateKey, certificate, peerId } = await createTestIdentity(authority, { role: 'station' })
  // the requester spends from a grant every worker knows of (the ledger's requireFunds): workers add the fleet's grants at start
  const grant = await createTestGrant(authority, peerId.toString())
  keys.grants = () => [grant]
  requester = await createMeshNode({
    role: 'station',
    region: 'u33d',
    privateKey,
    swarmKey,
    trustedAuthorities: [authority.publicKey],
    certificate,
    ledger: { grants: [grant] },
    listen: [loopbackListen()],
    modelStore: { dir: join(root, 'requester') },
    market: { bidWindowMs: 1000 },
    gossip: loopbackGossip()
  })
  const boot = requester.getMultiaddrs().map(String)
  const workers: Array<ForkedNode<{ peerId: string }>> = []
  const startWorker = async (i: number): Promise<void> => {
    const file = join(root, `worker-${i}.json`)
    // distinct prices: each session's auction puts stage k on the same worker as the session before (a worker that has run that stage: warm)
    const config: SessionsWorkerConfig = { ...serializeIdentity(await createTestIdentity(authority, { role: 'station' }), keys), bootstrap: boot, listen: loopbackListen(), storeDir: join(root, `worker-${i}`), threads: 1, price: 1 + i / 4 }
    await writeFile(file, JSON.stringify(config))
    workers.push(await forkNode(new URL('./sessions-worker.js', import.meta.url), { args: [file], execArgv: [], readyTimeoutMs: 120_000, name: 'sessions worker' }))
  }
  /** the gossip mesh takes in the workers started */
  const settle = async (): Promise<void> => {
    await requester?.announced()
    await new Promise(resolve => setTimeout(resolve, 2000))
  }

  const workerBytes = async (): Promise<number> => {
    const answers = await Promise.all(workers.filter(w => w.child.exitCode == null && w.child.signalCode == null).map(async w => new Promise<number>(resolve => {
      const onMessage = (m: any): void => { if (m?.type === 'counters') { w.child.off('message', onMessage); resolve(sum(m.counters)) } }
      w.child.on('message', onMessage)
      w.send({ type: 'counters' })
      setTimeout(() => { w.child.off('message', onMessage); resolve(0) }, 5000)
    })))
    return answers.reduce((a, b) => a + b, 0)
  }

  /** (stages, stage, worker) of every stage a worker has run a whole generation of: a run on those only is warm */
  const served = new Set<string>()
  const stageKey = (stages: number, m: Measured, l: { stage: number, worker: string }): string => `${m.decoder.layers}x${m.decoder.dModel}/${stages}/${l.stage}/${l.worker}`
  /**
   * Warm, then side by side: a whole generation on a first session (the
   * stage models fetched and loaded, their runner sessions run), then
   * ROUNDS rounds of one local generation and one on a fresh session; the
   * figures are the medians of the warm rounds (all rounds if none was).
   */
  const sideBySide = async (stages: number, m: Measured): Promise<Record<string, unknown>> => {
    note(`mesh ${stages} stages, ${m.decoder.layers} x d${m.decoder.dModel}`)
    const warm = await requester!.openSession({ model: m.model, stages, state: m.pairs, maxPrice: 10 })
    open.push(warm)
    await generate({ step: async inputs => warm.step(inputs) }, m.tokens).catch(() => {})
    for (const l of warm.leases) served.add(stageKey(stages, m, l))
    await warm.close()
    const rounds: Array<Record<string, any>> = []
    for (let r = 0; r < ROUNDS; r++) {
      const local = timed(m.fresh())
      const localRun = await generate(local, m.tokens)
      const measured = await requester!.openSession({ model: m.model, stages, state: m.pairs, maxPrice: 10 })
      open.push(measured)
      const warmStages = measured.leases.every(l => served.has(stageKey(stages, m, l)))
      const before = sum({ ...requester!.libp2p.services.inference?.counters }) + await workerBytes()
      const stepper = timed(measured)
      const run = await generate(stepper, m.tokens)
      const bytes = sum({ ...requester!.libp2p.services.inference?.counters }) + await workerBytes() - before
      for (const l of measured.leases) served.add(stageKey(stages, m, l))
      const workers = new Set(measured.leases.map(l => l.worker)).size
      await measured.close()
      const wholeState = stepper.ms.map((_, i) => wholeStateBytes(m.decoder, i === 0 ? 0 : PROMPT.length + i - 1)).reduce((a, b) => a + b, 0) / stepper.ms.length
      rounds.push({
        warm: warmStages,
        workers,
        tokensEqualLocal: JSON.stringify(run.tokens) === JSON.stringify(m.run.tokens) && JSON.stringify(localRun.tokens) === JSON.stringify(m.run.tokens),
        localTokensPerSec: round(m.tokens / localRun.seconds, 1),
        tokensPerSec: round(m.tokens / run.seconds, 1),
        tokensPerSecOverLocal: round(localRun.seconds / run.seconds),
        // the decode rate after the prompt's step (the first step also pays the prompt's positions)
        steadyTokensPerSecOverLocal: round(local.ms.slice(1).reduce((a, b) => a + b, 0) / stepper.ms.slice(1).reduce((a, b) => a + b, 0)),
        // first: the prompt's step; early / late: the means of the steps of the first and the second half after it (how each side's step grows with the KV cache)
        localStepMs: { p50: round(pct(local.ms, 50), 2), p99: round(pct(local.ms, 99), 2), first: round(local.ms[0] ?? Number.NaN, 1), ...halves(local.ms) },
        stepMs: { p50: round(pct(stepper.ms, 50), 2), p99: round(pct(stepper.ms, 99), 2), first: round(stepper.ms[0] ?? Number.NaN, 1), ...halves(stepper.ms) },
        stepOverheadMsPerHop: round((pct(stepper.ms, 50) - pct(local.ms, 50)) / (stages + 1), 2),
        wireBytesPerStep: Math.round(bytes / stepper.ms.length),
        wholeStateBytesPerStep: Math.round(wholeState)
      })
    }
    const counted = rounds.some(r => r.warm === true) ? rounds.filter(r => r.warm === true) : rounds
    const mid = (f: (r: Record<string, any>) => number): number => round(median(counted.map(f)), 3)
    return {
      stages,
      decoder: `${m.decoder.layers} layers x d${m.decoder.dModel}, ${m.decoder.heads} heads, vocab 256 (${Math.round(m.model.byteLength / 1e6)} MB)`,
      tokens: m.tokens,
      warmRounds: rounds.filter(r => r.warm === true).length,
      tokensEqualLocal: rounds.every(r => r.tokensEqualLocal === true),
      tokensPerSecOverLocal: mid(r => r.tokensPerSecOverLocal),
      steadyTokensPerSecOverLocal: mid(r => r.steadyTokensPerSecOverLocal),
      stepMs: { p50: mid(r => r.stepMs.p50), p99: mid(r => r.stepMs.p99) },
      localStepMs: { p50: mid(r => r.localStepMs.p50) },
      firstStepMs: mid(r => r.stepMs.first),
      localFirstStepMs: mid(r => r.localStepMs.first),
      stepOverheadMsPerHop: mid(r => r.stepOverheadMsPerHop),
      wireBytesPerStep: mid(r => r.wireBytesPerStep),
      wholeStateBytesPerStep: mid(r => r.wholeStateBytesPerStep),
      wireOverWholeState: round(mid(r => r.wireBytesPerStep) / mid(r => r.wholeStateBytesPerStep), 4),
      rounds
    }
  }
  // the realistic decoder first, on as many workers as stages (each worker then serves the same stage in every round)
  await startWorker(0)
  await startWorker(1)
  await settle()
  note('runs on the realistic decoder')
  const realTwo = await sideBySide(2, real)
  await startWorker(2)
  await settle()
  const realThree = await sideBySide(3, real)
  // one spare to replace the worker killed in the recovery run
  await startWorker(3)
  await settle()
  const one = await sideBySide(1, tiny)
  const two = await sideBySide(2, tiny)
  const three = await sideBySide(3, tiny)
  // step p50 against the stage count: the slope is what each further stage (a hop and a worker's runner call) adds
  const fit = [one, two, three].map(r => ({ k: r.stages as number, ms: (r.stepMs as { p50: number }).p50 }))
  const mk = fit.reduce((a, r) => a + r.k, 0) / fit.length
  const mm = fit.reduce((a, r) => a + r.ms, 0) / fit.length
  const perStageMs = fit.reduce((a, r) => a + (r.k - mk) * (r.ms - mm), 0) / fit.reduce((a, r) => a + (r.k - mk) ** 2, 0)

  note('recovery')
  const session = await requester.openSession({ model, stages: 2, state: pairs, maxPrice: 10 })
  open.push(session)
  const events: Array<SessionProgress & { seen: number }> = []
  session.addEventListener('progress', (e) => { events.push({ ...e.detail, seen: performance.now() }) })
  let killedAt = 0
  const recovery = timed(session, async (n) => {
    if (n !== KILL_AT) return
    const victim = session.leases.find(l => l.stage === 1)?.worker
    const w = workers.find(x => x.ready.peerId === victim)
    killedAt = performance.now()
    await w?.kill()
  })
  const recovered = await generate(recovery)
  const rec = events.find(e => e.type === 'recovered') as (SessionProgress & { type: 'recovered', seen: number }) | undefined
  const lost = events.find(e => e.type === 'worker-lost')
  const summary = await session.close()
  const recoveryMs = rec != null ? rec.seen - killedAt : Number.NaN
  await tiny.close()
  await real.close()
  const replayComputeMs = localStepP50 * (rec?.replayed ?? 0)
  const loadAfter = loadavg()[0] as number

  console.log(JSON.stringify({
    bench: 'sessions',
    date: new Date().toISOString(),
    node: process.version,
    load1: { before: round(loadBefore, 2), after: round(loadAfter, 2) },
    model: { kind: 'generateDecoder', ...DECODER, vocab: 256, bytes: model.byteLength },
    tokens: TOKENS,
    prompt: PROMPT,
    rounds: ROUNDS,
    local: { tokensPerSec: round(TOKENS / localRun.seconds, 1), stepMs: { p50: round(localStepP50, 2), p99: round(tiny.stepP99, 2) }, threads: 1 },
    mesh: [one, two, three],
    realistic: {
      model: { kind: 'generateDecoder', like: 'DistilGPT-2 transformer (6 x d768, 12 heads) with a toy vocabulary', ...REAL, vocab: 256, bytes: real.model.byteLength },
      tokens: REAL_TOKENS,
      local: { tokensPerSec: round(REAL_TOKENS / real.run.seconds, 1), stepMs: { p50: round(real.stepP50, 2), p99: round(real.stepP99, 2) }, threads: 1 },
      mesh: [realTwo, realThree]
    },
    stepMsPerExtraStage: round(perStageMs, 2),
    runnerCall,
    stateInRunner,
    recovery: {
      stages: 2,
      killedAtToken: KILL_AT,
      detectedMs: lost != null ? round((lost as any).seen - killedAt, 1) : null,
      recoveryMs: round(recoveryMs, 1),
      replayed: rec?.replayed ?? null,
      replayComputeMs: round(replayComputeMs, 1),
      stepSpanningRecoveryMs: round(recovery.ms[KILL_AT] ?? Number.NaN, 1),
      tokensEqualUninterrupted: JSON.stringify(recovered.tokens) === JSON.stringify(localRun.tokens),
      summary
    },
    figures: {
      // the headline ratio, on the realistic decoder (REAL_TOKENS tokens, 2 and 3 stages, warm, side by side); the tiny decoder's (a step of a fraction of a ms: a measure of per-step network cost) follows as tiny*
      tokensPerSecOverLocal: realTwo.tokensPerSecOverLocal,
      tokensPerSecOverLocal3Stages: realThree.tokensPerSecOverLocal,
      tokensPerSecOverLocalModel: realTwo.decoder,
      tokensPerSecOverLocalTokens: REAL_TOKENS,
      tokensPerSecOverLocalWarmRounds: `${realTwo.warmRounds as number}/${ROUNDS} (3 stages ${realThree.warmRounds as number}/${ROUNDS})`,
      steadyTokensPerSecOverLocalRealistic: realTwo.steadyTokensPerSecOverLocal,
      stepOverheadMsPerHopRealistic: realTwo.stepOverheadMsPerHop,
      stepOverheadMsPerHopRealistic3Stages: realThree.stepOverheadMsPerHop,
      firstStepMsRealistic: realTwo.firstStepMs,
      localFirstStepMsRealistic: realTwo.localFirstStepMs,
      tinyTokensPerSecOverLocal: two.tokensPerSecOverLocal,
      tinyTokensPerSecOverLocal3Stages: three.tokensPerSecOverLocal,
      tinySteadyTokensPerSecOverLocal: two.steadyTokensPerSecOverLocal,
      firstStepMs: two.firstStepMs,
      stepOverheadMsPerHop: two.stepOverheadMsPerHop,
      stepOverheadMsPerHop3Stages: three.stepOverheadMsPerHop,
      stepMsPerExtraStage: round(perStageMs, 2),
      runnerCallOverheadMs: runnerCall.overheadMsP50,
      // a stage step at 128+ positions: the KV cache through the runner's exchange each call (before) against kept in the runner (now)
      stageStepStatePassedMs: stateInRunner.statePassedMsP50,
      stageStepStateKeptMs: stateInRunner.stateKeptMsP50,
      wireBytesPerStep: two.wireBytesPerStep,
      wholeStateBytesPerStep: two.wholeStateBytesPerStep,
      recoveryMs: round(recoveryMs, 1),
      recoveryBudgetMs: round(2000 + replayComputeMs, 1)
    }
  }, null, 2))
} finally {
  for (const s of open) await s.close().catch(() => {})
  await killChildProcesses()
  await requester?.stop()
  // a store write that the stop let finish can race the removal (ENOTEMPTY): retry it
  await rm(root, { recursive: true, force: true, maxRetries: 5 })
}
