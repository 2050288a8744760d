import type { Rng } from './rng.js'

/**
 * The CPU of the processes that host a fleet's nodes. On one machine (the
 * real `bench/scale.ts`: the stations in the bench process, the vehicles
 * spread over a few worker processes) the nodes of one process share its
 * one JavaScript thread: a message one node validates waits while another
 * node of the same process validates another. Each host here is such a
 * thread, a calendar of the intervals its CPU is busy; a node's work runs
 * in the first free gap of its host at or after the time it is ready.
 *
 * Without hosts (a field fleet: every node its own device) work never
 * waits: it ends `ms` after it is ready.
 *
 * `wakeMs`: every piece of work starts no sooner than a wait after it is
 * ready, without holding the CPU meanwhile: the time a process of a loaded
 * machine takes to be scheduled again after its input arrived (0 on an idle
 * machine and in the field). Each wait is drawn from an exponential law of
 * mean `wakeMs` (an assumption: the scheduler's delays are short mostly,
 * long now and then). A process waits for a core only when the machine
 * has none free: with the machine's `otherLoad` known (the runnable
 * processes besides the hosts, the load before the run), work of a host
 * waits only when that host, the other hosts busy at that moment and the
 * booting extra processes ({@link addProcess}) are more than the cores
 * the other load leaves (a lookup between two processes of an otherwise
 * quiet machine runs at once; a message flooding every process waits).
 *
 * The calendar serves reservations in the order they are made, not in
 * virtual-time order: a dissemination computed after another may only use
 * the gaps the first left (the simulator computes a message's whole
 * spread at once, so two messages in flight at once share a host this
 * way; the first one computed has priority).
 */
export class HostCpu {
  /** host of each node number, -1 for a node with a CPU of its own; undefined when no node shares */
  private readonly hostOf?: Int32Array
  /** per host: starts and ends of its busy intervals, sorted, disjoint */
  private readonly starts: number[][]
  private readonly ends: number[][]
  /** ms of CPU reserved per host */
  readonly busyMs: Float64Array
  /** mean ms from ready to the earliest start of any work (not CPU) */
  readonly wakeMs: number
  private readonly rng?: Rng
  /** the machine the hosts run on (cores, runnable processes on average), for {@link addProcess}; undefined: no extra processes are modelled */
  private readonly machine?: { cores: number, load: number, otherLoad?: number }
  /** starts and ends of the extra processes running on the machine (virtual ms) */
  private readonly extra: Array<[number, number]> = []

  /**
   * @param hostOf - the host (0..hosts-1) of each node number, -1 for a node alone on its CPU; undefined: no node shares a CPU
   * @param hosts - number of hosts
   * @param wakeMs - mean delay from ready to the earliest start, ms @default 0
   * @param rng - draws the delays (needed when `wakeMs` > 0)
   */
  constructor (hostOf?: Int32Array, hosts = 0, wakeMs = 0, rng?: Rng, machine?: { cores: number, load: number, otherLoad?: number }) {
    this.hostOf = hostOf
    this.wakeMs = wakeMs
    this.rng = rng
    this.machine = machine != null && machine.cores > 0 && machine.load > 0 ? machine : undefined
    this.starts = Array.from({ length: hosts }, () => [])
    this.ends = Array.from({ length: hosts }, () => [])
    this.busyMs = new Float64Array(hosts)
  }

  /**
   * One more runnable process on the machine from virtual `start` to `end`
   * (ms), e.g. a runner process booting: work that becomes ready meanwhile
   * is slowed by the machine's load with it over its load without it
   * (each on its `cores`: max(1, (load + extra) / cores) ÷ max(1, load /
   * cores)), its CPU and its wake-up wait alike. Nothing without a
   * machine.
   */
  addProcess (start: number, end: number): void {
    if (this.machine != null && end > start) this.extra.push([start, end])
  }

  /** The slowdown of work ready at virtual `t` by the extra processes running then (1 without any). */
  slowdownAt (t: number): number {
    const m = this.machine
    if (m == null || this.extra.length === 0) return 1
    let running = 0
    for (const [a, b] of this.extra) if (a <= t && t < b) running++
    if (running === 0) return 1
    return Math.max(1, (m.load + running) / m.cores) / Math.max(1, m.load / m.cores)
  }

  /** True if host `h`'s calendar is busy at virtual `t`. */
  private busyAt (h: number, t: number): boolean {
    const ends = this.ends[h]
    const lo = firstEndingAfter(ends, t)
    return lo < ends.length && this.starts[h][lo] <= t
  }

  /**
   * True if work of host `h` ready at virtual `t` waits for a core: always,
   * unless the machine's `otherLoad` is known; then only when `h`, the
   * other hosts busy at `t` and the extra processes running then exceed
   * the cores the other load leaves.
   */
  contended (h: number, t: number): boolean {
    const m = this.machine
    if (m?.otherLoad == null || h < 0) return true
    let runnable = 1 + m.otherLoad
    for (let k = 0; k < this.starts.length; k++) if (k !== h && this.busyAt(k, t)) runnable++
    for (const [a, b] of this.extra) if (a <= t && t < b) runnable++
    return runnable > m.cores
  }

  /** True when nodes share hosts (work may wait). */
  get shared (): boolean {
    return this.hostOf != null
  }

  /** The host of node `node`, -1 if it has its own CPU. */
  host (node: number): number {
    return this.hostOf?.[node] ?? -1
  }

  /**
   * Runs `ms` of work of node `node` ready at virtual `t` (ms): in the first
   * gap of its host's calendar at or after `t` plus a wait (mean `wakeMs`) that is long enough.
   *
   * @param wake - false for work that follows work of the same node at once (no new wait)
   * @returns the virtual ms the work ends
   */
  run (node: number, ready: number, ms: number, wake = true): number {
    const f = this.slowdownAt(ready)
    if (f !== 1) ms *= f
    const h = this.hostOf?.[node] ?? -1
    const t = !wake || !(this.wakeMs > 0) || !this.contended(h, ready) ? ready : this.rng != null ? ready + f * this.rng.exp(this.wakeMs) : ready + f * this.wakeMs
    if (h < 0 || ms <= 0) return t + Math.max(0, ms)
    const starts = this.starts[h]
    const ends = this.ends[h]
    let at = t
    let i = firstEndingAfter(ends, t)
    while (i < starts.length && starts[i] < at + ms) {
      if (ends[i] > at) at = ends[i]
      i++
    }
    const end = at + ms
    this.busyMs[h] += ms
    // insert [at, end) before interval i, merging with touching neighbours
    const joinsPrev = i > 0 && ends[i - 1] >= at
    const joinsNext = i < starts.length && starts[i] <= end
    if (joinsPrev && joinsNext) {
      ends[i - 1] = ends[i]
      starts.splice(i, 1)
      ends.splice(i, 1)
    } else if (joinsPrev) {
      ends[i - 1] = end
    } else if (joinsNext) {
      starts[i] = at
    } else {
      starts.splice(i, 0, at)
      ends.splice(i, 0, end)
    }
    return end
  }
}

/** Index of the first of a calendar's busy intervals (sorted ends, ms) that ends after virtual `t`; `ends.length` if none does. */
function firstEndingAfter (ends: ArrayLike<number>, t: number): number {
  let lo = 0
  let hi = ends.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (ends[mid] <= t) lo = mid + 1
    else hi = mid
  }
  return lo
}
