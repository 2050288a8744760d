import { decodeReceipt, isSampled, outputDigest, tensorsClose, toHex } from '@fleetmesh/ledger'
import { PIPELINE_CHECK_TIMEOUT_MS } from './constants.js'
import { SessionError } from './errors.js'
import { judgeSpotCheck } from './spot-check.js'
import type { InferChannel } from './infer-channel.js'
import type { ActiveLease, DispatchContext, HeldReceipt, Sampling, Verification } from './job.js'
import type { StageFeed } from './pipeline-plan.js'
import type { Ledger, VerifiedReceipt } from '@fleetmesh/ledger'
import type { WireTensor } from '@fleetmesh/protocol'
import type { Stage } from '@fleetmesh/runtime'

/**
 * Pipeline spot checks, run once every micro-batch of a generation has a
 * result and before any lease is finished: a sample of micro-batches
 * (each at the highest adaptive rate of the workers of its stages, drawn
 * with the requester's secret seed) is run again, stage by stage, each
 * stage on the worker of the next stage (a worker that did not run it),
 * fed the same stage inputs: the job's inputs for stage 0, then the
 * outputs that agreed at the previous stage plus the stage's own batched
 * graph inputs. Each check is judged by `judgeSpotCheck` on the stage's
 * output: quantised digests for a middle stage (the signed receipts'),
 * `tensorsClose` on the tensors for the last. A disagreement is decided by
 * the requester's own run of that stage; the minority worker is caught.
 *
 * Every output was committed (sent, and signed in a micro-batch receipt)
 * before any check starts, so nothing a worker sees while the pipeline
 * runs tells it which micro-batches will be checked.
 */

/** What the checks need from the pipeline dispatcher. */
export interface PipelineCheckContext {
  ctx: DispatchContext
  ledger: Ledger
  stages: Stage[]
  feeds: StageFeed[]
  /** the generation's leases, by stage */
  byStage: ActiveLease[]
  /** the micro-batch receipt the generation's stage `stage` sent for `seq` */
  receiptOf: (stage: number, seq: number) => HeldReceipt | undefined
  /** micro-batches whose results this generation produced */
  seqs: number[]
  sampling: Sampling
  verification: Verification
  /** opens a check session of stage `stage` on `lease` (it replaces the lease's pipeline session) */
  openCheck: (lease: ActiveLease, stage: number) => Promise<InferChannel>
  /** a checker's receipt whose output agreed: it is paid */
  pay: (h: HeldReceipt) => void
}

/** A worker caught by a pipeline check. */
export interface PipelineCatch {
  worker: string
  /** its lease in the checked generation */
  lease: ActiveLease
  seq: number
  stage: number
  reason: string
}

/** One opinion on a stage's output: its digest (hex) and, for the last stage, its tensors. */
interface Opinion { digest: string, tensors?: WireTensor[] }

const agree = (a: Opinion, b: Opinion): boolean => a.digest === b.digest || (a.tensors != null && b.tensors != null && tensorsClose(a.tensors, b.tensors))

