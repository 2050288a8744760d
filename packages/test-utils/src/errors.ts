/**
 * Errors of the test helpers, each with a stable `name` and `code` (check
 * those, not `instanceof`).
 */

/** A condition {@link waitUntil} waited for did not hold within its timeout. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError'
  readonly code = 'ERR_WAIT_TIMEOUT'
  /** how long it waited, ms */
  readonly timeoutMs: number

  constructor (message: string, timeoutMs: number) {
    super(message)
    this.timeoutMs = timeoutMs
  }
}

/** A forked node process exited, or did not report ready in time. */
export class ForkedNodeError extends Error {
  override readonly name = 'ForkedNodeError'
  readonly code = 'ERR_FORKED_NODE'
}

/** A daemon of a local fleet did not come up; its log tail is in the message. */
export class FleetStartError extends Error {
  override readonly name = 'FleetStartError'
  readonly code = 'ERR_FLEET_START'
}
