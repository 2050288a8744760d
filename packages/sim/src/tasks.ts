import FlatQueue from 'flatqueue'

/**
 * A market round's work in virtual-time order. A task is a step function
 * with the virtual ms of its next step: the driver runs whichever task's
 * step is earliest, so that work of several messages in flight at once
 * (a round's bids, each a gossip spread, and its award exchanges) takes
 * the hosts' CPU in the order it arrives there: a process's event loop
 * serves its input first come, first served, and an accept that arrives
 * while bids are queued waits for the bids that came before it, not for
 * those that come after.
 */
export class Tasks {
  private readonly steps: Array<() => number> = []
  private readonly free: number[] = []
  private readonly q = new FlatQueue<number>()

  /**
   * Adds a task whose first step is at virtual `at` (ms); nothing when
   * `at` is not finite.
   *
   * @param step - runs one step and returns the virtual ms of the task's next one (Infinity: the task is done)
   */
  add (at: number, step: () => number): void {
    if (!Number.isFinite(at)) return
    const id = this.free.pop() ?? this.steps.length
    this.steps[id] = step
    this.q.push(id, at)
  }

  /** Runs every task's steps in virtual-time order until none is left (a step may add tasks). */
  run (): void {
    while (this.q.length > 0) {
      const id = this.q.pop() as number
      const next = this.steps[id]()
      if (Number.isFinite(next)) this.q.push(id, next)
      else this.free.push(id)
    }
  }
}
