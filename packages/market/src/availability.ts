import { TypedEventEmitter } from '@libp2p/interface'
import { MAX_BATTERY_TEMP_C, MAX_STATE_STALE_MS, MIN_PARKED_SOC } from './constants.js'

/**
 * Vehicle availability: when a vehicle's owner lets it work. A
 * {@link VehicleStateSource} reports the vehicle's state; an
 * {@link AvailabilityPolicy} (the owner's rule) says whether work is
 * allowed in it; {@link isWorkAllowed} is the pure decision.
 */

/** What the vehicle is doing. */
export type DriveState = 'driving' | 'parked' | 'charging'

/** A vehicle's state as its state source reports it. */
export interface VehicleState {
  drive: DriveState
  /** battery state of charge, 0..1 */
  soc: number
  /** battery temperature, °C */
  batteryTempC: number
  /**
   * when the source last heard from the vehicle, ms since the epoch;
   * omitted by sources whose state is always current (a scripted timeline)
   */
  heardAt?: number
  /** set when the source has no state to report, saying why (`no state source configured`, `no report from the vehicle yet`); the vehicle does not work */
  unknown?: string
}

/** The owner's rule for when the vehicle may work. Plain data. */
export interface AvailabilityPolicy {
  /** work while charging @default true */
  whileCharging?: boolean
  /** work while parked and not charging @default true */
  whileParked?: boolean
  /** minimum state of charge to work while parked, 0..1 @default MIN_PARKED_SOC (0.5) */
  minParkedSoc?: number
  /** minimum state of charge to work while charging, 0..1 @default 0 */
  minChargingSoc?: number
  /** highest battery temperature to work at, °C @default MAX_BATTERY_TEMP_C (45) */
  maxBatteryTempC?: number
  /** a state whose `heardAt` is older than this is stale and work stops, ms @default MAX_STATE_STALE_MS (30 s) */
  maxStaleMs?: number
}

/** The decision of {@link isWorkAllowed}. */
export interface AvailabilityDecision {
  allowed: boolean
  /** why (for logs and the dashboard), e.g. `parked, SoC 42% < 50%` */
  reason: string
}

const pct = (x: number): string => `${Math.round(x * 100)}%`

/**
 * Whether the owner policy allows work in `state` at `now` (ms since the
 * epoch). A vehicle never works while its state is unknown or stale
 * (`heardAt` more than `maxStaleMs` before `now`), nor while driving;
 * otherwise the battery must be at most `maxBatteryTempC`, and parked (or
 * charging) work must be enabled with the SoC at or above its threshold.
 */
export function isWorkAllowed (state: VehicleState, policy: AvailabilityPolicy = {}, now: number = Date.now()): AvailabilityDecision {
  const maxTemp = policy.maxBatteryTempC ?? MAX_BATTERY_TEMP_C
  if (state.unknown != null) return { allowed: false, reason: `state unknown: ${state.unknown}` }
  const maxStale = policy.maxStaleMs ?? MAX_STATE_STALE_MS
  if (state.heardAt != null && now - state.heardAt > maxStale) return { allowed: false, reason: `state source stale for ${Math.floor((now - state.heardAt) / 1000)} s` }
  if (state.drive === 'driving') return { allowed: false, reason: 'driving' }
  if (!Number.isFinite(state.soc) || !Number.isFinite(state.batteryTempC)) return { allowed: false, reason: 'state unknown' }
  if (state.batteryTempC > maxTemp) return { allowed: false, reason: `battery ${state.batteryTempC} °C > ${maxTemp} °C` }
  if (state.drive === 'charging') {
    if (policy.whileCharging === false) return { allowed: false, reason: 'charging, owner allows no work while charging' }
    const min = policy.minChargingSoc ?? 0
    if (state.soc < min) return { allowed: false, reason: `charging, SoC ${pct(state.soc)} < ${pct(min)}` }
    return { allowed: true, reason: `charging, SoC ${pct(state.soc)}` }
  }
  if (policy.whileParked === false) return { allowed: false, reason: 'parked, owner allows work only while charging' }
  const min = policy.minParkedSoc ?? MIN_PARKED_SOC
  if (state.soc < min) return { allowed: false, reason: `parked, SoC ${pct(state.soc)} < ${pct(min)}` }
  return { allowed: true, reason: `parked, SoC ${pct(state.soc)}` }
}

export interface VehicleStateEvents {
  /** the state changed */
  change: CustomEvent<VehicleState>
}

/**
 * Where a vehicle's state comes from: the vehicle's CAN bus / telematics
 * in production, a timeline in tests and testnets.
 */
export interface VehicleStateSource extends TypedEventEmitter<VehicleStateEvents> {
  /** the current state */
  current(): VehicleState
  /** called by the market service when it starts; a scripted source starts its timeline */
  start?(): void | Promise<void>
  /** called by the market service when it stops */
  stop?(): void | Promise<void>
}

/** One step of a {@link ScriptedVehicleState} timeline. */
export interface TimelineStep {
  /** ms after `start()` */
  atMs: number
  state: VehicleState
}

/**
 * A vehicle state source that plays a timeline, for tests and testnets:
 * the first step's state holds from construction, each later step applies
 * `atMs` after `start()`. `set()` changes the state at once.
 *
 * @example
 * ```TypeScript
 * const source = new ScriptedVehicleState([
 *   { atMs: 0, state: { drive: 'parked', soc: 0.8, batteryTempC: 20 } },
 *   { atMs: 60_000, state: { drive: 'driving', soc: 0.8, batteryTempC: 22 } }
 * ])
 * ```
 */
