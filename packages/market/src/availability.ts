import { TypedEventEmitter } from '@libp2p/interface'
import { MAX_BATTERY_TEMP_C, MIN_PARKED_SOC } from './constants.js'

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
}

/** The decision of {@link isWorkAllowed}. */
export interface AvailabilityDecision {
  allowed: boolean
  /** why (for logs and the dashboard), e.g. `parked, SoC 42% < 50%` */
  reason: string
}

const pct = (x: number): string => `${Math.round(x * 100)}%`

/**
 * Whether the owner policy allows work in `state`. A vehicle never works
 * while driving; otherwise the battery must be at most `maxBatteryTempC`,
 * and parked (or charging) work must be enabled with the SoC at or above
 * its threshold.
 */
export function isWorkAllowed (state: VehicleState, policy: AvailabilityPolicy = {}): AvailabilityDecision {
  const maxTemp = policy.maxBatteryTempC ?? MAX_BATTERY_TEMP_C
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
