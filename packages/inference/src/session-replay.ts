import { SessionError } from './errors.js'
import { tensorBytes } from './session-plan.js'
import type { WireTensor } from '@fleetmesh/protocol'

/**
 * What a session's requester keeps to rebuild a lost stage: every step's
 * inputs since the last complete snapshot (bounded by `maxSteps` steps and
 * `maxBytes` bytes), and that snapshot (every stage's state after
 * `snapshot.steps` steps). Half full, it asks the stages for a snapshot,
 * whose arrival restarts the log. Plain data; no network.
 */
export class ReplayLog {
  /** step inputs since `from`, in order */
  private recorded: WireTensor[][] = []
  /** the step `recorded[0]` is */
  private from = 0
  /** bytes of `recorded` */
  private bytes = 0
  /** the step that last asked for a snapshot since the log restarted */
  private asked?: number
  /** the last complete snapshot: every stage's state after `steps` steps */
  snapshot?: { steps: number, state: WireTensor[][] }
  /** snapshot parts arriving, by the step they follow (cleared when a generation is dropped) */
  readonly parts = new Map<number, WireTensor[][]>()

  /**
   * @param stages - the session's stage count
   * @param maxSteps - most steps the log holds (SessionInit.maxReplaySteps)
   * @param maxBytes - most bytes of step inputs it holds (SessionInit.maxReplayBytes)
   * @param snapshotEvery - a snapshot every this many steps, 0 for none but the half-full ones
   */
  constructor (private readonly stages: number, private readonly maxSteps: number, private readonly maxBytes: number, private readonly snapshotEvery: number) {}

  /** steps recorded since the snapshot */
  get length (): number { return this.recorded.length }

  /** The recorded inputs of step `seq` (one since the snapshot). */
  inputsOf (seq: number): WireTensor[] {
    return this.recorded[seq - this.from] as WireTensor[]
  }

  /** Records the inputs of the step that just ran (`bytes`: their size). */
  record (inputs: WireTensor[], bytes: number): void {
    this.recorded.push(inputs)
    this.bytes += bytes
  }

  /** @throws SessionError ERR_SESSION_REPLAY_LIMIT when recording step `seq` of `bytes` would overfill the log */
  check (sessionId: string, seq: number, bytes: number): void {
    const steps = this.recorded.length + 1
    const total = this.bytes + bytes
    if (steps <= this.maxSteps && total <= this.maxBytes) return
    throw new SessionError(`session ${sessionId}: its replay log holds ${this.recorded.length} steps (${this.bytes} bytes) since ${this.snapshot != null ? `the snapshot after step ${this.snapshot.steps - 1}` : 'the start'}, and step ${seq} (${bytes} bytes) would pass its most (${this.maxSteps} steps, ${this.maxBytes} bytes): no snapshot restarted it (a stage's state is over its worker's frame limit); set a smaller snapshotEvery or a larger maxReplaySteps / maxReplayBytes`, { code: 'ERR_SESSION_REPLAY_LIMIT' })
  }

  /** True if step `seq` asks the stages for a snapshot: every `snapshotEvery` steps, and once the log is half full (again every quarter of it while none completes). */
  wantsSnapshot (seq: number, bytes: number): boolean {
    if (this.snapshotEvery > 0 && (seq + 1) % this.snapshotEvery === 0) return true
    const steps = this.recorded.length + 1
    const half = steps >= Math.ceil(this.maxSteps / 2) || this.bytes + bytes >= this.maxBytes / 2
    if (!half) return false
    if (this.asked != null && seq - this.asked < Math.max(1, Math.floor(this.maxSteps / 4))) return false
    this.asked = seq
    return true
  }

  /** A stage's state after step `step`; once every stage's is in, it is the snapshot and older step inputs are dropped. */
  part (stage: number, step: number, state: WireTensor[]): void {
    let parts = this.parts.get(step)
    if (parts == null) { parts = []; this.parts.set(step, parts) }
    parts[stage] = state
    if (parts.filter(x => x != null).length < this.stages) return
    // parts of older snapshots a stage never completed (its state was over its frame limit) are dropped with this one
    for (const s of [...this.parts.keys()]) if (s <= step) this.parts.delete(s)
    const steps = step + 1
    if (this.snapshot != null && this.snapshot.steps >= steps) return
    this.snapshot = { steps, state: parts }
    this.recorded = this.recorded.slice(steps - this.from)
    this.bytes = this.recorded.reduce((n, t) => n + tensorBytes(t), 0)
    this.from = steps
    this.asked = undefined
  }
}
