import FlatQueue from 'flatqueue'
import { SimConfigError } from './errors.js'

/**
 * The virtual clock and its event queue. An event is a slot in a table of
 * typed arrays (kind, two integer arguments, one float argument, time), so
 * a million pending events cost a few tens of MB and no objects or
 * closures; the heap (flatqueue: a binary heap over two flat arrays) orders
 * slot numbers by time. Events of equal time run in a fixed order for
 * equal schedules, so a run is reproducible.
 *
 * A handler is registered once per event kind ({@link EventQueue.on}), not
 * per node.
 */
export type EventHandler = (a: number, b: number, x: number) => void | Promise<void>

export class EventQueue {
  /** the virtual time, ms since the start of the run */
  now = 0
  /** events run so far */
  processed = 0
  private readonly heap = new FlatQueue<number>()
  private kind = new Uint8Array(1024)
  private argA = new Int32Array(1024)
  private argB = new Int32Array(1024)
  private argX = new Float64Array(1024)
  private readonly free: number[] = []
  private top = 0
  private readonly handlers: EventHandler[] = []

  /** Registers the handler of event kind `kind` (0..255); a second call replaces it. */
  on (kind: number, handler: EventHandler): void {
    this.handlers[kind] = handler
  }

  /** Events waiting. */
  get pending (): number {
    return this.heap.length
  }

  /**
   * Schedules an event of `kind` at virtual time `at` (ms).
   *
   * @throws SimConfigError if `at` is before `now` or not finite
   */
  schedule (at: number, kind: number, a = 0, b = 0, x = 0): void {
    if (!(at >= this.now) || !Number.isFinite(at)) throw new SimConfigError(`event at ${at} ms is before the clock (${this.now} ms) or not finite; schedule only into the future`)
    let slot = this.free.pop()
    if (slot == null) {
      slot = this.top++
      if (slot >= this.kind.length) this.grow()
    }
    this.kind[slot] = kind
    this.argA[slot] = a
    this.argB[slot] = b
    this.argX[slot] = x
    this.heap.push(slot, at)
  }

  /** Time of the next event, or undefined when none is left. */
  peekTime (): number | undefined {
    return this.heap.peekValue()
  }

  /**
   * Runs events in time order until none is left or the next one is after
   * `untilMs`; the clock then stands at `untilMs` (or at the last event).
   *
   * @throws SimConfigError if an event has no handler
   */
  run (untilMs = Infinity): void {
    while (this.heap.length > 0) {
      const at = this.heap.peekValue() as number
      if (at > untilMs) break
      const slot = this.heap.pop() as number
      this.now = at
      const handler = this.handlers[this.kind[slot]]
      const a = this.argA[slot]; const b = this.argB[slot]; const x = this.argX[slot]
      this.free.push(slot)
      if (handler == null) throw new SimConfigError(`no handler for event kind ${this.kind[slot]}; register it with on()`)
      this.processed++
      void handler(a, b, x)
    }
    if (Number.isFinite(untilMs) && untilMs > this.now) this.now = untilMs
  }

  /**
   * Like {@link run}, and waits for a handler that returns a promise
   * before the next event (the exact receipt mode runs the ledger's async
   * reconciliation sessions).
   */
  async runAsync (untilMs = Infinity): Promise<void> {
    while (this.heap.length > 0) {
      const at = this.heap.peekValue() as number
      if (at > untilMs) break
      const slot = this.heap.pop() as number
      this.now = at
      const handler = this.handlers[this.kind[slot]]
      const a = this.argA[slot]; const b = this.argB[slot]; const x = this.argX[slot]
      this.free.push(slot)
      if (handler == null) throw new SimConfigError(`no handler for event kind ${this.kind[slot]}; register it with on()`)
      this.processed++
      const r = handler(a, b, x)
      if (r != null) await r
    }
    if (Number.isFinite(untilMs) && untilMs > this.now) this.now = untilMs
  }

  private grow (): void {
    const n = this.kind.length * 2
    const kind = new Uint8Array(n); kind.set(this.kind); this.kind = kind
    const a = new Int32Array(n); a.set(this.argA); this.argA = a
    const b = new Int32Array(n); b.set(this.argB); this.argB = b
    const x = new Float64Array(n); x.set(this.argX); this.argX = x
  }
}
