/**
 * An interval that runs only while it has work: a node's periodic rounds
 * (lease expiry, requester heartbeats, settlement follow-ups) tick while
 * leases, jobs or receipts exist and not at all on an idle node.
 *
 * Why: an idle fleet node is woken by every timer it keeps, and at 100
 * nodes on one machine the rounds that had nothing to do were most of the
 * wake-ups (a worker's 250 ms lease tick alone 4 a second, bench/README
 * "scale"). Each wake-up costs the process an event-loop turn whether or
 * not the callback finds work.
 */
export class DemandTimer {
  private timer?: ReturnType<typeof setInterval>
  private stopped = false

  /**
   * @param intervalMs - the period while armed, ms
   * @param run - the round; called every `intervalMs` while armed (its errors are the caller's: it must not throw)
   * @param busy - true while a round has something to do; checked after each round, and the timer disarms itself when it is false
   * @param onArm - called when a disarmed timer starts again (e.g. to reset a loop-stall detector, whose last run is stale by then)
   */
  constructor (
    private readonly intervalMs: number,
    private readonly run: () => void,
    private readonly busy: () => boolean,
    private readonly onArm?: () => void
  ) {}

  /** True while the interval runs. */
  get armed (): boolean { return this.timer != null }

  /** Starts the interval if it is not running and `stop` was not called; call it after adding work. */
  arm (): void {
    if (this.timer != null || this.stopped) return
    this.onArm?.()
    this.timer = setInterval(() => {
      this.run()
      if (!this.busy()) this.disarm()
    }, this.intervalMs)
    // the work it follows (sockets, streams, callers' promises) keeps a process alive, not the timer
    this.timer.unref?.()
  }

  /** Stops the interval until the next `arm`. */
  disarm (): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** Stops the interval for good: later `arm` calls do nothing. */
  stop (): void {
    this.stopped = true
    this.disarm()
  }

  /** Allows `arm` again after `stop` (a service started again), and arms the timer if there is work already. */
  restart (): void {
    this.stopped = false
    if (this.busy()) this.arm()
  }
}
