/**
 * Errors of the simulator, each with a stable `name` and `code`.
 */

/** A scenario or an argument is out of range; the message names the field and what it accepts. */
export class SimConfigError extends Error {
  static readonly NAME = 'SimConfigError'
  readonly code = 'ERR_SIM_CONFIG'
  constructor (message: string) {
    super(message)
    this.name = SimConfigError.NAME
  }
}
