import { FleetmeshError } from '@fleetmesh/protocol'

/** Bytes are not an ONNX model: they do not parse, or the graph is missing. */
export class InvalidModelError extends FleetmeshError {
  override readonly name = 'InvalidModelError'
  readonly code = 'ERR_INVALID_MODEL'
}

/**
 * A tensor refers to external data (a file path beside the model). Refused
 * always: a path such as `../../etc/passwd` would make onnxruntime read the
 * worker's files.
 */
export class ExternalDataError extends FleetmeshError {
  override readonly name = 'ExternalDataError'
  readonly code = 'ERR_EXTERNAL_DATA'
}

/** A node uses an operator from a domain that is not allowed (custom ops). */
export class ForbiddenOperatorError extends FleetmeshError {
  override readonly name = 'ForbiddenOperatorError'
  readonly code = 'ERR_FORBIDDEN_OPERATOR'
}

/** A model is over a configured size, node-count or initializer limit. */
export class ModelTooLargeError extends FleetmeshError {
  override readonly name = 'ModelTooLargeError'
  readonly code = 'ERR_MODEL_TOO_LARGE'
}

/** No model with this CID in the store. */
export class ModelNotFoundError extends FleetmeshError {
  override readonly name = 'ModelNotFoundError'
  readonly code = 'ERR_MODEL_NOT_FOUND'
}

/** Bytes do not hash to the CID they were fetched or stored under. */
export class ModelHashMismatchError extends FleetmeshError {
  override readonly name = 'ModelHashMismatchError'
  readonly code = 'ERR_MODEL_HASH_MISMATCH'
}

/** A string is not a model CID (CIDv1, raw codec, sha2-256). */
export class InvalidCidError extends FleetmeshError {
  override readonly name = 'InvalidCidError'
  readonly code = 'ERR_INVALID_CID'
}

/** A runner process died while running a call (crash, SIGKILL, out of memory). */
export class RunnerCrashedError extends FleetmeshError {
  override readonly name = 'RunnerCrashedError'
  readonly code = 'ERR_RUNNER_CRASHED'
}

/** A call did not finish within its timeout; its runner was killed and replaced. */
export class RunnerTimeoutError extends FleetmeshError {
  override readonly name = 'RunnerTimeoutError'
  readonly code = 'ERR_RUNNER_TIMEOUT'
}

/** onnxruntime refused the inputs or failed while running (wrong names, dtypes or shapes). */
export class InferenceError extends FleetmeshError {
  override readonly name = 'InferenceError'
  readonly code = 'ERR_INFERENCE'
}

/**
 * A call's outputs are over its `maxOutputBytes`. Raised in the runner,
 * after the run and before any output crosses to the node (and by the node
 * should a runner announce more than the limit): the node never allocates
 * an output over the limit.
 */
export class OutputTooLargeError extends FleetmeshError {
  override readonly name = 'OutputTooLargeError'
  readonly code = 'ERR_OUTPUT_TOO_LARGE'
  /** the output that took the call over the limit */
  readonly output: string
  /** its size, bytes */
  readonly size: number
  /** the limit, bytes */
  readonly limit: number

  constructor (message: string, output: string, size: number, limit: number) {
    super(message)
    this.output = output
    this.size = size
    this.limit = limit
  }
}

/** The runtime was stopped; no call is accepted. */
export class RuntimeStoppedError extends FleetmeshError {
  override readonly name = 'RuntimeStoppedError'
  readonly code = 'ERR_RUNTIME_STOPPED'
}

/** A graph cannot be cut as asked (fewer cut points than stages, a bad stage count). */
export class PartitionError extends FleetmeshError {
  override readonly name = 'PartitionError'
  readonly code = 'ERR_PARTITION'
}

/** Stages cannot be placed on the given peers (not enough memory or peers). */
export class PlacementError extends FleetmeshError {
  override readonly name = 'PlacementError'
  readonly code = 'ERR_PLACEMENT'
}

/**
 * A pipeline stage reads an input that is neither an output of the stage
 * before it nor one of the graph inputs it lists (`Stage.graphInputs`)
 * given by the caller.
 */
export class MissingStageInputError extends FleetmeshError {
  override readonly name = 'MissingStageInputError'
  readonly code = 'ERR_MISSING_STAGE_INPUT'
  /** index of the stage that could not be fed */
  readonly stage: number
  /** the input name it lacks */
  readonly input: string

  constructor (stage: number, input: string, message: string) {
    super(message)
    this.stage = stage
    this.input = input
  }
}

/**
 * State pairs (a graph output fed back as a graph input) that do not fit a
 * model: a name that is not a graph output or input, a tensor in two
 * pairs, a state tensor that cannot be made or fed.
 */
export class StateError extends FleetmeshError {
  override readonly name = 'StateError'
  readonly code = 'ERR_STATE'
}
