import { FleetmeshError } from '@fleetmesh/protocol'

export { JobCancelledError } from '@fleetmesh/market'

/** Job inputs do not fit the model: names, dtypes, shapes, batch axes or batch. */
export class JobInputError extends FleetmeshError {
  override readonly name = 'JobInputError'
  readonly code = 'ERR_JOB_INPUT'
}

/** A sampler spec that cannot sample: an unknown kind, k < 1, a seed that is not an integer, a temperature <= 0. */
export class SamplerError extends FleetmeshError {
  override readonly name = 'SamplerError'
  readonly code = 'ERR_SAMPLER'
}

/** A generation that cannot run: an empty prompt, a bad token count, a step without the logits output. */
export class GenerationError extends FleetmeshError {
  override readonly name = 'GenerationError'
  readonly code = 'ERR_GENERATION'
}

/** A step on a session that was closed. */
export class SessionClosedError extends FleetmeshError {
  override readonly name = 'SessionClosedError'
  readonly code = 'ERR_SESSION_CLOSED'
}

/** A worker could not run a shard, or a stream of the execution protocol failed. */
export class InferenceError extends FleetmeshError {
  override readonly name = 'InferenceError'
  readonly code = 'ERR_INFERENCE'
}

/** Where a job failure happened: the worker and its lease, and the stage (pipeline) or shard (data). */
export interface FailureSite {
  /** worker PeerId string */
  worker: string
  leaseId: string
  /** pipeline stage index */
  stage?: number
  /** data-parallel micro-batch seq */
  seq?: number
}

/**
 * The error a worker code stands for, rebuilt at the requester with the
 * same `name` and `code` so callers can tell a too-large model from bad
 * inputs (`err.name === 'ModelTooLargeError'`).
 */
export class RemoteError extends FleetmeshError {
  override readonly name: string
  readonly code: string
  readonly site: FailureSite

  constructor (name: string, code: string, message: string, site: FailureSite) {
    super(message)
    this.name = name
    this.code = code
    this.site = site
  }
}

/**
 * Codes of {@link SessionError}:
 * - `ERR_SESSION`: a worker-side lease session problem the requester can recover from by giving the shard to another worker (no live lease for the stream, a feed from a stage that went away, a stream that broke)
 * - `ERR_SESSION_LIMIT`: the worker already serves its most stateful sessions (another worker may have room)
 * - `ERR_SESSION_IDLE`: the worker freed a session stage that received no step for its idle timeout
 * - `ERR_SESSION_BUSY`: a step arrived while the stage still ran one (one step in flight per session)
 * - `ERR_SESSION_STEP`: a step arrived out of order
 * - `ERR_SESSION_FEED`: a stage's feed from the stage before broke (that worker went away, or sent garbage): the requester rebuilds the session and finds out which worker is gone
 * - `ERR_SESSION_STATE`: the state pairs do not fit the model (unknown tensor, a pair split across stages, a missing state output)
 * - `ERR_SESSION_STATE_TOO_LARGE`: a stage's state grew past the worker's limit
 * - `ERR_SESSION_INPUT`: a step's inputs do not fit the model (a state input sent, one missing or unknown)
 * - `ERR_SESSION_STAGE_FAILED`: a stage could not run a step; `cause` is the worker's error (its `name` and `code` as thrown there)
 * - `ERR_SESSION_RECOVERY`: workers were lost more often than the session recovers from
 * - `ERR_SESSION_REPLAY_LIMIT`: the requester's replay log (the step inputs since the last snapshot) is full and no snapshot could restart it (a stage's state is over its worker's frame limit): set a smaller `snapshotEvery` or a larger `maxReplaySteps` / `maxReplayBytes`
 * - `ERR_SESSION_STEPS`: the session ran its `maxSteps` (what its funds were committed for): open a new one, or a larger `maxSteps`
 * - `ERR_SESSION_CLOSED`: the session is closed (or was aborted)
 */
export type SessionErrorCode = 'ERR_SESSION' | 'ERR_SESSION_LIMIT' | 'ERR_SESSION_IDLE' | 'ERR_SESSION_BUSY' | 'ERR_SESSION_STEP' | 'ERR_SESSION_FEED' | 'ERR_SESSION_STATE' |
'ERR_SESSION_STATE_TOO_LARGE' | 'ERR_SESSION_INPUT' | 'ERR_SESSION_STAGE_FAILED' | 'ERR_SESSION_RECOVERY' | 'ERR_SESSION_REPLAY_LIMIT' | 'ERR_SESSION_STEPS' | 'ERR_SESSION_CLOSED'

/**
 * A session problem, at the worker (a lease session, a stateful session
 * stage) or at the requester (a stateful session); `code` says which (see
 * {@link SessionErrorCode}), `stage` and `worker` where, when known.
 */
export class SessionError extends FleetmeshError {
  override readonly name = 'SessionError'
  readonly code: SessionErrorCode
  /** the session stage it concerns */
  readonly stage?: number
  /** the worker (PeerId string) it concerns */
  readonly worker?: string

  constructor (message: string, options: { code?: SessionErrorCode, stage?: number, worker?: string, cause?: unknown } = {}) {
    super(message, { cause: options.cause })
    this.code = options.code ?? 'ERR_SESSION'
    if (options.stage != null) this.stage = options.stage
    if (options.worker != null) this.worker = options.worker
  }
}

/**
 * Worker error codes that another worker may not hit: the shard is
 * released and re-awarded (up to a budget). Every other code is a property
 * of the job (its inputs, its model) and fails it at once.
 */
export const RECOVERABLE_CODES: ReadonlySet<string> = new Set([
  'ERR_SESSION', 'ERR_RUNNER_CRASHED', 'ERR_RUNNER_TIMEOUT', 'ERR_RUNTIME_STOPPED', 'ERR_MODEL_FETCH', 'ERR_MODEL_TOO_LARGE',
  'ERR_MODEL_NOT_FOUND', 'ERR_MODEL_HASH_MISMATCH', 'ERR_MODELS_UNAVAILABLE', 'ERR_STREAM_RESET', 'ERR_NOT_ADMITTED',
  'ERR_SESSION_LIMIT', 'ERR_SESSION_IDLE'
])

/** True if a worker error with this code is worth retrying on another worker. */
export function isRecoverable (code: string): boolean {
  return RECOVERABLE_CODES.has(code)
}