export class ScriptedVehicleState extends TypedEventEmitter<VehicleStateEvents> implements VehicleStateSource {
  private state: VehicleState
  private readonly timeline: TimelineStep[]
  private timers: Array<ReturnType<typeof setTimeout>> = []

  /** @throws TypeError if the timeline is empty */
  constructor (timeline: TimelineStep[] | VehicleState) {
    super()
    this.timeline = Array.isArray(timeline) ? [...timeline].sort((a, b) => a.atMs - b.atMs) : [{ atMs: 0, state: timeline }]
    const first = this.timeline[0]
    if (first == null) throw new TypeError('a vehicle timeline needs at least one step')
    this.state = { ...first.state }
  }

  current (): VehicleState {
    return { ...this.state }
  }

  /** Replaces the state now and emits `change`. */
  set (state: VehicleState): void {
    this.state = { ...state }
    this.safeDispatchEvent('change', { detail: this.current() })
  }

  start (): void {
    this.stop()
    for (const step of this.timeline) {
      if (step.atMs <= 0) continue
      const t = setTimeout(() => { this.set(step.state) }, step.atMs)
      t.unref?.()
      this.timers.push(t)
    }
  }

  stop (): void {
    for (const t of this.timers) clearTimeout(t)
    this.timers = []
  }
}

/** Init of {@link ReportedVehicleState}. */
export interface ReportedVehicleStateInit {
  /** a report older than this makes the source emit `change` so the market re-evaluates (and finds it stale), ms @default MAX_STATE_STALE_MS (30 s) */
  maxStaleMs?: number
  /** why the state is unknown before the first report @default 'no report from the vehicle yet' */
  unknownReason?: string
}

/**
 * The base of a state source fed by reports from the vehicle (a telematics
 * bridge writing a file or posting to an endpoint): the last report with
 * the time it was heard. Before the first report the state is unknown; when
 * a report grows older than `maxStaleMs` the source emits `change` itself,
 * so the market re-evaluates with no timer of its own and finds the state
 * stale ({@link isWorkAllowed} with the same `maxStaleMs`).
 */
export class ReportedVehicleState extends TypedEventEmitter<VehicleStateEvents> implements VehicleStateSource {
  private state?: VehicleState
  private readonly maxStaleMs: number
  private readonly unknownReason: string
  private staleTimer?: ReturnType<typeof setTimeout>

  constructor (init: ReportedVehicleStateInit = {}) {
    super()
    this.maxStaleMs = init.maxStaleMs ?? MAX_STATE_STALE_MS
    this.unknownReason = init.unknownReason ?? 'no report from the vehicle yet'
  }

  current (): VehicleState {
    return this.state != null ? { ...this.state } : { drive: 'parked', soc: Number.NaN, batteryTempC: Number.NaN, unknown: this.unknownReason }
  }

  /** ms since the epoch of the last report; undefined before the first */
  heardAt (): number | undefined {
    return this.state?.heardAt
  }

  /**
   * Takes a report from the vehicle heard at `heardAt` (ms since the epoch,
   * default now), emits `change`, and schedules the staleness check.
   */
  report (state: Pick<VehicleState, 'drive' | 'soc' | 'batteryTempC'>, heardAt: number = Date.now()): void {
    this.state = { drive: state.drive, soc: state.soc, batteryTempC: state.batteryTempC, heardAt }
    this.armStaleTimer(heardAt)
    this.safeDispatchEvent('change', { detail: this.current() })
  }

  /**
   * Emits `change` once the report heard at `heardAt` is stale. A timer may
   * fire a millisecond before `Date.now()` reaches its due time (the event
   * loop's clock is cached), and a `change` then would find the state still
   * fresh with no later event to follow: so it re-arms until it is stale.
   */
  private armStaleTimer (heardAt: number): void {
    clearTimeout(this.staleTimer)
    const due = heardAt + this.maxStaleMs + 1 - Date.now()
    this.staleTimer = setTimeout(() => {
      if (this.state?.heardAt !== heardAt) return
      if (Date.now() - heardAt <= this.maxStaleMs) { this.armStaleTimer(heardAt); return }
      this.safeDispatchEvent('change', { detail: this.current() })
    }, Math.max(0, due))
    this.staleTimer.unref?.()
  }

  /** Forgets the last report (the source lost the vehicle): the state is unknown for `reason`. */
  forget (reason: string): void {
    clearTimeout(this.staleTimer)
    this.state = { drive: 'parked', soc: Number.NaN, batteryTempC: Number.NaN, unknown: reason }
    this.safeDispatchEvent('change', { detail: this.current() })
  }

  stop (): void | Promise<void> {
    clearTimeout(this.staleTimer)
  }
}

/**
 * The source of a vehicle that has none configured: its state is always
 * unknown, so it never works (the safe default for a vehicle whose
 * operator forgot the telematics bridge).
 */
export class UnknownVehicleState extends TypedEventEmitter<VehicleStateEvents> implements VehicleStateSource {
  private readonly reason: string

  /** @param reason - shown as `state unknown: <reason>` @default 'no state source configured' */
  constructor (reason = 'no state source configured') {
    super()
    this.reason = reason
  }

  current (): VehicleState {
    return { drive: 'parked', soc: Number.NaN, batteryTempC: Number.NaN, unknown: this.reason }
  }
}
