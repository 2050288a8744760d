import { RECONCILE_INTERVAL_MS, RECONCILE_MAX_INTERVAL_MS } from './constants.js'
import type { SessionStats } from './session.js'

/** Timing of the anti-entropy rounds (LedgerInit's fields), ms. */
export interface ReconcileRoundsInit {
  /** interval while the set changes; 0 turns rounds off @default RECONCILE_INTERVAL_MS (5000) */
  intervalMs?: number
  /** longest interval, reached by doubling after each round that found nothing @default RECONCILE_MAX_INTERVAL_MS (60000) */
  maxIntervalMs?: number
}

/**
 * The ledger's timed anti-entropy rounds: one round (`run`: a session with
 * a random admitted peer) every `intervalMs` while the set changes; a round
 * that exchanged nothing, with no new entry meanwhile, doubles the interval
 * up to `maxIntervalMs`, and a new entry (`entryAdded`) brings the base
 * interval back at once. Composed by the ledger service (ledger.ts).
 */
export class ReconcileRounds {
  private readonly run: () => Promise<SessionStats | undefined>
  private readonly base: number
  private readonly max: number
  private delay: number
  /** entries stored since the current round started (a round during which one arrived is not idle) */
  private added = 0
  private timer?: ReturnType<typeof setTimeout>
  private running = false

  constructor (run: () => Promise<SessionStats | undefined>, init: ReconcileRoundsInit = {}) {
    this.run = run
    this.base = init.intervalMs ?? RECONCILE_INTERVAL_MS
    this.max = Math.max(this.base, init.maxIntervalMs ?? RECONCILE_MAX_INTERVAL_MS)
    this.delay = this.base
  }

  /** Arms the first round `intervalMs` from now (none when rounds are off). */
  start (): void {
    this.running = true
    this.delay = this.base
    this.schedule()
  }

  stop (): void {
    this.running = false
    clearTimeout(this.timer)
    this.timer = undefined
  }

  /** A new entry was stored: the set changed, so the next round comes at the base interval again. */
  entryAdded (): void {
    this.added++
    if (this.delay > this.base && this.timer != null) {
      this.delay = this.base
      this.schedule()
    }
  }

  private schedule (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (!this.running || this.base <= 0) return
    this.timer = setTimeout(() => { void this.round() }, this.delay)
  }

  private async round (): Promise<void> {
    this.timer = undefined
    this.added = 0
    const stats = await this.run()
    const idle = stats != null && stats.entriesSent === 0 && stats.entriesReceived === 0 && this.added === 0
    this.delay = idle ? Math.min(this.delay * 2, this.max) : this.base
    if (this.timer == null) this.schedule()
  }
}
