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
 * A worker-side session problem the requester can recover from by giving
 * the shard to another worker: no live lease for the stream, a feed from a
 * stage that went away, a stream that broke.
 */
export class SessionError extends FleetmeshError {
  override readonly name = 'SessionError'
  readonly code = 'ERR_SESSION'
}

/**
 * Worker error codes that another worker may not hit: the shard is
 * released and re-awarded (up to a budget). Every other code is a property
 * of the job (its inputs, its model) and fails it at once.
 */
export const RECOVERABLE_CODES: ReadonlySet<string> = new Set([
  'ERR_SESSION', 'ERR_RUNNER_CRASHED', 'ERR_RUNNER_TIMEOUT', 'ERR_RUNTIME_STOPPED', 'ERR_MODEL_FETCH', 'ERR_MODEL_TOO_LARGE',
  'ERR_MODEL_NOT_FOUND', 'ERR_MODEL_HASH_MISMATCH', 'ERR_MODELS_UNAVAILABLE', 'ERR_STREAM_RESET', 'ERR_NOT_ADMITTED'
])

/** True if a worker error with this code is worth retrying on another worker. */
export function isRecoverable (code: string): boolean {
  return RECOVERABLE_CODES.has(code)
}
