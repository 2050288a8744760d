/**
 * Job timing for the testnet: a mesh job's compute time from its progress
 * events beside the same model run locally, so the demo shows what the
 * mesh costs over one machine.
 */
import { availableParallelism } from 'node:os'
import { LocalSession } from '@fleetmesh/runtime'
import type { WireTensor } from '@fleetmesh/protocol'

/** A progress event as the daemon's job view lists it (only the fields read here). */
interface ProgressEvent { type: string, at: number }

/**
 * Collects a job's progress events across polls of its view (the view keeps
 * only the newest events, so an early award may have left it by the end):
 * feed every view's `events` to {@link JobClock.see}.
 */
export class JobClock {
  /** first `awarded` event, ms since the epoch */
  firstAwardAt?: number
  /** first `shard-started` event (the first micro-batch sent), ms since the epoch */
  firstSentAt?: number
  /** last `shard-finished` event, ms since the epoch */
  lastResultAt?: number

  see (events: ProgressEvent[]): void {
    for (const e of events) {
      if (e.type === 'awarded' && (this.firstAwardAt == null || e.at < this.firstAwardAt)) this.firstAwardAt = e.at
      if (e.type === 'shard-started' && (this.firstSentAt == null || e.at < this.firstSentAt)) this.firstSentAt = e.at
      if (e.type === 'shard-finished' && (this.lastResultAt == null || e.at > this.lastResultAt)) this.lastResultAt = e.at
    }
  }

  /** mesh compute time: first award to last result, ms (undefined until both were seen) */
  get computeMs (): number | undefined {
    return this.firstAwardAt != null && this.lastResultAt != null ? this.lastResultAt - this.firstAwardAt : undefined
  }

  /** first award to the first micro-batch sent (workers fetching and loading the model), ms */
  get startMs (): number | undefined {
    return this.firstAwardAt != null && this.firstSentAt != null ? this.firstSentAt - this.firstAwardAt : undefined
  }
}

/** Item 0 of each input along axis 0: a warm-up batch. */
function firstItem (inputs: WireTensor[]): WireTensor[] {
  return inputs.map(t => {
    const per = t.dims.slice(1).reduce((a, b) => a * b, 1)
    return { ...t, dims: [1, ...t.dims.slice(1)], data: t.data.subarray(0, per) as any }
  })
}

/**
 * Runs `model` on `inputs` in this process with onnxruntime (runtime's
 * `LocalSession`) with one intra-op thread per core, after a one-item
 * warm-up; ms of the timed run (session creation and warm-up excluded).
 *
 * @param threads - onnxruntime intra-op threads @default the machine's cores (`os.availableParallelism()`)
 */
export async function localComputeMs (model: Uint8Array, inputs: WireTensor[], threads = availableParallelism()): Promise<{ ms: number, threads: number }> {
  const session = await LocalSession.create(model, { intraOpNumThreads: threads })
  try {
    await session.run(firstItem(inputs))
    const t = performance.now()
    await session.run(inputs)
    return { ms: performance.now() - t, threads }
  } finally {
    await session.release()
  }
}

/** The testnet's line for a job: mesh compute (from `clock`), the local run, their ratio against the goal, and the start-up part of the mesh time. */
export function timingLine (what: string, clock: JobClock, local: { ms: number, threads: number }, goal = MESH_OVER_LOCAL_GOAL): string {
  const localMs = Math.max(1, Math.round(local.ms))
  const meshMs = clock.computeMs
  if (meshMs == null) return `  ${what}: mesh compute time unknown (no award or no result event seen); local ${localMs} ms`
  const start = clock.startMs != null ? `; ${clock.startMs} ms of it before the first micro-batch (model fetch and load)` : ''
  return `  ${what}: mesh compute ${meshMs} ms (first award to last result) vs ${localMs} ms local (onnxruntime, ${local.threads} threads, this process): ${(meshMs / localMs).toFixed(2)}x (goal <= ${goal}x)${start}`
}

/** The mesh should take at most this × the local run of the same job (the demo's goal). */
export const MESH_OVER_LOCAL_GOAL = 1.3