/** Sends `frames` on a check session and reads one result per seq: outputs and the checker's receipt. */
async function runChecks (channel: InferChannel, frames: Array<{ seq: number, items: number, inputs: WireTensor[] }>): Promise<Map<number, { outputs: WireTensor[], receipt: Uint8Array }>> {
  const out = new Map<number, { outputs: WireTensor[], receipt: Uint8Array }>()
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((resolve, reject) => { timer = setTimeout(() => { reject(new SessionError(`pipeline check not answered within ${PIPELINE_CHECK_TIMEOUT_MS} ms`)) }, PIPELINE_CHECK_TIMEOUT_MS) })
  try {
    while (true) {
      const m = await Promise.race([channel.next(), timeout])
      if (m == null) throw new SessionError('the checker closed its stream before it was ready')
      if (m.error != null) throw new SessionError(`the checker failed: ${m.error.message}`)
      if (m.ready != null) break
    }
    for (const f of frames) channel.send({ data: { seq: f.seq, tensors: new Uint8Array(), more: false, items: f.items, stageComputeMs: [] } }, f.inputs).catch(() => {})
    while (out.size < frames.length) {
      const m = await Promise.race([channel.next(), timeout])
      if (m == null) throw new SessionError('the checker closed its stream')
      if (m.error != null) throw new SessionError(`the checker failed: ${m.error.message}`)
      if (m.result != null) out.set(m.result.seq, { outputs: m.payload ?? [], receipt: m.result.receipt })
    }
    return out
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Runs the spot checks of one generation (see the module docs). Resolves
 * with the first worker caught, or undefined when every check agreed or
 * could not decide (a checker failed, inputs that do not match the
 * receipt, no majority).
 */
export async function checkPipeline (pc: PipelineCheckContext): Promise<PipelineCatch | undefined> {
  const { ctx, stages, feeds, byStage, sampling, verification } = pc
  const K = stages.length
  const workers = byStage.map(l => l.worker.toString())
  const rate = Math.max(...workers.map(w => sampling.rate(w)))
  const sampled = pc.seqs.filter(seq => isSampled(ctx.jobId, seq, rate, sampling.seed))
  if (sampled.length === 0) return undefined
  const check = async (bytes: Uint8Array): Promise<VerifiedReceipt> => pc.ledger.checkWorkerReceipt(decodeReceipt(bytes))
  /** the outputs that agreed at the previous stage, by seq: the next stage's activations */
  let previous = new Map<number, WireTensor[]>()
  let chain = sampled
  for (let k = 0; k < K && chain.length > 0; k++) {
    const mine = byStage[k] as ActiveLease
    const checker = byStage[(k + 1) % K]?.worker.toString() !== workers[k] ? byStage[(k + 1) % K] as ActiveLease : byStage.find(l => l.worker.toString() !== workers[k])
    if (checker == null) return undefined
    const feed = feeds[k] as StageFeed
    const inputsOf = (seq: number): WireTensor[] => {
      const range = ctx.batches[seq] as [number, number]
      const batched = ctx.batchTensors(range, feed.batched)
      return k === 0 ? batched : [...(previous.get(seq) ?? []), ...batched]
    }
    let results: Map<number, { outputs: WireTensor[], receipt: Uint8Array }>
    try {
      const channel = await pc.openCheck(checker, k)
      results = await runChecks(channel, chain.map(seq => { const r = ctx.batches[seq] as [number, number]; return { seq, items: r[1] - r[0], inputs: inputsOf(seq) } }))
    } catch (err: any) {
      ctx.log('pipeline check of %s stage %d on %p failed - %s', ctx.jobId, k, checker.worker, err?.message ?? err)
      return undefined
    }
    const next = new Map<number, WireTensor[]>()
    const still: number[] = []
    const last = k === K - 1
    for (const seq of chain) {
      const held = pc.receiptOf(k, seq)
      const got = results.get(seq)
      if (held == null || got == null || got.receipt.byteLength === 0) continue
      const [theirs, ours] = await Promise.all([check(held.bytes), check(got.receipt)]).catch(() => [undefined, undefined])
      // the check means something only on the inputs the stage's worker signed for
      if (theirs == null || ours == null || theirs.inputDigest !== ours.inputDigest) continue
      verification.checked.add(seq)
      const opinions: Array<[string, Opinion]> = [
        [workers[k] as string, { digest: theirs.outputDigest, tensors: last ? ctx.results.get(seq) : undefined }],
        [checker.worker.toString(), { digest: ours.outputDigest, tensors: last ? got.outputs : undefined }]
      ]
      let verdict = judgeSpotCheck(opinions, agree)
      let local: Uint8Array | undefined
      if (verdict.state === 'disputed') {
        ctx.emit({ type: 'verified', jobId: ctx.jobId, seq, workers: verdict.workers, agreed: false, at: Date.now() })
        try {
          const run = await ctx.runLocal(seq, { cid: (stages[k] as Stage).cid, inputs: inputsOf(seq) })
          local = run.receipt
          const digest = toHex(outputDigest(run.outputs))
          opinions.push([ctx.self, { digest, tensors: last ? run.outputs : undefined }])
          verdict = judgeSpotCheck(opinions, agree)
        } catch (err: any) {
          ctx.log('local run of %s stage %d micro-batch %d failed - %s', ctx.jobId, k, seq, err?.message ?? err)
          continue
        }
      }
      ctx.metrics?.verifications.increment({ [verdict.state === 'no-majority' ? 'no_majority' : verdict.state]: true })
      if (verdict.state === 'agreed') {
        ctx.emit({ type: 'verified', jobId: ctx.jobId, seq, workers: verdict.workers, agreed: true, at: Date.now() })
        pc.pay({ seq, stage: k, worker: checker.worker.toString(), leaseId: checker.leaseId, items: held.items, pricePerItem: ctx.pricePerItem(checker), bytes: got.receipt })
        next.set(seq, got.outputs)
        still.push(seq)
        continue
      }
      if (verdict.state !== 'caught') continue
      ctx.emit({ type: 'verified', jobId: ctx.jobId, seq, workers: verdict.workers, agreed: false, at: Date.now() })
      const bytesOf = (w: string): Uint8Array | undefined => w === workers[k] ? held.bytes : w === checker.worker.toString() ? got.receipt : w === ctx.self ? local : undefined
      const accused = bytesOf(verdict.loser)
      const w1 = bytesOf(verdict.witnesses[0])
      const w2 = bytesOf(verdict.witnesses[1])
      if (accused != null && w1 != null && w2 != null) verification.mismatches.push({ accused, witnesses: [w1, w2] })
      const reason = `output of stage ${k} for micro-batch ${seq} disagrees with ${verdict.witnesses.includes(ctx.self) ? 'another worker and the requester\'s own run' : 'two other workers'}`
      verification.caught.set(verdict.loser, { seq, reason })
      ctx.emit({ type: 'worker-rejected', jobId: ctx.jobId, worker: verdict.loser, seq, reason, at: Date.now() })
      const lease = verdict.loser === workers[k] ? mine : checker
      return { worker: verdict.loser, lease, seq, stage: k, reason }
    }
    previous = next
    chain = still
  }
  return undefined
}
