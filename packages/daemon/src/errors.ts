/**
 * Typed errors of the daemon, the API client and the CLI. Each has a
 * stable `name` and `code`; check those, not `instanceof` (two copies of a
 * package break `instanceof`).
 */

/** Base class: a stable `code` next to the `name`. */
export class DaemonError extends Error {
  readonly code: string
  constructor (message: string, code: string, name: string) {
    super(message)
    this.name = name
    this.code = code
  }
}

/** A config key (file, `FLEETMESH_*` env var or flag) has a bad value, or the config file cannot be read. */
export class ConfigError extends DaemonError {
  /** dotted config key, e.g. `api.port`; '' if the error is about the file as a whole */
  readonly key: string
  constructor (message: string, key = '') {
    super(message, 'ERR_CONFIG', 'ConfigError')
    this.key = key
  }
}

/** A file the daemon needs at start (certificate, swarm key, authority key) is missing or unusable. */
export class DaemonStartError extends DaemonError {
  constructor (message: string) {
    super(message, 'ERR_DAEMON_START', 'DaemonStartError')
  }
}

/** No daemon answers: no `api.json` in the data directory, or the connection was refused. */
export class DaemonNotRunningError extends DaemonError {
  constructor (message: string) {
    super(message, 'ERR_DAEMON_NOT_RUNNING', 'DaemonNotRunningError')
  }
}

/** The daemon refused the API token (HTTP 401). */
export class UnauthorizedError extends DaemonError {
  constructor (message: string) {
    super(message, 'ERR_UNAUTHORIZED', 'UnauthorizedError')
  }
}

/** The daemon answered a request with an error (`{ error: { code, message } }`). */
export class ApiError extends DaemonError {
  /** HTTP status */
  readonly status: number
  /** the daemon's error code, e.g. `ERR_BAD_REQUEST` */
  readonly apiCode: string
  constructor (message: string, status: number, apiCode: string) {
    super(message, 'ERR_API', 'ApiError')
    this.status = status
    this.apiCode = apiCode
  }
}

/** A `.npy` file is malformed or holds something the reader does not support. */
export class NpyError extends DaemonError {
  constructor (message: string) {
    super(message, 'ERR_NPY', 'NpyError')
  }
}

/** Bad command-line input (a missing file, a malformed `--input`). */
export class UsageError extends DaemonError {
  constructor (message: string) {
    super(message, 'ERR_USAGE', 'UsageError')
  }
}

/** A job submitted through the CLI failed or was cancelled. */
export class JobError extends DaemonError {
  constructor (message: string) {
    super(message, 'ERR_JOB', 'JobError')
  }
}

/** A vehicle state report (state file or `/state` endpoint body) is malformed. */
export class VehicleStateError extends DaemonError {
  constructor (message: string) {
    super(message, 'ERR_VEHICLE_STATE', 'VehicleStateError')
  }
}

/** The daemon already holds its most open sessions (`MAX_OPEN_SESSIONS`); close one first. */
export class TooManySessionsError extends DaemonError {
  constructor (message: string) {
    super(message, 'ERR_TOO_MANY_SESSIONS', 'TooManySessionsError')
  }
}

/** A session request the daemon cannot open: no state pairs given and none found in the model's names, or the model is unknown here. */
export class SessionRequestError extends DaemonError {
  constructor (message: string) {
    super(message, 'ERR_SESSION_REQUEST', 'SessionRequestError')
  }
}
